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
	var helper core.NodeID
	for _, p := range tr.sent {
		if len(p.frame.Records) > 0 && p.frame.Records[0].Type == RecPingReq {
			helper = p.to
			break
		}
	}
	// A nack from a member that was not asked, and a helper's nack twice,
	// count once; two helpers stay silent: two missed nacks.
	step(t, m, "p9", appendSeq(nil, RecNack, seq))
	step(t, m, helper, appendSeq(nil, RecNack, seq))
	step(t, m, helper, appendSeq(nil, RecNack, seq))
	for m.tick < start+10 {
		m.Tick()
	}
	if mem, _ := m.Member(target); mem.State != StateSuspect {
		t.Fatalf("target %s after a failed probe", mem.State)
	}
	if m.Health() != 3 || m.stats.MissedNacks != 2 || m.stats.NacksReceived != 1 || m.stats.SpoofedAcks != 2 {
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

// TestPingReqOnlyToNeighbors: over an overlay a helper pings only its own
// neighbours; a ping-req for any other member is refused at once, with a
// nack when the requester asked for nacks (so it does not count as a missed
// nack against the requester's health), without a ping that would need a
// new connection.
func TestPingReqOnlyToNeighbors(t *testing.T) {
	m, tr, _ := newTest(t, func(c *Config) { quiet(c); c.Neighbors = staticNeighbors{"req", "near"} })
	put(t, m, "near", StateAlive, 1)
	put(t, m, "far", StateAlive, 1)
	step(t, m, "req", appendPingReq(nil, pingReq{seq: 5, target: "far", nackAfter: 3}))
	if len(tr.records("far", RecPing)) != 0 || len(m.relays) != 0 {
		t.Fatal("helper pinged a target that is not its neighbour")
	}
	nacks := tr.records("req", RecNack)
	if len(nacks) != 1 || m.stats.RelaysNotNeighbor != 1 {
		t.Fatalf("%d nacks, %d refused; want one of each", len(nacks), m.stats.RelaysNotNeighbor)
	}
	if s, _ := decodeSeq(nacks[0].Body, "nack"); s != 5 {
		t.Fatalf("nack for seq %d, want 5", s)
	}
	// Without Lifeguard's nacks the refusal is silent.
	step(t, m, "req", appendPingReq(nil, pingReq{seq: 6, target: "far"}))
	if len(tr.records("req", RecNack)) != 1 || m.stats.RelaysNotNeighbor != 2 {
		t.Fatal("a refusal without nackAfter was answered")
	}
	// A neighbour is relayed to as before.
	step(t, m, "req", appendPingReq(nil, pingReq{seq: 7, target: "near", nackAfter: 3}))
	if len(tr.records("near", RecPing)) != 1 || len(m.relays) != 1 {
		t.Fatal("helper did not ping its neighbour")
	}
}
