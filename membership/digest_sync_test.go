package membership

import (
	"errors"
	"fmt"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// digestPair is two memberlists, a and b, that know each other and the
// same 100 other members, with deliveries between them by hand.
func digestPair(t *testing.T, digest bool) (a, b *Memberlist, ta, tb *capture) {
	t.Helper()
	mod := func(id core.NodeID) func(*Config) {
		return func(c *Config) { quiet(c); c.ID = id; c.DigestSync = digest }
	}
	a, ta, _ = newTest(t, mod("a"))
	b, tb, _ = newTest(t, mod("b"))
	put(t, a, "b", StateAlive, b.self.incarnation)
	put(t, b, "a", StateAlive, a.self.incarnation)
	// Entries the size of real ones: a 52-character peer ID, addresses in
	// the metadata, a 64-byte signature (trusted mode: not checked).
	meta, sig := make([]byte, 48), make([]byte, 64)
	for i := 0; i < 100; i++ {
		id := mid(i)
		for _, m := range []*Memberlist{a, b} {
			step(t, m, "peer", appendAlive(nil, aliveMsg{id: id, inc: 1, meta: meta, sig: sig}))
		}
	}
	ta.sent, tb.sent = nil, nil
	return a, b, ta, tb
}

// exchange delivers the frames each side sent to the other until neither
// sends more, and returns the frames delivered.
func exchange(t *testing.T, a, b *Memberlist, ta, tb *capture) int {
	t.Helper()
	n := 0
	for len(ta.sent)+len(tb.sent) > 0 {
		fa, fb := ta.sent, tb.sent
		ta.sent, tb.sent = nil, nil
		for _, p := range fa {
			if err := b.Step("a", p.frame); err != nil {
				t.Fatal(err)
			}
			n++
		}
		for _, p := range fb {
			if err := a.Step("b", p.frame); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	return n
}

// TestDigestSyncSendsOnlyDifferences: two members whose views differ in
// three entries each learn the other's newer ones from a digest exchange,
// and send a fraction of what whole states cost; with equal views the
// digest is the only frame.
func TestDigestSyncSendsOnlyDifferences(t *testing.T) {
	var full uint64
	for _, digest := range []bool{false, true} {
		a, b, ta, tb := digestPair(t, digest)
		put(t, a, "onlyA", StateAlive, 3)
		put(t, b, "onlyB", StateAlive, 2)
		put(t, b, mid(5), StateAlive, 2) // b knows a newer incarnation
		put(t, a, mid(7), StateSuspect, 1)
		ta.sent, tb.sent = nil, nil
		a.syncState("b")
		exchange(t, a, b, ta, tb)
		for _, c := range []struct {
			m     *Memberlist
			id    core.NodeID
			state State
			inc   uint64
		}{{a, "onlyB", StateAlive, 2}, {a, mid(5), StateAlive, 2}, {b, "onlyA", StateAlive, 3}, {b, mid(7), StateSuspect, 1}} {
			mem := c.m.members.get(c.m.all, c.id)
			if mem == nil || mem.state != c.state || mem.incarnation != c.inc {
				t.Fatalf("digest %v: %s's entry of %s is %+v, want %s at %d", digest, c.m.cfg.ID, c.id, mem, c.state, c.inc)
			}
		}
		bytes := a.stats.StateBytesSent + b.stats.StateBytesSent
		if !digest {
			full = bytes
			continue
		}
		if a.stats.DigestsSent != 1 || b.stats.DigestsIn != 1 {
			t.Fatalf("digests sent %d, received %d", a.stats.DigestsSent, b.stats.DigestsIn)
		}
		t.Logf("state bytes: digest exchange %d, whole states %d", bytes, full)
		if bytes*3 > full {
			t.Fatalf("digest exchange sent %d bytes, whole states %d: want under a third", bytes, full)
		}
		// Now the views agree: one frame, the digest.
		ta.sent, tb.sent = nil, nil
		a.syncState("b")
		if n := exchange(t, a, b, ta, tb); n != 1 {
			t.Fatalf("%d frames when the views agree, want 1 (the digest)", n)
		}
	}
}

// TestDigestWantOnlyForOwnDigest: a want is answered once, from the member
// a digest went to, within digestWantTicks; any other is dropped and
// counted.
func TestDigestWantOnlyForOwnDigest(t *testing.T) {
	a, _, ta, _ := digestPair(t, true)
	want := func(from core.NodeID, salt uint64) int {
		ta.sent = nil
		step(t, a, from, core.AppendRecord(nil, RecStateWant, appendWant(nil, salt, []uint64{1})))
		return len(ta.sent)
	}
	if n := want("b", 42); n != 0 || a.stats.WantsUnsolicited != 1 {
		t.Fatalf("unsolicited want: %d frames, counted %d", n, a.stats.WantsUnsolicited)
	}
	a.syncState("b")
	salt := a.digests[0].salt
	for _, from := range []core.NodeID{mid(1), "b", "b"} {
		want(from, salt)
	}
	if a.stats.WantsUnsolicited != 3 {
		t.Fatalf("WantsUnsolicited %d, want 3 (a stranger's, the unsolicited one, the repeat)", a.stats.WantsUnsolicited)
	}
	a.syncState("b")
	salt = a.digests[0].salt
	for i := 0; i <= digestWantTicks; i++ {
		a.Tick()
	}
	if want("b", salt); a.stats.WantsUnsolicited != 4 {
		t.Fatal("a want after digestWantTicks was taken")
	}
}

// TestDigestAnswersLimited: digests share the full-state answer limit.
func TestDigestAnswersLimited(t *testing.T) {
	_, b, _, tb := digestPair(t, true)
	for i := 0; i < 10; i++ {
		step(t, b, "a", core.AppendRecord(nil, RecStateDigest, appendDigest(nil, stateRequest, uint64(i), nil)))
	}
	if n := len(tb.sent); n == 0 || b.stats.StateAnswersLimited != 9 {
		t.Fatalf("%d frames, %d limited; want an answer to the first only", n, b.stats.StateAnswersLimited)
	}
}

// TestDecodeDigestBounds: fingerprints come in whole 8-byte units, at most
// Limits.MaxStateEntries of them; flags other than the request are
// refused.
func TestDecodeDigestBounds(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxStateEntries = 4
	for _, c := range []struct {
		name string
		body []byte
		want error
	}{
		{"odd bytes", append(appendDigest(nil, stateRequest, 1, []uint64{1}), 9), core.ErrMalformed},
		{"too many", appendDigest(nil, stateRequest, 1, []uint64{1, 2, 3, 4, 5}), core.ErrTooLarge},
		{"unknown flag", appendDigest(nil, 0x80, 1, nil), core.ErrMalformed},
		{"empty", nil, core.ErrTruncated},
	} {
		if _, err := decodeDigest(c.body, &lim, true); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	d, err := decodeDigest(appendWant(nil, 5, []uint64{1, 2, 3, 4}), &lim, false)
	if err != nil || d.salt != 5 || len(d.fps) != 4 || d.fps[3] != 4 {
		t.Fatalf("want round trip: %+v %v", d, err)
	}
}

// mid is the ID of digestPair's i-th other member.
func mid(i int) core.NodeID { return core.NodeID(fmt.Sprintf("12D3KooW%044d", i)) }

// noAlive is a cluster transport that strips alive records from every
// frame that carries no state-exchange record, so that an update reaches
// other members only through push-pull.
type noAlive struct{ netTransport }

func (t noAlive) Send(to core.NodeID, frame []byte) {
	f, err := core.DecodeFrame(frame, core.DefaultLimits())
	if err != nil {
		panic(err)
	}
	state := false
	for _, r := range f.Records {
		state = state || r.Type == RecState || r.Type == RecStateDigest || r.Type == RecStateWant
	}
	if !state {
		out := core.NewFrame(nil)
		for _, r := range f.Records {
			if r.Type != RecAlive {
				out = core.AppendRecord(out, r.Type, r.Body)
			}
		}
		frame = out
	}
	t.netTransport.Send(to, frame)
}

// TestDigestSyncSpreadsUpdates: in a cluster of 16 where alive updates
// travel only in state exchanges, a member's new metadata reaches every
// member by periodic push-pull, digest-first as with whole states, for a
// fraction of the state bytes.
func TestDigestSyncSpreadsUpdates(t *testing.T) {
	var ticks [2]int
	var bytes [2]uint64
	for k, digest := range []bool{false, true} {
		c := newCluster(t, 16, 7, func(i int, cfg *Config) {
			cfg.PushPullInterval, cfg.JoinSyncs, cfg.ReconnectInterval = 20, 0, 0
			cfg.DigestSync = digest
			cfg.Meta = make([]byte, 100) // a real member's addresses
		})
		c.joinAll()
		c.runUntil(600, "converged", c.converged)
		for i := range c.nodes {
			c.nodes[i].cfg.Transport = noAlive{netTransport{c: c, from: i}}
		}
		var before uint64
		for _, m := range c.nodes {
			before += m.stats.StateBytesSent
		}
		v2 := append([]byte("v2"), make([]byte, 98)...)
		if err := c.nodes[3].SetMeta(v2); err != nil {
			t.Fatal(err)
		}
		inc := c.nodes[3].self.incarnation
		ticks[k] = c.runUntil(2000, "every member has the new metadata", func() bool {
			for i, m := range c.nodes {
				if mem := m.members.get(m.all, nodeID(3)); i != 3 && (mem == nil || mem.incarnation != inc || string(mem.meta()) != string(v2)) {
					return false
				}
			}
			return true
		})
		var digests uint64
		for _, m := range c.nodes {
			bytes[k] += m.stats.StateBytesSent
			digests += m.stats.DigestsSent
		}
		bytes[k] -= before
		if (digests > 0) != digest {
			t.Fatalf("DigestSync %v: %d digests sent", digest, digests)
		}
		if !c.converged() {
			t.Fatalf("DigestSync %v: not converged after the update", digest)
		}
	}
	t.Logf("whole states: %d ticks, %d state bytes; digests: %d ticks, %d bytes", ticks[0], bytes[0], ticks[1], bytes[1])
	if bytes[1]*4 > bytes[0] {
		t.Fatalf("digest exchanges sent %d state bytes, whole states %d: want under a quarter", bytes[1], bytes[0])
	}
}

// TestDigestClosedGroup: with Config.Admit a digest from a sender not
// admitted is not answered (and counted); a member's digest frame carries
// its own alive first, so a member that had not heard of it yet admits it
// and answers.
func TestDigestClosedGroup(t *testing.T) {
	admit := func(c *Config) {
		quiet(c)
		c.Admit = func(id core.NodeID, meta []byte) error {
			if string(meta) == "cert" {
				return nil
			}
			return errors.New("no certificate")
		}
	}
	m, tr, _ := newTest(t, admit)
	step(t, m, "a", appendAlive(nil, aliveMsg{id: "a", inc: 1, meta: []byte("cert")}))
	tr.sent = nil
	before := m.stats.NotAdmitted
	step(t, m, "stranger", core.AppendRecord(nil, RecStateDigest, appendDigest(nil, stateRequest, 1, nil)))
	if len(tr.sent) != 0 || m.stats.NotAdmitted != before+1 {
		t.Fatalf("a stranger's digest: %d frames sent, NotAdmitted +%d", len(tr.sent), m.stats.NotAdmitted-before)
	}
	// A member m has not heard of yet: its digest frame admits it.
	n, ntr, _ := newTest(t, func(c *Config) { admit(c); c.ID = "newcomer"; c.Meta = []byte("cert") })
	n.syncState("self")
	if len(ntr.sent) != 1 || len(ntr.records("self", RecStateDigest)) != 1 || len(ntr.records("self", RecAlive)) != 1 {
		t.Fatalf("%d frames, want one with the newcomer's alive and its digest", len(ntr.sent))
	}
	if err := m.Step("newcomer", ntr.sent[0].frame); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Member("newcomer"); !ok || countStateAnswers(tr, "newcomer") == 0 {
		t.Fatalf("the newcomer's digest: admitted %v, answers %d", ok, countStateAnswers(tr, "newcomer"))
	}
}
