package membership

import "github.com/grapevine-p2p/grapevine/core"

// A sampled member list (Config.MemberSample > 0) holds a bounded random
// sample of the group instead of every member, so that a member's memory
// and the work of each join stay constant as the group grows. It is meant
// for traffic confined to a bounded overlay (Config.Neighbors), where
// probes, ping-req helpers and gossip go to neighbours only: what a member
// needs to know is its neighbours, the members it talks to, and a uniform
// sample for the overlay's random links and passive-view repair.
//
// What is kept:
//
//   - this member and its neighbours are always kept, and every member
//     heard first-hand (its own alive from itself: a joiner's announcement,
//     a new neighbour's self-announcement below) for at least
//     sampleFreshTicks; neighbours and suspects count towards MemberSample;
//   - any other newcomer is kept while the list has room, then as a
//     reservoir sample (Vitter's algorithm R): the k-th newcomer heard is
//     kept with probability MemberSample/k, and at the next tick random live
//     members that are neither neighbours, suspects, awaiting a probe nor
//     added in the last sampleFreshTicks are forgotten until the list is
//     back within the bound (trimSample; Stats.SampleEvicted). A newcomer not kept
//     is not passed on either (Stats.SampleSkipped): a join spreads until it
//     stops being kept, so its cost no longer grows with the group;
//   - an accusation (suspect or dead) about a member not in the list makes
//     an entry for it (a ghost: its alive never heard here), so that the
//     accusation is checked, counted and passed on as any other. Failures
//     are rare next to joins, and the neighbours of a crashed member, which
//     are seldom neighbours of each other, confirm each other's suspicions
//     only through members that do not hold it. A ghost is dropped like any
//     tombstone, or, once refuted, trimmed like any sampled member. A
//     member forgotten at an incarnation is not made a ghost by an
//     accusation of an older one (sample_forgotten.go).
//
// Ghosts are made only in a trusted group (no Verifier). With a Verifier an
// accusation is believed only at an incarnation the accused has signed,
// which a member outside the sample cannot check; a review found that a
// ghost let one hostile member get a live member declared dead by most of
// a group at an incarnation the member could not refute, let ghosts stand
// in for admitted members (Config.Admit), and sent unsigned ghost entries
// in full states, for which honest senders were penalised. So in
// authenticated mode an accusation about a member outside the sample is
// dropped, as with full lists: the accused's neighbours still probe it and
// declare it themselves, but a member that sampled it and is not its
// neighbour keeps it until it is trimmed (a known gap of this mode).
//
// A member announces its own alive on the first frame it sends each peer
// through send or Piggyback, again every sampleAnnounceTicks
// (self_announce.go), so that a peer that becomes its neighbour learns it
// first-hand and probes it.
//
// What it changes: Size is the sample's size, not the group's (the overlay
// reaches its budget of 16 neighbours from 21 members on, and the Lifeguard
// and retransmission limits use the sample's logarithm). A member not in
// the list is unknown to this member: package p2p's origin check, which
// holds messages of unknown origins, cannot run over a sampled list, so
// this mode is for groups without it (the simulator; an adapter that checks
// origins another way).

// sampleAnnounceTicks is how often a sampling member announces its alive
// again on its first frame to each peer (1 minute at 100 ms ticks).
const sampleAnnounceTicks = 600

// sampleFreshTicks is how long a member just added to a sampled list is
// kept before it may be trimmed (5 s at 100 ms ticks).
const sampleFreshTicks = 50

// sampleAskGap is the fewest ticks between two state requests to the
// same unknown neighbour (askUnknownNeighbors; 10 s at 100 ms ticks).
const sampleAskGap = 100

// sampleTrimTries bounds the random picks trimSample makes per surplus
// member before it gives up for this tick.
const sampleTrimTries = 8

// sampling reports whether the member list is a sample.
func (m *Memberlist) sampling() bool { return m.cfg.MemberSample > 0 }

// keepNewcomer decides whether the alive of id, a member not in the list,
// from peer from, is kept (and so passed on).
func (m *Memberlist) keepNewcomer(id, from core.NodeID) bool {
	if !m.sampling() {
		return true
	}
	m.sampleHeard++
	if id == from || len(m.live) < m.cfg.MemberSample || m.isNeighbor(id) {
		return true
	}
	if m.rng.Uint64N(m.sampleHeard) < uint64(m.cfg.MemberSample) {
		return true
	}
	m.stats.SampleSkipped++
	return false
}

// isNeighbor reports whether id is a neighbour (false without Neighbors).
func (m *Memberlist) isNeighbor(id core.NodeID) bool {
	return m.cfg.Neighbors != nil && m.cfg.Neighbors.IsNeighbor(id)
}

// trimSample forgets random sampled members while the live list is above
// MemberSample (neighbours, suspects and members awaiting a probe stay).
func (m *Memberlist) trimSample() {
	if !m.sampling() {
		return
	}
	for len(m.live) > m.cfg.MemberSample {
		var victim *member
		for try := 0; try < sampleTrimTries && victim == nil; try++ {
			c := m.live[m.rng.IntN(len(m.live))]
			if m.evictable(c) {
				victim = c
			}
		}
		if victim == nil {
			return
		}
		m.forget(victim)
	}
}

// evictable reports whether a sampled member may be forgotten now.
func (m *Memberlist) evictable(c *member) bool {
	if c.state != StateAlive || c == m.urgent || c == m.probe.target || m.isNeighbor(c.id) {
		return false
	}
	if m.tick < c.since+sampleFreshTicks {
		// Just heard, perhaps first-hand from a peer whose overlay link is
		// still being made: it announces itself only once a minute.
		return false
	}
	for _, u := range m.unreachable {
		if u == c {
			return false
		}
	}
	return true
}

// ghost makes an entry for a member accused (suspect or dead record a)
// but not in the sampled list: alive at the accused incarnation, which
// the accusation then changes. Nil when the list is not a sample, in
// authenticated mode, for this member's own ID, for an accusation older
// than the incarnation the member was forgotten at, or when the table is
// full.
func (m *Memberlist) ghost(a accuseMsg) *member {
	if !m.sampling() || a.id == m.cfg.ID || m.authenticated() {
		return nil // in authenticated mode no ghosts (see above)
	}
	if m.forgotten.newerThan(a.id, a.inc) {
		// Forgotten at a later incarnation: an accusation it had refuted
		// (sample_forgotten.go). Stale, counted by the caller.
		m.stats.SampleGhostsStale++
		return nil
	}
	mem := m.newMember(a.id)
	if mem == nil {
		return nil
	}
	m.stats.SampleGhosts++
	// since 0: not a new member (NewMemberGrace), whose suspicion would
	// wait longer and not be probed.
	m.setState(mem, StateAlive)
	mem.incarnation, mem.metaInc, mem.since = a.inc, a.inc, 0
	m.setLive(mem)
	return mem
}

// NeighborUp tells the memberlist that id became a neighbour (the overlay's
// OnUp). With a sampled list this member sends id its own alive at once:
// both ends of a new link do so, and each keeps the other as a member heard
// first-hand, so that it probes it. Without a sample it does nothing (every
// member already knows every other).
func (m *Memberlist) NeighborUp(id core.NodeID) {
	if !m.sampling() || m.left || id == m.cfg.ID {
		return
	}
	s := m.self
	rec := appendAlive(nil, aliveOf(s))
	if m.announcedTo == nil {
		m.announcedTo = make(map[core.NodeID]struct{})
	}
	m.announcedTo[id] = struct{}{}
	m.stats.SampleIntroductions++
	m.transmit(id, append(core.NewFrame(nil), rec...))
}

// askUnknownNeighbors asks each neighbour this member does not hold for
// its state (AskState: rate-limited, sampleAskGap per neighbour), once a
// protocol period. The answer carries the neighbour's own alive, kept as a
// member heard first-hand, after which it is probed. A neighbour's
// introduction (NeighborUp) can be missed: lost, or trimmed before the
// overlay's link was made at this end.
func (m *Memberlist) askUnknownNeighbors() {
	if !m.sampling() || m.cfg.Neighbors == nil || m.left || m.tick%uint64(m.cfg.ProbeInterval) != 0 {
		return
	}
	m.nbrAskBuf = m.cfg.Neighbors.AppendNeighbors(m.nbrAskBuf[:0])
	for _, id := range m.nbrAskBuf {
		if id == m.cfg.ID || m.members.get(m.all, id) != nil {
			continue
		}
		if m.AskState(id, sampleAskGap) {
			m.stats.SampleNeighborAsks++
		}
	}
	clear(m.nbrAskBuf)
}

// sampleTombsPerSample bounds a sampled list's tombstones to this many
// times MemberSample. Without it they were bounded only by MaxMembers: in
// a trusted group every failure makes a tombstone (of a ghost) at every
// member that hears of it, kept TombstoneTicks, so a member's memory grew
// with the group's failure rate, not its sample.
const sampleTombsPerSample = 2

// boundSampleTombs forgets the oldest tombstones of a sampled list beyond
// sampleTombsPerSample·MemberSample (Stats.TombstonesEvicted). A member
// forgotten this way that sends a stale alive is taken as a newcomer, kept
// or not as one, and declared again if it is probed.
func (m *Memberlist) boundSampleTombs() {
	if !m.sampling() {
		return
	}
	for len(m.all)-len(m.live)-1 > sampleTombsPerSample*m.cfg.MemberSample {
		if !m.evictOldestTomb() {
			return
		}
	}
}
