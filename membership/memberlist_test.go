package membership

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// capture is a Transport that keeps what was sent.
type capture struct {
	sent []packetTo
}

type packetTo struct {
	to    core.NodeID
	frame *core.Frame
}

func (c *capture) Send(to core.NodeID, frame []byte) {
	f, err := core.DecodeFrame(frame, core.DefaultLimits())
	if err != nil {
		panic(err)
	}
	c.sent = append(c.sent, packetTo{to, f})
}

// records returns the records of type typ sent to to ("" for anyone).
func (c *capture) records(to core.NodeID, typ uint8) []core.Record {
	var out []core.Record
	for _, p := range c.sent {
		if to != "" && p.to != to {
			continue
		}
		for _, r := range p.frame.Records {
			if r.Type == typ {
				out = append(out, r)
			}
		}
	}
	return out
}

type recorder struct{ ev []Event }

func (r *recorder) HandleEvent(e Event) { r.ev = append(r.ev, e) }

func (r *recorder) kinds() []EventKind {
	var k []EventKind
	for _, e := range r.ev {
		k = append(k, e.Kind)
	}
	return k
}

func newTest(t testing.TB, mod func(*Config)) (*Memberlist, *capture, *recorder) {
	t.Helper()
	cfg := DefaultLANConfig()
	cfg.ID = "self"
	tr := &capture{}
	rec := &recorder{}
	cfg.Transport, cfg.Events = tr, rec
	if mod != nil {
		mod(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, tr, rec
}

func frame(recs ...[]byte) *core.Frame {
	b := core.NewFrame(nil)
	for _, r := range recs {
		b = append(b, r...)
	}
	f, err := core.DecodeFrame(b, core.DefaultLimits())
	if err != nil {
		panic(err)
	}
	return f
}

func step(t testing.TB, m *Memberlist, from core.NodeID, recs ...[]byte) {
	t.Helper()
	if err := m.Step(from, frame(recs...)); err != nil {
		t.Fatal(err)
	}
}

func alive(id core.NodeID, inc uint64) []byte {
	return appendAlive(nil, aliveMsg{id: id, inc: inc})
}
func suspectRec(id core.NodeID, inc uint64, from core.NodeID) []byte {
	return appendAccuse(nil, RecSuspect, accuseMsg{id: id, inc: inc, from: from})
}
func deadRec(id core.NodeID, inc uint64, from core.NodeID) []byte {
	return appendAccuse(nil, RecDead, accuseMsg{id: id, inc: inc, from: from})
}
func leaveRec(id core.NodeID, inc uint64) []byte {
	return appendLeave(nil, leaveMsg{id: id, inc: inc})
}

// put brings member id into state st at incarnation inc.
func put(t testing.TB, m *Memberlist, id core.NodeID, st State, inc uint64) {
	t.Helper()
	step(t, m, "peer", alive(id, inc))
	switch st {
	case StateSuspect:
		step(t, m, "peer", suspectRec(id, inc, "accuser"))
	case StateDead:
		step(t, m, "peer", deadRec(id, inc, "accuser"))
	case StateLeft:
		step(t, m, "peer", leaveRec(id, inc))
	}
	if mem, _ := m.Member(id); mem.State != st || mem.Incarnation != inc {
		t.Fatalf("setup: %s is %s/%d, want %s/%d", id, mem.State, mem.Incarnation, st, inc)
	}
}

// TestPrecedence covers every (state, update, incarnation order) pair of the
// SWIM precedence rules.
func TestPrecedence(t *testing.T) {
	const x = core.NodeID("x")
	type upd struct {
		name string
		rec  func(inc uint64) []byte
	}
	updates := map[string]func(inc uint64) []byte{
		"alive":   func(i uint64) []byte { return alive(x, i) },
		"suspect": func(i uint64) []byte { return suspectRec(x, i, "other") },
		"dead":    func(i uint64) []byte { return deadRec(x, i, "other") },
		"leave":   func(i uint64) []byte { return leaveRec(x, i) },
	}
	cases := []struct {
		from    State
		update  string
		inc     uint64 // the member is at incarnation 5
		want    State
		wantInc uint64
		event   EventKind // 0: none
	}{
		{StateAlive, "alive", 4, StateAlive, 5, 0},
		{StateAlive, "alive", 5, StateAlive, 5, 0},
		{StateAlive, "alive", 6, StateAlive, 6, 0},
		{StateAlive, "suspect", 4, StateAlive, 5, 0},
		{StateAlive, "suspect", 5, StateSuspect, 5, EventSuspect},
		{StateAlive, "suspect", 6, StateSuspect, 6, EventSuspect},
		{StateAlive, "dead", 4, StateAlive, 5, 0},
		{StateAlive, "dead", 5, StateDead, 5, EventFail},
		{StateAlive, "dead", 6, StateDead, 6, EventFail},
		{StateAlive, "leave", 4, StateAlive, 5, 0},
		{StateAlive, "leave", 5, StateLeft, 5, EventLeave},
		{StateAlive, "leave", 6, StateLeft, 6, EventLeave},

		{StateSuspect, "alive", 4, StateSuspect, 5, 0},
		{StateSuspect, "alive", 5, StateSuspect, 5, 0},
		{StateSuspect, "alive", 6, StateAlive, 6, EventAlive},
		{StateSuspect, "suspect", 4, StateSuspect, 5, 0},
		{StateSuspect, "suspect", 5, StateSuspect, 5, 0},
		{StateSuspect, "suspect", 6, StateSuspect, 6, 0},
		{StateSuspect, "dead", 4, StateSuspect, 5, 0},
		{StateSuspect, "dead", 5, StateDead, 5, EventFail},
		{StateSuspect, "dead", 6, StateDead, 6, EventFail},
		{StateSuspect, "leave", 4, StateSuspect, 5, 0},
		{StateSuspect, "leave", 5, StateLeft, 5, EventLeave},
		{StateSuspect, "leave", 6, StateLeft, 6, EventLeave},

		{StateDead, "alive", 4, StateDead, 5, 0},
		{StateDead, "alive", 5, StateDead, 5, 0},
		{StateDead, "alive", 6, StateAlive, 6, EventRejoin},
		{StateDead, "suspect", 4, StateDead, 5, 0},
		{StateDead, "suspect", 5, StateDead, 5, 0},
		{StateDead, "suspect", 6, StateDead, 5, 0},
		{StateDead, "dead", 6, StateDead, 5, 0},
		{StateDead, "leave", 4, StateDead, 5, 0},
		{StateDead, "leave", 5, StateLeft, 5, 0},
		{StateDead, "leave", 6, StateLeft, 6, 0},

		{StateLeft, "alive", 4, StateLeft, 5, 0},
		{StateLeft, "alive", 5, StateLeft, 5, 0},
		{StateLeft, "alive", 6, StateAlive, 6, EventRejoin},
		{StateLeft, "suspect", 6, StateLeft, 5, 0},
		{StateLeft, "dead", 6, StateLeft, 5, 0},
		{StateLeft, "leave", 6, StateLeft, 5, 0},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s(%d)", tc.from, tc.update, tc.inc), func(t *testing.T) {
			m, tr, rec := newTest(t, nil)
			put(t, m, x, tc.from, 5)
			rec.ev = nil
			queued := m.stats.UpdatesQueued
			step(t, m, "peer", updates[tc.update](tc.inc))
			mem, ok := m.Member(x)
			if !ok || mem.State != tc.want || mem.Incarnation != tc.wantInc {
				t.Fatalf("got %s/%d, want %s/%d", mem.State, mem.Incarnation, tc.want, tc.wantInc)
			}
			var want []EventKind
			if tc.event != 0 {
				want = []EventKind{tc.event}
			}
			if !slices.Equal(rec.kinds(), want) {
				t.Fatalf("events %v, want %v", rec.kinds(), want)
			}
			// An accepted update is disseminated, an ignored one is not.
			changed := tc.want != tc.from || tc.wantInc != 5
			if changed != (m.stats.UpdatesQueued > queued) {
				t.Fatalf("changed=%v but queued %d updates", changed, m.stats.UpdatesQueued-queued)
			}
			// Live members are what Sample draws from.
			live := slices.Contains(m.Sample(nil, 10), x)
			if live != tc.want.Live() {
				t.Fatalf("sampled=%v in state %s", live, tc.want)
			}
			_ = tr
		})
	}
}

func TestSelfRefutation(t *testing.T) {
	cases := []struct {
		name    string
		rec     []byte
		wantInc uint64
	}{
		{"suspect current", suspectRec("self", 3, "p"), 4},
		{"suspect newer", suspectRec("self", 7, "p"), 8},
		{"suspect stale", suspectRec("self", 2, "p"), 3},
		{"dead current", deadRec("self", 3, "p"), 4},
		{"dead stale", deadRec("self", 1, "p"), 3},
		{"alive newer (previous life)", alive("self", 9), 10},
		{"alive current", alive("self", 3), 3},
		{"alive current other meta", appendAlive(nil, aliveMsg{id: "self", inc: 3, meta: []byte("m")}), 4},
		{"leave (previous life)", leaveRec("self", 3), 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTest(t, func(c *Config) { c.Incarnation = 3 })
			step(t, m, "p", tc.rec)
			if m.Incarnation() != tc.wantInc {
				t.Fatalf("incarnation %d, want %d", m.Incarnation(), tc.wantInc)
			}
			if m.LocalMember().State != StateAlive {
				t.Fatal("self not alive")
			}
			refuted := tc.wantInc > 3
			if refuted {
				// The refutation is queued as an alive update about self.
				u := m.queue.byID["self"]
				if u == nil || u.typ != RecAlive {
					t.Fatal("no alive queued")
				}
			}
		})
	}
}

func TestLeftSelfRepeatsLeave(t *testing.T) {
	m, _, _ := newTest(t, nil)
	put(t, m, "a", StateAlive, 0)
	m.Leave()
	m.queue = queue{}
	step(t, m, "a", suspectRec("self", 0, "a"))
	if u := m.queue.byID["self"]; u == nil || u.typ != RecLeave {
		t.Fatal("leave not repeated after a suspicion of a departed member")
	}
	if m.Incarnation() != 0 {
		t.Fatal("a departed member refuted")
	}
	if err := m.SetMeta(nil); !errors.Is(err, ErrLeft) {
		t.Fatalf("SetMeta after leave: %v", err)
	}
}

func TestSuspicionTimeoutLifeguard(t *testing.T) {
	// n = 10 (9 peers + self): min = 4·1·10 = 40 ticks, max = 240.
	m, _, rec := newTest(t, quiet)
	for i := 0; i < 9; i++ {
		put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
	}
	step(t, m, "p0", suspectRec("p1", 1, "p0"))
	s := m.members.get(m.all, "p1").suspicion()
	if s.min != 40 || s.max != 240 || s.k != 3 {
		t.Fatalf("suspicion min %v max %v k %d", s.min, s.max, s.k)
	}
	if s.deadline != 240 {
		t.Fatalf("unconfirmed deadline %d, want 240", s.deadline)
	}
	step(t, m, "p0", suspectRec("p1", 1, "p0")) // same accuser: no confirmation
	if s.deadline != 240 {
		t.Fatal("a repeated accusation shortened the timeout")
	}
	var deadlines []uint64
	for _, from := range []core.NodeID{"p2", "p3", "p4", "p5"} {
		step(t, m, from, suspectRec("p1", 1, from))
		deadlines = append(deadlines, s.deadline)
	}
	// 240 − 200·log(C+1)/log 4: C=1 → 140, C=2 → 82, C=3 → 40; a fourth adds nothing.
	if !slices.Equal(deadlines, []uint64{140, 82, 40, 40}) {
		t.Fatalf("deadlines %v", deadlines)
	}
	if m.stats.Confirmations != 3 {
		t.Fatalf("confirmations %d", m.stats.Confirmations)
	}
	for m.tick < 39 {
		m.Tick()
	}
	if mem, _ := m.Member("p1"); mem.State != StateSuspect {
		t.Fatal("declared dead before the minimum timeout")
	}
	m.Tick()
	if mem, _ := m.Member("p1"); mem.State != StateDead {
		t.Fatalf("not dead at the deadline: %s", mem.State)
	}
	if rec.ev[len(rec.ev)-1].Kind != EventFail || m.stats.Declared != 1 {
		t.Fatal("no fail event")
	}
}

func TestSuspicionTimeoutPlainSWIM(t *testing.T) {
	m, _, _ := newTest(t, func(c *Config) { c.Lifeguard = false; c.SuspicionMult = 4 })
	for i := 0; i < 99; i++ {
		put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
	}
	step(t, m, "p0", suspectRec("p1", 1, "p0"))
	s := m.members.get(m.all, "p1").suspicion()
	// n = 100: 4·log₁₀ 100·10 = 80 ticks, fixed.
	if s.deadline != 80 || s.k != 0 {
		t.Fatalf("deadline %d k %d", s.deadline, s.k)
	}
	step(t, m, "p2", suspectRec("p1", 1, "p2"))
	if s.deadline != 80 {
		t.Fatal("plain SWIM shortened its timeout")
	}
}

// probeOnce returns the target of the next probe.
func nextPing(t *testing.T, m *Memberlist, tr *capture) (core.NodeID, uint64) {
	t.Helper()
	tr.sent = nil
	for k := 0; k < 1000; k++ {
		m.Tick()
		for _, p := range tr.sent {
			for _, r := range p.frame.Records {
				if r.Type == RecPing {
					pg, err := decodePing(r.Body, &m.cfg.Limits)
					if err != nil {
						t.Fatal(err)
					}
					return p.to, pg.seq
				}
			}
		}
	}
	t.Fatal("no ping")
	return "", 0
}

// quiet turns off the periodic sends (push-pull, gossip, reconnect, the
// syncs after joining) and fixes SuspicionMult at 4, the value the timing
// tests were written for.
func quiet(c *Config) {
	c.PushPullInterval, c.GossipInterval, c.ReconnectInterval, c.JoinSyncs = 0, 0, 0, 0
	c.SuspicionMult = 4
}

func TestRoundRobinProbing(t *testing.T) {
	m, tr, _ := newTest(t, quiet)
	var peers []core.NodeID
	for i := 0; i < 7; i++ {
		id := core.NodeID(fmt.Sprintf("p%d", i))
		peers = append(peers, id)
		put(t, m, id, StateAlive, 1)
	}
	for round := 0; round < 3; round++ {
		var got []core.NodeID
		for i := 0; i < 7; i++ {
			to, seq := nextPing(t, m, tr)
			got = append(got, to)
			step(t, m, to, appendSeq(nil, RecAck, seq))
		}
		slices.Sort(got)
		if !slices.Equal(got, peers) {
			t.Fatalf("round %d probed %v: not every member exactly once", round, got)
		}
	}
	if m.stats.AcksReceived != 21 || m.Health() != 1 {
		t.Fatalf("acks %d health %d", m.stats.AcksReceived, m.Health())
	}
}

func TestProbeFailureIndirectAndHealth(t *testing.T) {
	m, tr, rec := newTest(t, quiet)
	for i := 0; i < 5; i++ {
		put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
	}
	target, seq := nextPing(t, m, tr)
	start := m.tick
	tr.sent = nil
	for m.tick < start+5 {
		m.Tick()
	}
	reqs := tr.records("", RecPingReq)
	if len(reqs) != 3 {
		t.Fatalf("%d ping-reqs, want 3", len(reqs))
	}
	for _, p := range tr.sent {
		if p.to == target && len(p.frame.Records) > 0 && p.frame.Records[0].Type == RecPingReq {
			t.Fatal("ping-req sent to the target itself")
		}
	}
	pr, err := decodePingReq(reqs[0].Body, &m.cfg.Limits)
	if err != nil || pr.seq != seq || pr.target != target || pr.nackAfter != 4 {
		t.Fatalf("ping-req %+v %v", pr, err)
	}
	// One helper nacks; two stay silent: two missed nacks.
	step(t, m, "p9", appendSeq(nil, RecNack, seq))
	for m.tick < start+10 {
		m.Tick()
	}
	if mem, _ := m.Member(target); mem.State != StateSuspect {
		t.Fatalf("target %s after a failed probe", mem.State)
	}
	if m.Health() != 3 || m.stats.MissedNacks != 2 || m.stats.NacksReceived != 1 {
		t.Fatalf("health %d missed %d nacks %d", m.Health(), m.stats.MissedNacks, m.stats.NacksReceived)
	}
	if !slices.Contains(rec.kinds(), EventSuspect) {
		t.Fatal("no suspect event")
	}
	// The probe period is now stretched threefold.
	before := m.tick
	_, seq2 := nextPing(t, m, tr)
	_ = seq2
	if gap := m.tick - before; gap < 20 {
		t.Fatalf("next probe after %d ticks with health 3", gap)
	}
	// Lifeguard buddy system: a probe of the suspect carries the suspicion.
	m2, tr2, _ := newTest(t, quiet)
	put(t, m2, "a", StateSuspect, 1)
	to, _ := nextPing(t, m2, tr2)
	if to != "a" || len(tr2.records("a", RecSuspect)) == 0 {
		t.Fatal("probe of a suspect did not carry the suspicion")
	}
}

func TestAckLowersHealth(t *testing.T) {
	m, tr, _ := newTest(t, quiet)
	put(t, m, "a", StateAlive, 1)
	m.health = 4
	_, seq := nextPing(t, m, tr)
	step(t, m, "a", appendSeq(nil, RecAck, seq))
	if m.Health() != 4 {
		t.Fatalf("health %d after an ack, want 4", m.Health())
	}
	step(t, m, "a", appendSeq(nil, RecAck, seq))
	if m.stats.LateAcks != 1 {
		t.Fatal("duplicate ack not counted late")
	}
}

func TestPingReqRelay(t *testing.T) {
	m, tr, _ := newTest(t, quiet)
	put(t, m, "target", StateAlive, 1)
	step(t, m, "req", appendPingReq(nil, pingReq{seq: 77, target: "target", nackAfter: 3}))
	pings := tr.records("target", RecPing)
	if len(pings) != 1 {
		t.Fatal("helper did not ping the target")
	}
	p, _ := decodePing(pings[0].Body, &m.cfg.Limits)
	step(t, m, "target", appendSeq(nil, RecAck, p.seq))
	acks := tr.records("req", RecAck)
	if len(acks) != 1 {
		t.Fatal("ack not relayed")
	}
	if s, _ := decodeSeq(acks[0].Body, "ack"); s != 77 {
		t.Fatalf("relayed seq %d", s)
	}
	for i := 0; i < 5; i++ {
		m.Tick()
	}
	if len(tr.records("req", RecNack)) != 0 {
		t.Fatal("nack after a relayed ack")
	}
	// No answer: a nack after nackAfter ticks, exactly once.
	tr.sent = nil
	step(t, m, "req", appendPingReq(nil, pingReq{seq: 78, target: "target", nackAfter: 3}))
	for i := 0; i < 30; i++ {
		m.Tick()
		if i == 1 && len(tr.records("req", RecNack)) != 0 {
			t.Fatal("nack too early")
		}
	}
	if n := len(tr.records("req", RecNack)); n != 1 {
		t.Fatalf("%d nacks", n)
	}
	if len(m.relays) != 0 {
		t.Fatal("relay state not expired")
	}
	// Bounded: relays beyond MaxPendingRelays are refused.
	m3, _, _ := newTest(t, func(c *Config) { quiet(c); c.MaxPendingRelays = 2 })
	for i := 0; i < 5; i++ {
		step(t, m3, "req", appendPingReq(nil, pingReq{seq: uint64(i), target: "t"}))
	}
	if m3.stats.RelaysDropped != 3 || len(m3.relays) != 2 {
		t.Fatalf("relays %d dropped %d", len(m3.relays), m3.stats.RelaysDropped)
	}
}

func TestPingAnswersAndMisdirected(t *testing.T) {
	m, tr, _ := newTest(t, quiet)
	step(t, m, "a", appendPing(nil, ping{seq: 5, target: "self"}))
	if len(tr.records("a", RecAck)) != 1 {
		t.Fatal("no ack")
	}
	step(t, m, "a", appendPing(nil, ping{seq: 6, target: "someone-else"}))
	if len(tr.records("a", RecAck)) != 1 || m.stats.Stale != 1 {
		t.Fatal("answered a ping meant for another member")
	}
	// Gossip to the dead: a ping from a member believed dead is answered
	// with the news.
	put(t, m, "d", StateDead, 2)
	step(t, m, "d", appendPing(nil, ping{seq: 7, target: "self"}))
	if len(tr.records("d", RecDead)) == 0 {
		t.Fatal("dead member not told")
	}
}

type fakeSig struct{}

func (fakeSig) SignMembership(msg []byte) ([]byte, error) {
	return append([]byte("sig:"), msg[len(msg)-4:]...), nil
}

func TestSignatures(t *testing.T) {
	verifier := VerifierFunc(func(id core.NodeID, msg, sig []byte) error {
		if !bytes.HasPrefix(sig, []byte("sig:")) || !bytes.Equal(sig[4:], msg[len(msg)-4:]) {
			return errors.New("bad signature")
		}
		return nil
	})
	m, _, rec := newTest(t, func(c *Config) { c.Verifier = verifier; c.Signer = fakeSig{} })
	// Unsigned and forged alive updates are dropped and counted.
	step(t, m, "p", alive("x", 1))
	step(t, m, "p", appendAlive(nil, aliveMsg{id: "x", inc: 1, sig: []byte("forged")}))
	if _, ok := m.Member("x"); ok || m.stats.BadSignatures != 2 {
		t.Fatalf("forged alive accepted (bad=%d)", m.stats.BadSignatures)
	}
	sig, _ := fakeSig{}.SignMembership(AliveSigningBytes("x", 1, nil))
	step(t, m, "p", appendAlive(nil, aliveMsg{id: "x", inc: 1, sig: sig}))
	if mem, ok := m.Member("x"); !ok || mem.State != StateAlive {
		t.Fatal("signed alive rejected")
	}
	// A forged leave is dropped; a signed one accepted.
	step(t, m, "p", leaveRec("x", 1))
	if mem, _ := m.Member("x"); mem.State != StateAlive || m.stats.BadSignatures != 3 {
		t.Fatal("forged leave accepted")
	}
	lsig, _ := fakeSig{}.SignMembership(LeaveSigningBytes("x", 1))
	step(t, m, "p", appendLeave(nil, leaveMsg{id: "x", inc: 1, sig: lsig}))
	if mem, _ := m.Member("x"); mem.State != StateLeft {
		t.Fatal("signed leave rejected")
	}
	if !slices.Equal(rec.kinds(), []EventKind{EventJoin, EventLeave}) {
		t.Fatalf("events %v", rec.kinds())
	}
	// Own updates carry signatures, and they survive a full-state exchange.
	m2, tr2, _ := newTest(t, func(c *Config) { c.Signer = fakeSig{}; c.ID = "other" })
	m2.Join([]core.NodeID{"self"})
	st := tr2.records("self", RecState)
	if len(st) != 1 {
		t.Fatal("no join state")
	}
	if err := m.Step("other", frame(core.AppendRecord(nil, RecState, st[0].Body))); err != nil {
		t.Fatal(err)
	}
	if mem, ok := m.Member("other"); !ok || mem.State != StateAlive {
		t.Fatal("signed state entry rejected")
	}
}

func TestMetadata(t *testing.T) {
	m, _, rec := newTest(t, func(c *Config) { c.Meta = []byte("v1") })
	if err := m.SetMeta(make([]byte, 513)); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("oversized meta: %v", err)
	}
	if err := m.SetMeta([]byte("v2")); err != nil {
		t.Fatal(err)
	}
	if m.Incarnation() != 1 || string(m.LocalMember().Meta) != "v2" {
		t.Fatal("SetMeta did not raise the incarnation")
	}
	step(t, m, "p", appendAlive(nil, aliveMsg{id: "x", inc: 1, meta: []byte("a")}))
	step(t, m, "p", appendAlive(nil, aliveMsg{id: "x", inc: 2, meta: []byte("b")}))
	if mem, _ := m.Member("x"); string(mem.Meta) != "b" {
		t.Fatal("meta not updated")
	}
	if !slices.Equal(rec.kinds(), []EventKind{EventJoin, EventUpdate}) {
		t.Fatalf("events %v", rec.kinds())
	}
	m2, _, _ := newTest(t, func(c *Config) { c.MaxMetaSize = 4 })
	step(t, m2, "p", appendAlive(nil, aliveMsg{id: "x", inc: 1, meta: []byte("toolong")}))
	if _, ok := m2.Member("x"); ok || m2.stats.MetaTooLarge != 1 {
		t.Fatal("oversized meta accepted")
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
	cfg := DefaultLANConfig()
	cfg.ID, cfg.Transport, cfg.Meta = "a", &capture{}, make([]byte, 600)
	if _, err := New(cfg); err == nil {
		t.Fatal("oversized Config.Meta accepted")
	}
}

func TestTombstonesReapedAndBounded(t *testing.T) {
	m, _, _ := newTest(t, func(c *Config) { quiet(c); c.TombstoneTicks = 50; c.MaxMembers = 4 })
	put(t, m, "a", StateAlive, 1)
	put(t, m, "b", StateDead, 1)
	put(t, m, "c", StateLeft, 1)
	// Table full (self, a, b, c): a newcomer evicts the oldest tombstone.
	step(t, m, "p", alive("d", 1))
	if _, ok := m.Member("b"); ok || m.stats.TombstonesEvicted != 1 {
		t.Fatal("oldest tombstone not evicted")
	}
	if _, ok := m.Member("d"); !ok {
		t.Fatal("newcomer not added")
	}
	step(t, m, "p", deadRec("a", 1, "p"))
	step(t, m, "p", alive("e", 1)) // evicts c
	step(t, m, "p", alive("f", 1)) // evicts a
	step(t, m, "p", alive("g", 1)) // full of live members: refused
	if m.stats.MembersRefused != 1 {
		t.Fatalf("refused %d", m.stats.MembersRefused)
	}
	// A stale alive of a tombstone is refused while the tombstone lasts...
	m2, _, _ := newTest(t, func(c *Config) { quiet(c); c.TombstoneTicks = 50 })
	put(t, m2, "x", StateDead, 3)
	step(t, m2, "p", alive("x", 3))
	if mem, _ := m2.Member("x"); mem.State != StateDead {
		t.Fatal("stale alive revived a tombstone")
	}
	// ...and the tombstone is forgotten after TombstoneTicks.
	for i := 0; i < 50; i++ {
		m2.Tick()
	}
	if _, ok := m2.Member("x"); ok || m2.stats.TombstonesReaped != 1 {
		t.Fatal("tombstone not reaped")
	}
}

func TestQueueOrderAndLimits(t *testing.T) {
	var q queue
	for i := 0; i < 5; i++ {
		q.push(core.NodeID(fmt.Sprintf("m%d", i)), RecAlive, alive(core.NodeID(fmt.Sprintf("m%d", i)), 1), 100)
	}
	// Replacing an update about the same member keeps one.
	q.push("m0", RecSuspect, suspectRec("m0", 1, "x"), 100)
	if q.len() != 5 {
		t.Fatalf("len %d", q.len())
	}
	out, n := q.fill(nil, 1000, 2, "", 0)
	if n != 5 {
		t.Fatalf("filled %d", n)
	}
	// Newest first: m0's suspicion, then m4..m1.
	f := frame(out)
	r := core.NewReader(f.Records[0].Body)
	if f.Records[0].Type != RecSuspect || string(r.ID(64)) != "m0" {
		t.Fatal("newest update not first")
	}
	// A new update goes before those already sent once.
	q.push("m9", RecAlive, alive("m9", 1), 100)
	out, _ = q.fill(nil, len(alive("m9", 1)), 2, "", 0)
	if f := frame(out); len(f.Records) != 1 || string(core.NewReader(f.Records[0].Body).ID(64)) != "m9" {
		t.Fatal("least sent not first")
	}
	// Each update leaves after limit transmissions.
	q.fill(nil, 1000, 2, "", 0)
	if q.len() != 0 || len(q.byID) != 0 {
		t.Fatalf("after two transmissions %d left", q.len())
	}
	// The bound drops the most transmitted first.
	var q2 queue
	q2.push("a", RecAlive, alive("a", 1), 2)
	q2.fill(nil, 1000, 10, "", 0)
	q2.push("b", RecAlive, alive("b", 1), 2)
	if d := q2.push("c", RecAlive, alive("c", 1), 2); d != 1 || q2.byID["a"] != nil {
		t.Fatal("bound did not drop the most transmitted")
	}
	// Room is respected.
	out, n = q2.fill(nil, 3, 10, "", 0)
	if n != 0 || len(out) != 0 {
		t.Fatal("overfilled")
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
	rec := core.AppendRecord(nil, RecState, append(core.AppendUvarint([]byte{0}, uint64(len(entries))), body...))
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

func TestStepIgnoresOtherLayersAndUnknown(t *testing.T) {
	m, _, _ := newTest(t, nil)
	f := frame(core.AppendRecord(nil, 0x7e, []byte("future")), core.AppendRecord(nil, 0x90, []byte("app")))
	if err := m.Step("p", f); err != nil {
		t.Fatal(err)
	}
	if m.stats.UnknownRecords != 1 || m.stats.RecordsIn != 1 {
		t.Fatalf("unknown %d in %d", m.stats.UnknownRecords, m.stats.RecordsIn)
	}
	// A broken record is reported, the good one after it still applied.
	f = frame(core.AppendRecord(nil, RecAlive, []byte{1}), alive("x", 1))
	if err := m.Step("p", f); err == nil {
		t.Fatal("broken record not reported")
	}
	if _, ok := m.Member("x"); !ok || m.stats.DecodeErrors != 1 {
		t.Fatal("good record after a broken one lost")
	}
	if m.Step("p", nil) != nil {
		t.Fatal("nil frame")
	}
}

func TestDeterministic(t *testing.T) {
	run := func() string {
		c := newCluster(t, 12, 9, nil)
		c.joinAll()
		c.loss = 0.05
		c.run(200)
		c.down[3] = true
		c.run(300)
		var b bytes.Buffer
		for _, m := range c.nodes {
			fmt.Fprintf(&b, "%+v %v\n", m.Stats(), m.Members())
		}
		return b.String()
	}
	if a, b := run(), run(); a != b {
		t.Fatal("two runs with one seed differ")
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

func TestRepairCorrectsStaleAccusations(t *testing.T) {
	m, tr, _ := newTest(t, quiet)
	put(t, m, "x", StateAlive, 5)
	// A peer relays a suspicion of x older than x's refutation: it gets the
	// newer alive straight back.
	step(t, m, "relayer", suspectRec("x", 4, "a"))
	alives := tr.records("relayer", RecAlive)
	if len(alives) == 0 {
		t.Fatal("no correction")
	}
	if a, _ := decodeAlive(alives[0].Body, &m.cfg.Limits); a.id != "x" || a.inc != 5 {
		t.Fatalf("correction %+v", a)
	}
	// The same for a stale accusation of this member itself, and after a
	// refutation the accuser hears the new alive directly.
	m.refute(0)
	inc := m.Incarnation()
	step(t, m, "relayer2", deadRec("self", inc-1, "a"))
	if len(tr.records("relayer2", RecAlive)) == 0 {
		t.Fatal("stale accusation of self not corrected")
	}
	step(t, m, "accuser", suspectRec("self", inc, "accuser"))
	if m.Incarnation() != inc+1 || len(tr.records("accuser", RecAlive)) == 0 {
		t.Fatal("refutation not sent back to the accuser")
	}
	// Bounded per tick.
	for i := 0; i < 10; i++ {
		step(t, m, core.NodeID(fmt.Sprintf("r%d", i)), suspectRec("x", 1, "a"))
	}
	if m.stats.CorrectionsDropped == 0 {
		t.Fatal("corrections not bounded")
	}
	// Off without Repair.
	m2, tr2, _ := newTest(t, func(c *Config) { quiet(c); c.Repair = false })
	put(t, m2, "x", StateAlive, 5)
	step(t, m2, "relayer", suspectRec("x", 4, "a"))
	if len(tr2.records("relayer", RecAlive)) != 0 {
		t.Fatal("corrected with Repair off")
	}
}

func TestRepairRemindsSuspect(t *testing.T) {
	m, tr, _ := newTest(t, quiet)
	for i := 0; i < 9; i++ {
		put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
	}
	step(t, m, "p0", suspectRec("p1", 1, "p0"))
	tr.sent = nil
	reminders := func() int { // frames to p1 that open with the suspicion (probes open with a ping)
		n := 0
		for _, p := range tr.sent {
			if p.to == "p1" && len(p.frame.Records) > 0 && p.frame.Records[0].Type == RecSuspect {
				n++
			}
		}
		return n
	}
	// min = 40 ticks: reminders at 20, 40, ...
	for m.tick < 19 {
		m.Tick()
	}
	if reminders() != 0 {
		t.Fatal("reminded too early")
	}
	m.Tick()
	if reminders() != 1 || m.stats.Reminders != 1 {
		t.Fatal("suspect not reminded")
	}
	// The suspect answers with its refutation: the suspicion ends.
	step(t, m, "p1", alive("p1", 2))
	tr.sent = nil
	for i := 0; i < 100; i++ {
		m.Tick()
	}
	if reminders() != 0 {
		t.Fatal("reminded after the refutation")
	}
}

func TestNewerSuspicionRestartsTimer(t *testing.T) {
	// No probing of the suspect: its unanswered probe would confirm.
	m, _, _ := newTest(t, func(c *Config) { quiet(c); c.ProbeSuspects = false })
	for i := 0; i < 9; i++ {
		put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
	}
	step(t, m, "p0", suspectRec("p1", 1, "p0"))
	for i := 0; i < 200; i++ {
		m.Tick()
	}
	// A suspicion of a newer incarnation arrives just before the old timer
	// (240 ticks) would fire: it must get a full timer of its own.
	step(t, m, "p2", suspectRec("p1", 2, "p2"))
	for i := 0; i < 100; i++ {
		m.Tick()
	}
	if mem, _ := m.Member("p1"); mem.State != StateSuspect || mem.Incarnation != 2 {
		t.Fatalf("p1 %s/%d: the old timer declared the new suspicion", mem.State, mem.Incarnation)
	}
}

func TestTombstoneListBoundedUnderFlapping(t *testing.T) {
	m, _, _ := newTest(t, quiet)
	put(t, m, "x", StateAlive, 0)
	for inc := uint64(0); inc < 5000; inc += 2 {
		step(t, m, "p", deadRec("x", inc, "p"))
		step(t, m, "p", alive("x", inc+1))
		step(t, m, "p", alive("x", inc+2))
		m.Tick()
	}
	if n := len(m.tombs) - m.tombHead; n > 2*len(m.all)+1024 {
		t.Fatalf("%d tombstone entries for %d members", n, len(m.all))
	}
	checkInvariants(t, m)
}
