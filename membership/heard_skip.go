package membership

// Probes passed over for neighbours just heard from
// (Config.SkipHeardNeighbors; with Config.Neighbors only).
//
// SWIM probes a member to learn that it is alive. Over an overlay a
// neighbour that is sending this member frames (gossip, announcements,
// its own probes) is showing that every few milliseconds while messages
// flow, over an authenticated connection: nobody else can send a frame
// in its name. So the round-robin passes over a neighbour heard from
// within the last probe period and probes the next one; when every
// neighbour was heard from, the period goes without a probe. A neighbour
// that crashes stops being heard from: within a period it is a candidate
// again, and the silent slot (silent.go) goes to it first. What is saved
// is the probes, their acks and, under load, the late acks that turn into
// ping-reqs and suspicions: on two crowded cores a ping answered late is
// a suspicion of a live member.
//
// Some things ride on probes only: the view sum (view_sum.go), the local
// health score's recovery, and a share of the piggybacked updates. So at
// most heardSkipMax periods in a row go without a probe.

// heardSkipMax is how many probe periods in a row may go without a probe
// because every candidate was heard from: at least one probe every four
// periods.
const heardSkipMax = 3

// skipHeard reports whether the round-robin should pass over t, a
// neighbour heard from within the last probe period (counted).
func (m *Memberlist) skipHeard(t *member) bool {
	if !m.cfg.SkipHeardNeighbors || m.cfg.Neighbors == nil || m.heardSkips >= heardSkipMax {
		return false
	}
	e, ok := m.nbrSeen[t.id]
	if !ok || m.tick-e.heard >= uint64(m.cfg.ProbeInterval) {
		return false
	}
	m.stats.HeardSkips++
	return true
}

// noProbeThisPeriod counts a probe period that went without a probe
// because every candidate was passed over as heard from.
func (m *Memberlist) noProbeThisPeriod() {
	m.heardSkips++
	m.stats.PeriodsUnprobed++
}
