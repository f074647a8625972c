package membership

import (
	"fmt"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestJoinSyncs: after the seeds' first answer a joiner exchanges state
// with random live members JoinSyncs times, ProbeInterval/2 ticks later and
// then after doubling gaps; nothing before the answer; 0 disables it.
func TestJoinSyncs(t *testing.T) {
	for _, syncs := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(syncs), func(t *testing.T) {
			m, tr, _ := newTest(t, func(c *Config) { quiet(c); c.JoinSyncs = syncs; c.JoinRetryInterval = 1000 })
			m.Join([]core.NodeID{"seed"})
			for i := 0; i < 50; i++ {
				m.Tick()
			}
			if n := len(tr.records("", RecState)); n != 1 {
				t.Fatalf("%d state frames before the seed answered, want the join only", n)
			}
			tr.sent = nil
			var body []byte
			for _, id := range []core.NodeID{"seed", "x", "y"} {
				body = appendStateEntry(body, &stateEntry{id: id, state: StateAlive, inc: 1, metaInc: 1})
			}
			step(t, m, "seed", core.AppendRecord(nil, RecState, append(wire.AppendUvarint([]byte{0}, 3), body...)))
			answered := m.tick
			var at []uint64
			for i := 0; i < 100; i++ {
				m.Tick()
				for _, p := range tr.sent {
					for _, r := range p.frame.Records {
						if r.Type != RecStateDigest { // the default: digest-first (digest_sync.go)
							continue
						}
						d, err := decodeDigest(r.Body, &m.cfg.Limits, true)
						if err != nil || d.flags != stateRequest {
							t.Fatalf("sync %+v %v", d, err)
						}
						at = append(at, m.tick-answered)
					}
				}
				tr.sent = nil
			}
			want := []uint64{5, 15, 35}[:syncs]
			if !slices.Equal(at, want) && !(syncs == 0 && len(at) == 0) {
				t.Fatalf("syncs at %v ticks after the answer, want %v", at, want)
			}
			if m.stats.JoinSyncs != uint64(syncs) {
				t.Fatalf("JoinSyncs %d", m.stats.JoinSyncs)
			}
		})
	}
}

// laterNeighbors has no neighbours until set (Config.Neighbors).
type laterNeighbors struct{ ids []core.NodeID }

func (l *laterNeighbors) AppendNeighbors(dst []core.NodeID) []core.NodeID {
	return append(dst, l.ids...)
}
func (l *laterNeighbors) IsNeighbor(id core.NodeID) bool { return slices.Contains(l.ids, id) }

// TestJoinSyncWaitsForAPartner: with Neighbors, a follow-up due while the
// young member has no live neighbour is not spent: it goes out on the tick
// after one appears, and the next keeps its doubled gap from there.
func TestJoinSyncWaitsForAPartner(t *testing.T) {
	nb := &laterNeighbors{}
	m, tr, _ := newTest(t, func(c *Config) {
		quiet(c)
		c.Neighbors = nb
		c.JoinSyncs, c.JoinRetryInterval = 2, 1000
	})
	m.Join([]core.NodeID{"seed"})
	var body []byte
	for _, id := range []core.NodeID{"seed", "x", "y"} {
		body = appendStateEntry(body, &stateEntry{id: id, state: StateAlive, inc: 1, metaInc: 1})
	}
	step(t, m, "seed", core.AppendRecord(nil, RecState, append(wire.AppendUvarint([]byte{0}, 3), body...)))
	tr.sent = nil
	for i := 0; i < 40; i++ {
		m.Tick()
	}
	if n := len(tr.records("", RecStateDigest)); n != 0 || m.stats.JoinSyncs != 0 {
		t.Fatalf("%d follow-ups (%d counted) without a neighbour", n, m.stats.JoinSyncs)
	}
	nb.ids = []core.NodeID{"x"}
	m.Tick()
	if n := len(tr.records("x", RecStateDigest)); n != 1 {
		t.Fatalf("%d follow-ups to the new neighbour on the next tick, want 1", n)
	}
	tr.sent = nil
	for i := 1; i <= 10; i++ {
		m.Tick()
		want := 0
		if i == 10 {
			want = 1
		}
		if n := len(tr.records("x", RecStateDigest)); n != want {
			t.Fatalf("%d ticks after the first follow-up: %d more sent, want %d (the doubled gap is 10)", i, n, want)
		}
	}
	if m.stats.JoinSyncs != 2 {
		t.Fatalf("JoinSyncs %d, want 2", m.stats.JoinSyncs)
	}
}

func TestJoinRetriesAndStateExchange(t *testing.T) {
	m, tr, _ := newTest(t, func(c *Config) { quiet(c); c.JoinRetryInterval = 5 })
	m.Join([]core.NodeID{"seed", "self", "seed"})
	if len(tr.records("seed", RecState)) != 1 {
		t.Fatal("join state not sent once to the seed")
	}
	for i := 0; i < 11; i++ {
		m.Tick()
	}
	if n := len(tr.records("seed", RecState)); n != 3 {
		t.Fatalf("%d join attempts after 11 ticks", n)
	}
	// The seed's reply lists members in every state.
	var body []byte
	entries := []stateEntry{
		{id: "seed", state: StateAlive, inc: 2, metaInc: 2, meta: []byte("m")},
		{id: "s", state: StateSuspect, inc: 4, metaInc: 3},
		{id: "d", state: StateDead, inc: 1},
		{id: "l", state: StateLeft, inc: 1},
		{id: "self", state: StateDead, inc: 0},
	}
	for i := range entries {
		body = appendStateEntry(body, &entries[i])
	}
	rec := core.AppendRecord(nil, RecState, append(wire.AppendUvarint([]byte{0}, uint64(len(entries))), body...))
	step(t, m, "seed", rec)
	if mem, _ := m.Member("seed"); mem.State != StateAlive || string(mem.Meta) != "m" {
		t.Fatal("alive entry")
	}
	if mem, _ := m.Member("s"); mem.State != StateSuspect || mem.Incarnation != 4 {
		t.Fatalf("suspect entry: %+v", mem)
	}
	if _, ok := m.Member("d"); ok {
		t.Fatal("an unknown dead member was learned")
	}
	if _, ok := m.Member("l"); ok {
		t.Fatal("an unknown departed member was learned")
	}
	if m.Incarnation() != 1 {
		t.Fatal("did not refute its own death in the seed's state")
	}
	tr.sent = nil
	for i := 0; i < 10; i++ {
		m.Tick()
	}
	if len(tr.records("seed", RecState)) != 0 {
		t.Fatal("kept retrying the join after it succeeded")
	}
	// A state request is answered with the full state, split into chunks.
	m2, tr2, _ := newTest(t, func(c *Config) { quiet(c); c.MaxStateChunk = c.MaxPacketSize })
	for i := 0; i < 300; i++ {
		put(t, m2, core.NodeID(fmt.Sprintf("member-%04d", i)), StateAlive, uint64(i))
	}
	step(t, m2, "asker", core.AppendRecord(nil, RecState, []byte{stateRequest, 0}))
	chunks := tr2.records("asker", RecState)
	if len(chunks) < 3 {
		t.Fatalf("%d chunks", len(chunks))
	}
	total := 0
	for i, c := range chunks {
		s, err := decodeState(c.Body, &m2.cfg.Limits)
		if err != nil {
			t.Fatal(err)
		}
		if (s.flags != 0) != false || (i == 0 && s.flags != 0) {
			t.Fatal("a reply must not ask for a reply")
		}
		total += len(s.entries)
		if len(c.Body) > m2.cfg.MaxStateChunk {
			t.Fatalf("chunk of %d bytes", len(c.Body))
		}
	}
	if total != 301 {
		t.Fatalf("%d entries, want 301", total)
	}
}

func TestStateFramesBootstrap(t *testing.T) {
	var ms []Member
	for i := 0; i < 500; i++ {
		ms = append(ms, Member{ID: core.NodeID(fmt.Sprintf("member-%04d", i)), State: StateAlive, Incarnation: 2})
	}
	ms = append(ms, Member{ID: "gone", State: StateDead, Incarnation: 1})
	frames := StateFrames(ms, 2000)
	if len(frames) < 3 {
		t.Fatalf("%d frames", len(frames))
	}
	m, _, _ := newTest(t, nil)
	for _, f := range frames {
		if len(f) > 2000 {
			t.Fatalf("frame of %d bytes", len(f))
		}
		fr, err := core.DecodeFrame(f, core.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Step("boot", fr); err != nil {
			t.Fatal(err)
		}
	}
	if m.Size() != 501 {
		t.Fatalf("size %d", m.Size())
	}
	// Learned from state, not news: nothing queued for dissemination.
	if m.Pending() != 0 {
		t.Fatalf("%d updates queued after a state exchange", m.Pending())
	}
	checkInvariants(t, m)
}

// rawCapture is a Transport that keeps the encoded frames.
type rawCapture struct{ frames [][]byte }

func (c *rawCapture) Send(to core.NodeID, frame []byte) {
	c.frames = append(c.frames, append([]byte(nil), frame...))
}

// TestStateChunking covers the chunking sendState and StateFrames share:
// frames within the chunk size, flags on the first frame only, every
// member once and in order, no frame for an empty list.
func TestStateChunking(t *testing.T) {
	var ms []Member
	for i := 0; i < 300; i++ {
		ms = append(ms, Member{ID: core.NodeID(fmt.Sprintf("member-%04d", i)), State: StateAlive, Incarnation: 3, Meta: []byte("meta")})
	}
	if f := StateFrames(nil, 2000); f != nil {
		t.Fatalf("%d frames for no member", len(f))
	}
	tr := &rawCapture{}
	m, _, _ := newTest(t, func(c *Config) { c.Transport, c.MaxStateChunk = tr, 2000 })
	for _, f := range StateFrames(ms, 2000) {
		fr, err := core.DecodeFrame(f, core.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Step("boot", fr); err != nil {
			t.Fatal(err)
		}
	}
	tr.frames = nil
	m.sendState("peer", stateRequest|stateJoin)
	stateFramesOut := StateFrames(ms, 2000)
	for name, frames := range map[string][][]byte{"sendState": tr.frames, "StateFrames": stateFramesOut} {
		if len(frames) < 3 {
			t.Fatalf("%s: %d frames", name, len(frames))
		}
		var ids []core.NodeID
		for i, f := range frames {
			if len(f) > 2000 {
				t.Fatalf("%s: frame %d of %d bytes", name, i, len(f))
			}
			fr, err := core.DecodeFrame(f, core.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if len(fr.Records) != 1 || fr.Records[0].Type != RecState {
				t.Fatalf("%s: frame %d: %d records", name, i, len(fr.Records))
			}
			s, err := decodeState(fr.Records[0].Body, &m.cfg.Limits)
			if err != nil {
				t.Fatal(err)
			}
			want := byte(0)
			if i == 0 && name == "sendState" {
				want = stateRequest | stateJoin
			}
			if s.flags != want {
				t.Fatalf("%s: frame %d flags %#x, want %#x", name, i, s.flags, want)
			}
			for _, e := range s.entries {
				ids = append(ids, e.id)
			}
		}
		var want []core.NodeID
		if name == "sendState" {
			for _, mem := range m.all {
				want = append(want, mem.id)
			}
		} else {
			for _, mem := range ms {
				want = append(want, mem.ID)
			}
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("%s: %d entries, want %d in order", name, len(ids), len(want))
		}
	}
}

// TestJoinWaitsForASeed: n1 joins through n0, but its first join is lost;
// meanwhile n2 joins through n1, so n1 already knows a live member. Knowing
// one is not enough: n1 must keep asking its seed until n0's state
// arrives, or n1 and n2 stay a group of their own that n0 never hears of.
func TestJoinWaitsForASeed(t *testing.T) {
	c := newCluster(t, 3, 1, nil)
	lost := true
	c.cut = func(from, to int) bool { return lost && from == 1 && to == 0 }
	c.nodes[1].Join([]core.NodeID{nodeID(0)})
	c.nodes[2].Join([]core.NodeID{nodeID(1)})
	c.run(1)
	lost = false
	if c.nodes[1].Size() != 2 {
		t.Fatalf("n1 lists %d members after n2 joined through it, want 2", c.nodes[1].Size())
	}
	c.runUntil(600, "every member lists all three", func() bool {
		return c.nodes[0].Size() == 3 && c.nodes[1].Size() == 3 && c.nodes[2].Size() == 3
	})
	if a := c.nodes[1].Stats().JoinAttempts; a < 2 {
		t.Errorf("n1 sent %d joins, want a retry after the lost one", a)
	}
}

// TestPushPullWaitsForAPartner: a periodic push-pull due while the member
// has no live neighbour is tried again a probe period later, not a whole
// period later; once one is there it goes out, and the next waits at
// least three quarters of a period.
func TestPushPullWaitsForAPartner(t *testing.T) {
	nb := &laterNeighbors{}
	m, tr, _ := newTest(t, func(c *Config) {
		quiet(c)
		c.Neighbors = nb
		c.PushPullInterval = 300
	})
	put(t, m, "x", StateAlive, 1)
	m.nextPushPull = m.tick + 1
	tr.sent = nil
	m.Tick()
	if n := len(tr.records("", RecStateDigest)); n != 0 || m.nextPushPull != m.tick+uint64(m.cfg.ProbeInterval) {
		t.Fatalf("no neighbour: %d sent, next at +%d; want 0 and +%d", n, m.nextPushPull-m.tick, m.cfg.ProbeInterval)
	}
	nb.ids = []core.NodeID{"x"}
	for i := 1; i <= m.cfg.ProbeInterval; i++ {
		m.Tick()
		want := 0
		if i == m.cfg.ProbeInterval {
			want = 1
		}
		if n := len(tr.records("x", RecStateDigest)); n != want {
			t.Fatalf("%d ticks after the missed push-pull: %d sent, want %d", i, n, want)
		}
	}
	if gap := m.nextPushPull - m.tick; gap < 225 || gap > 375 {
		t.Fatalf("next push-pull %d ticks away, want 225-375", gap)
	}
}
