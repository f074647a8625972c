package membership

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// heardRun drives a member with neighbours for ticks ticks: each member in
// talking sends it a frame every tick, and its pings are answered at once
// when ack is set, never otherwise. It returns how many pings went to each
// neighbour and how many ping-reqs were sent.
func heardRun(t *testing.T, m *Memberlist, tr *capture, ticks int, ack bool, talking ...core.NodeID) (map[core.NodeID]int, int) {
	t.Helper()
	pings, reqs := map[core.NodeID]int{}, 0
	for i := 0; i < ticks; i++ {
		for _, id := range talking {
			_ = m.Step(id, &core.Frame{})
		}
		tr.sent = nil
		m.Tick()
		for _, p := range tr.sent {
			for _, r := range p.frame.Records {
				switch {
				case r.Type == RecPingReq:
					reqs++
				case r.Type == RecPing:
					pg, err := decodePing(r.Body, &m.cfg.Limits)
					if err != nil {
						t.Fatal(err)
					}
					pings[p.to]++
					if ack {
						step(t, m, p.to, appendSeq(nil, RecAck, pg.seq))
					}
				}
			}
		}
	}
	return pings, reqs
}

// heardSkipRun is heardRun with every ping answered.
func heardSkipRun(t *testing.T, m *Memberlist, tr *capture, ticks int, talking ...core.NodeID) map[core.NodeID]int {
	t.Helper()
	pings, _ := heardRun(t, m, tr, ticks, true, talking...)
	return pings
}

// TestSkipHeardNeighbors: over an overlay, neighbours that keep sending
// frames are not probed, except for one probe every heardSkipMax+1
// periods; one that falls silent is probed within two periods; with the
// option off every period has its probe.
func TestSkipHeardNeighbors(t *testing.T) {
	nb := staticNeighbors{"a", "b", "c"}
	setup := func(skip bool) (*Memberlist, *capture) {
		m, tr, _ := newTest(t, func(c *Config) { quiet(c); c.Neighbors = nb; c.SkipHeardNeighbors = skip })
		for _, id := range nb {
			put(t, m, id, StateAlive, 1)
		}
		heardSkipRun(t, m, tr, 20, nb...) // past the first probes and the start-up
		return m, tr
	}
	m, tr := setup(true)
	period := m.cfg.ProbeInterval
	total := func(p map[core.NodeID]int) int { return p["a"] + p["b"] + p["c"] }
	m.stats.PeriodsUnprobed = 0
	if got := total(heardSkipRun(t, m, tr, 8*period, nb...)); got != 2 {
		t.Fatalf("%d probes in 8 periods of frames from every neighbour, want 2 (one in %d periods)", got, heardSkipMax+1)
	}
	if m.stats.PeriodsUnprobed != 6 || m.stats.HeardSkips == 0 {
		t.Fatalf("periods unprobed %d, neighbours passed over %d", m.stats.PeriodsUnprobed, m.stats.HeardSkips)
	}
	// c falls silent: probed within two periods.
	if p := heardSkipRun(t, m, tr, 2*period, "a", "b"); p["c"] == 0 {
		t.Fatalf("silent neighbour not probed within two periods: %v", p)
	}
	// Off: a probe every period.
	m, tr = setup(false)
	if got := total(heardSkipRun(t, m, tr, 8*period, nb...)); got != 8 {
		t.Fatalf("option off: %d probes in 8 periods, want 8", got)
	}
}

// heardAnswerRun is heardRun with no ping answered; it returns the
// ping-reqs sent.
func heardAnswerRun(t *testing.T, m *Memberlist, tr *capture, ticks int, talking ...core.NodeID) int {
	t.Helper()
	_, reqs := heardRun(t, m, tr, ticks, false, talking...)
	return reqs
}

// TestHeardAnswersProbe: a probed neighbour whose ack never comes but whose
// frames keep arriving is neither asked about through ping-reqs nor
// suspected; one that falls silent is suspected as before; with the option
// off, the same talking neighbours are suspected.
func TestHeardAnswersProbe(t *testing.T) {
	nb := staticNeighbors{"a", "b", "c"}
	setup := func(on bool) (*Memberlist, *capture) {
		m, tr, _ := newTest(t, func(c *Config) {
			quiet(c)
			c.Neighbors = nb
			c.SkipHeardNeighbors = false // a probe every period, to talking neighbours too
			c.HeardAnswersProbe = on
		})
		for _, id := range nb {
			put(t, m, id, StateAlive, 1)
		}
		return m, tr
	}
	m, tr := setup(true)
	period := m.cfg.ProbeInterval
	if reqs := heardAnswerRun(t, m, tr, 6*period, nb...); reqs != 0 {
		t.Fatalf("%d ping-reqs about neighbours whose frames kept arriving", reqs)
	}
	if m.stats.Suspicions != 0 || m.stats.ProbesHeard < 5 {
		t.Fatalf("suspicions %d, probes answered by frames %d (want 0 and at least 5 of 6)", m.stats.Suspicions, m.stats.ProbesHeard)
	}
	// c falls silent: its next probe fails as before.
	heardAnswerRun(t, m, tr, 4*period, "a", "b")
	if c := m.members.get(m.all, "c"); c.state != StateSuspect || m.stats.Suspicions != 1 {
		t.Fatalf("silent neighbour: state %v, suspicions %d (want suspect, 1)", c.state, m.stats.Suspicions)
	}
	// Off: the talking neighbours' unanswered probes go to ping-reqs and
	// suspicions.
	m, tr = setup(false)
	if reqs := heardAnswerRun(t, m, tr, 6*period, nb...); reqs == 0 || m.stats.Suspicions == 0 || m.stats.ProbesHeard != 0 {
		t.Fatalf("option off: ping-reqs %d, suspicions %d, answered by frames %d", reqs, m.stats.Suspicions, m.stats.ProbesHeard)
	}
}
