package membership

import (
	"fmt"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestFallbackProbe covers the fallback ping (Config.FallbackProbe) on both
// sides: the prober repeats its ping bare on the reliable path at the probe
// timeout, and an answer on that path alone ends the probe without a
// suspicion and without touching the health score.
func TestFallbackProbe(t *testing.T) {
	cases := []struct {
		name       string
		fallback   bool
		answer     uint8 // ack record type the target answers with (0: none)
		wantPings  int
		wantSusp   bool
		wantHealth int
		wantFbAcks uint64
	}{
		{"fallback answered", true, RecAckFallback, 1, false, 3, 1},
		{"fallback unanswered", true, 0, 1, true, 4, 0},
		{"direct ack after the timeout", true, RecAck, 1, false, 2, 0},
		{"fallback off", false, 0, 0, true, 4, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, tr, _ := newTest(t, func(c *Config) { quiet(c); c.FallbackProbe = tc.fallback; c.IndirectChecks = 0 })
			put(t, m, "a", StateAlive, 1)
			m.health = 2
			to, seq := nextPing(t, m, tr)
			if to != "a" {
				t.Fatalf("probed %s", to)
			}
			start := m.tick
			tr.sent = nil
			for m.tick < start+5 {
				m.Tick()
			}
			// Health 3 stretches the timeout to 15 ticks.
			for m.tick < start+15 {
				m.Tick()
			}
			fb := tr.records("a", RecPingFallback)
			if len(fb) != tc.wantPings {
				t.Fatalf("%d fallback pings, want %d", len(fb), tc.wantPings)
			}
			if len(fb) == 1 {
				p, err := decodePing(fb[0].Body, &m.cfg.Limits)
				if err != nil || p.seq != seq || p.target != "a" {
					t.Fatalf("fallback ping %+v %v", p, err)
				}
				for _, s := range tr.sent {
					if s.frame.Records[0].Type == RecPingFallback && len(s.frame.Records) != 1 {
						t.Fatal("the fallback ping carried piggybacked updates")
					}
				}
			}
			if tc.answer != 0 {
				step(t, m, "a", appendSeq(nil, tc.answer, seq))
			}
			for m.tick < start+30 {
				m.Tick()
			}
			mem, _ := m.Member("a")
			if (mem.State == StateSuspect) != tc.wantSusp {
				t.Fatalf("a is %s", mem.State)
			}
			if m.Health() != tc.wantHealth || m.stats.FallbackAcks != tc.wantFbAcks {
				t.Fatalf("health %d fallback acks %d, want %d %d", m.Health(), m.stats.FallbackAcks, tc.wantHealth, tc.wantFbAcks)
			}
		})
	}

	// The target's side: a fallback ping is answered bare with a fallback
	// ack, even with updates queued; one for another member is stale; a
	// fallback ack nobody waits for is late.
	m, tr, _ := newTest(t, quiet)
	put(t, m, "b", StateAlive, 1) // queues an update that could ride along
	step(t, m, "p", appendPingType(nil, RecPingFallback, ping{seq: 9, target: "self"}))
	if len(tr.sent) != 1 || len(tr.sent[0].frame.Records) != 1 || tr.sent[0].frame.Records[0].Type != RecAckFallback {
		t.Fatalf("answer to a fallback ping: %+v", tr.sent)
	}
	if s, _ := decodeSeq(tr.sent[0].frame.Records[0].Body, "ack"); s != 9 {
		t.Fatalf("fallback ack seq %d", s)
	}
	step(t, m, "p", appendPingType(nil, RecPingFallback, ping{seq: 10, target: "other"}))
	if len(tr.sent) != 1 || m.stats.Stale != 1 {
		t.Fatal("a misdirected fallback ping was answered")
	}
	step(t, m, "p", appendSeq(nil, RecAckFallback, 77))
	if m.stats.LateAcks != 1 {
		t.Fatal("a stray fallback ack was not counted late")
	}
}

// TestProbeSuspects: a member suspected by another becomes this member's
// next probe target, at most every other probe (the latest such suspect
// only), so the round-robin order still reaches everyone; its own
// suspicions and ProbeSuspects off leave the order alone.
func TestProbeSuspects(t *testing.T) {
	setup := func(on bool) (*Memberlist, *capture, []core.NodeID) {
		m, tr, _ := newTest(t, func(c *Config) { quiet(c); c.ProbeSuspects = on; c.NewMemberGrace = 0 })
		var peers []core.NodeID
		for i := 0; i < 8; i++ {
			id := core.NodeID(fmt.Sprintf("p%d", i))
			peers = append(peers, id)
			put(t, m, id, StateAlive, 1)
		}
		return m, tr, peers
	}
	probe := func(m *Memberlist, tr *capture) core.NodeID {
		to, seq := nextPing(t, m, tr)
		step(t, m, to, appendSeq(nil, RecAck, seq))
		return to
	}
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			m, tr, peers := setup(on)
			got := []core.NodeID{probe(m, tr)}
			// Two suspicions heard: only the latest is probed out of turn.
			step(t, m, "p0", suspectRec("p3", 1, "p0"))
			step(t, m, "p0", suspectRec("p5", 1, "p0"))
			next := probe(m, tr)
			if on && next != "p5" {
				t.Fatalf("next probe went to %s, want the latest suspect p5", next)
			}
			// Right after an out-of-turn probe, the round goes on even if
			// another suspicion arrives.
			step(t, m, "p1", suspectRec("p6", 1, "p1"))
			after := probe(m, tr)
			urgent := 0
			if on {
				urgent = 2
				if m.urgent == nil || m.urgent.id != "p6" {
					t.Fatal("the round did not go on after an out-of-turn probe")
				}
				got = append(got, after)
				if after = probe(m, tr); after != "p6" {
					t.Fatalf("probe after the round's turn went to %s, want p6", after)
				}
			} else {
				got = append(got, next)
			}
			got = append(got, after)
			distinct := func() []core.NodeID {
				d := slices.Clone(got)
				slices.Sort(d)
				return slices.Compact(d)
			}
			// The rest of the round (at most one more out-of-turn probe
			// could have slipped in, none is pending).
			for k := 0; len(distinct()) < len(peers) && k < len(peers); k++ {
				got = append(got, probe(m, tr))
			}
			got = distinct()
			if !slices.Equal(got, peers) {
				t.Fatalf("round probed %v: not every member", got)
			}
			if m.stats.SuspectProbes != uint64(urgent) {
				t.Fatalf("SuspectProbes %d", m.stats.SuspectProbes)
			}
		})
	}
	// This member's own failed probe does not queue anything.
	m, tr, _ := newTest(t, func(c *Config) { quiet(c); c.IndirectChecks = 0; c.FallbackProbe = false })
	put(t, m, "a", StateAlive, 1)
	put(t, m, "b", StateAlive, 1)
	nextPing(t, m, tr)
	for i := 0; i < 10; i++ {
		m.Tick()
	}
	if m.stats.Suspicions != 1 || m.urgent != nil {
		t.Fatalf("suspicions %d urgent %v", m.stats.Suspicions, m.urgent)
	}
}

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
			step(t, m, "seed", core.AppendRecord(nil, RecState, append(core.AppendUvarint([]byte{0}, 3), body...)))
			answered := m.tick
			var at []uint64
			for i := 0; i < 100; i++ {
				m.Tick()
				for _, p := range tr.sent {
					for _, r := range p.frame.Records {
						if r.Type != RecState {
							continue
						}
						s, err := decodeState(r.Body, &m.cfg.Limits)
						if err != nil || s.flags != stateRequest {
							t.Fatalf("sync %+v %v", s, err)
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

// TestAckCarriesRefutation: a ping that carries a suspicion of its target
// (buddy system) is answered after the suspicion is handled, so the ack
// already holds the target's refutation.
func TestAckCarriesRefutation(t *testing.T) {
	m, tr, _ := newTest(t, quiet)
	put(t, m, "p", StateAlive, 1)
	tr.sent = nil
	inc := m.Incarnation()
	step(t, m, "p", appendPing(nil, ping{seq: 5, target: "self"}), suspectRec("self", inc, "p"))
	var ack *core.Frame
	for _, p := range tr.sent {
		if p.frame.Records[0].Type == RecAck {
			ack = p.frame
		}
	}
	if ack == nil {
		t.Fatal("no ack")
	}
	found := false
	for _, r := range ack.Records[1:] {
		if r.Type == RecAlive {
			if a, err := decodeAlive(r.Body, &m.cfg.Limits); err == nil && a.id == "self" && a.inc > inc {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("the ack did not carry the refutation")
	}
}

// TestNewMemberGrace: a member alive in this view for less than
// NewMemberGrace ticks is suspected with at least NewMemberSuspicionMult's
// timeout and draws no out-of-turn probe; after the grace, the profile's
// own timeout and the out-of-turn probe apply.
func TestNewMemberGrace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		age   int // ticks between learning of the member and its suspicion
		young bool
	}{
		{"young", 5, true},
		{"settled", 150, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTest(t, func(c *Config) { quiet(c); c.NewMemberGrace = 100; c.NewMemberSuspicionMult = 4 })
			for i := 0; i < 8; i++ {
				put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
			}
			for i := 0; i < tc.age; i++ {
				m.Tick()
			}
			step(t, m, "p0", suspectRec("p5", 1, "p0"))
			mem := m.members.get(m.all, "p5")
			if mem == nil || mem.state != StateSuspect {
				t.Fatal("p5 not suspected")
			}
			floor := 4 * logN(m.Size()) * float64(m.cfg.ProbeInterval)
			short := m.cfg.SuspicionMult * logN(m.Size()) * float64(m.cfg.ProbeInterval)
			if got := mem.suspicion().min; tc.young && got < floor || !tc.young && got != short {
				t.Fatalf("minimum suspicion timeout %.1f ticks (young %v; floor %.1f, profile %.1f)", got, tc.young, floor, short)
			}
			if urgent := m.urgent != nil && m.urgent.id == "p5"; urgent == tc.young {
				t.Fatalf("out-of-turn probe of p5: %v, young %v", urgent, tc.young)
			}
		})
	}
}
