package membership

import (
	"bytes"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// Join starts joining the group through seeds: this member sends each seed
// its state and asks for theirs, and asks again every JoinRetryInterval
// ticks until a seed's state arrives. Knowing other live members is not
// enough: they may be members that joined through this one while its own
// join was lost, and such a cluster would never learn the group (with an
// overlay, Config.Neighbors, nor would the group learn it). Once other
// members are known the retries back off, doubling up to 16 intervals.
// Seeds equal to this member's ID are skipped.
func (m *Memberlist) Join(seeds []core.NodeID) {
	m.seeds = m.seeds[:0]
	for _, s := range seeds {
		if s != m.cfg.ID && s != "" && !slices.Contains(m.seeds, s) {
			m.seeds = append(m.seeds, s)
		}
	}
	if len(m.seeds) == 0 || m.left {
		return
	}
	m.joining, m.seedHeard = true, false
	m.joinGap = uint64(m.cfg.JoinRetryInterval)
	m.syncsLeft, m.nextSync = m.cfg.JoinSyncs, 0
	m.selfAnnounce()
	m.sendJoin()
}

// sendJoin sends the seeds this member's state with a request for theirs.
func (m *Memberlist) sendJoin() {
	m.stats.JoinAttempts++
	for _, s := range m.seeds {
		m.sendState(s, stateRequest|stateJoin)
	}
	m.nextJoin = m.tick + m.joinGap
}

// retryJoin ends joining once a seed's state arrived, else asks the seeds
// again (less often once other live members are known).
func (m *Memberlist) retryJoin() {
	if m.seedHeard {
		m.joining = false
		return
	}
	if len(m.live) > 0 {
		m.joinGap = min(2*m.joinGap, 16*uint64(m.cfg.JoinRetryInterval))
	}
	m.sendJoin()
}

// Leave announces that this member leaves: the (signed) leave update is sent
// at once to GossipNodes live members and then disseminated like any update.
// Probing stops; the member still answers probes and keeps gossiping until
// the owner stops ticking it (wait for Pending to reach 0).
func (m *Memberlist) Leave() {
	if m.left {
		return
	}
	m.left = true
	m.joining = false
	m.probe.active = false
	s := m.self
	m.setState(s, StateLeft)
	s.since = m.tick
	s.setSig(m.sign(LeaveSigningBytes(s.id, s.incarnation)))
	rec := appendLeave(nil, leaveMsg{id: s.id, inc: s.incarnation, sig: s.sig()})
	m.enqueue(s.id, RecLeave, rec)
	k := max(m.cfg.GossipNodes, 3)
	for _, to := range m.sample(k, nil) {
		m.transmit(to, append(core.NewFrame(nil), rec...))
	}
}

// pushPull runs a periodic state exchange with a random live member and
// schedules the next one (the period jittered by ±25 %). Without a partner
// (with Config.Neighbors: no live neighbour, while the overlay repairs its
// links) it tries again a probe period later instead of skipping a whole
// period, which is 150 s at n = 500.
func (m *Memberlist) pushPull() {
	t := m.sample(1, nil)
	if len(t) == 0 {
		m.nextPushPull = m.tick + uint64(max(1, m.cfg.ProbeInterval))
		return
	}
	p := PushPullPeriod(m.cfg.PushPullInterval, m.Size())
	m.nextPushPull = m.tick + uint64(p-p/4+m.rng.IntN(p/2+1))
	m.stats.PushPullsSent++
	m.syncState(t[0])
}

// joinSync runs one follow-up full-state exchange after joining with a
// random live member and schedules the next one twice as far away. A joiner
// learns only what its seeds knew when they answered; members that joined
// at the same time, or that the seeds had not heard of yet, would otherwise
// reach it only through gossip (whose retransmissions a young member spends
// on the few members it knows) or the rare periodic push-pull.
func (m *Memberlist) joinSync() {
	m.nextSync = 0
	if m.syncsLeft <= 0 {
		return
	}
	t := m.sample(1, nil)
	if len(t) == 0 {
		// No partner yet: with Config.Neighbors a young member's links
		// may still be forming (for seconds in a loaded flash crowd, where
		// all three follow-ups used to pass unspent and p2pscale -n 300
		// left joiners without 2-18 members for a whole push-pull
		// period). The follow-up waits for one, a tick at a time.
		m.nextSync = m.tick + 1
		return
	}
	m.syncsLeft--
	m.stats.PushPullsSent++
	m.stats.JoinSyncs++
	m.syncState(t[0])
	if m.syncsLeft > 0 {
		m.syncGap *= 2
		m.nextSync = m.tick + m.syncGap
	}
}

// reconnect starts a state exchange with a random member believed dead (up
// to three tries to find a current tombstone), so healed partitions
// re-merge. With Config.DigestSync it starts with a digest, as periodic
// exchanges do: a member that is really gone answers nothing, and a whole
// state sent to it was the largest single allocation of a group of 300
// after a fifth of it crashed (each survivor sent one every
// ReconnectInterval: docs/benchmarks/ladder.md, session 34).
func (m *Memberlist) reconnect() {
	n := len(m.tombs) - m.tombHead
	for try := 0; try < 3 && n > 0; try++ {
		t := m.tombs[m.tombHead+m.rng.IntN(n)]
		if t.mem.removed || t.mem.state != StateDead || t.mem.since != t.at {
			continue
		}
		m.stats.Reconnects++
		m.syncState(t.mem.id)
		return
	}
}

// onState applies a full-state exchange and answers it if asked to.
func (m *Memberlist) onState(from core.NodeID, s stateMsg) {
	m.stats.PushPullsIn++
	if !m.admitState(from, &s) {
		return
	}
	if s.flags&statePartial == 0 {
		m.noteStateAnswer(from) // AskState's answers are whole states
	}
	if m.joining && slices.Contains(m.seeds, from) {
		m.seedHeard = true
	}
	if m.syncsLeft > 0 && m.nextSync == 0 && !m.left {
		// The first state after Join (normally a seed's answer): follow
		// up half a period later, then after doubling gaps.
		m.syncGap = uint64(max(1, m.cfg.ProbeInterval/2))
		m.nextSync = m.tick + m.syncGap
	}
	for i := range s.entries {
		e := &s.entries[i]
		switch e.state {
		case StateAlive:
			m.applyAlive(aliveMsg{id: e.id, inc: e.inc, meta: e.meta, sig: e.sig, chain: e.chain}, from, true)
		case StateSuspect:
			m.applyAlive(aliveMsg{id: e.id, inc: e.metaInc, meta: e.meta, sig: e.sig, chain: e.chain}, from, true)
			m.accuse(accuseMsg{id: e.id, inc: e.inc, from: from}, from, false)
		case StateDead:
			// Another member's verdict is only a suspicion here: if the
			// member is alive it gets the chance to refute (and a member
			// this one never knew is not learned as a corpse).
			if mem := m.members.get(m.all, e.id); mem != nil && (mem.state.Live() || mem == m.self) {
				m.accuse(accuseMsg{id: e.id, inc: e.inc, from: from}, from, false)
			}
		case StateLeft:
			m.applyLeave(leaveMsg{id: e.id, inc: e.inc, sig: e.sig}, from)
		}
	}
	if len(m.probeAdds) > 16 {
		m.flushProbeOrder() // a state exchange's worth: do not hold it until the next probe
	}
	m.noteDeparted(from, s.entries)
	if s.flags&stateRequest != 0 && !m.left && m.mayAnswerState(from) {
		m.sendState(from, 0)
	}
}

// sendState sends this member's full state to peer to, split into frames of
// at most MaxStateChunk bytes; flags go on the first frame only.
func (m *Memberlist) sendState(to core.NodeID, flags byte) {
	c := stateChunker{maxChunk: m.cfg.MaxStateChunk, flags: flags, emit: func(f []byte) {
		m.stats.StateBytesSent += uint64(len(f))
		m.transmit(to, f)
	}}
	for _, mem := range m.all {
		e := m.entryFor(mem)
		c.add(&e)
	}
	c.finish() // m.all always holds this member: at least one frame
}

// entryOf is member mem as a full-state entry.
func entryOf(mem *member) stateEntry {
	e := stateEntry{id: mem.id, state: mem.state, inc: mem.incarnation}
	switch mem.state {
	case StateAlive, StateSuspect:
		e.metaInc, e.meta, e.sig, e.chain = mem.metaInc, mem.meta(), mem.sig(), mem.chain()
		if e.metaInc > e.inc {
			e.metaInc, e.chain = e.inc, nil
		}
	case StateLeft:
		e.sig = mem.sig()
	}
	return e
}

// StateFrames encodes a full-state exchange announcing members (their ID,
// state and incarnation; metadata of alive ones) as frames of at most
// maxChunk bytes, for tools that bootstrap a converged group (the simulator)
// without running the join protocol. The entries are unsigned, so a
// memberlist with a Verifier drops their alive updates.
func StateFrames(members []Member, maxChunk int) [][]byte {
	var frames [][]byte
	c := stateChunker{maxChunk: maxChunk, emit: func(f []byte) { frames = append(frames, f) }}
	for _, mem := range members {
		e := stateEntry{id: mem.ID, state: mem.State, inc: mem.Incarnation, metaInc: mem.Incarnation, meta: mem.Meta}
		c.add(&e)
	}
	c.finish()
	return frames
}

// stateFrameOverhead is the room a full-state chunk keeps for its frame and
// record headers, flags and entry count.
const stateFrameOverhead = 16

// stateChunker packs full-state entries into RecState frames of at most
// maxChunk bytes (an entry too large for any chunk gets a frame of its own)
// and hands each frame to emit. flags go on the first frame only; the
// others carry none. sendState and StateFrames both chunk with it.
type stateChunker struct {
	maxChunk int
	flags    byte // on the first frame
	allFlags byte // on every frame
	emit     func(frame []byte)

	body    []byte // encoded entries of the frame being filled
	count   int    // entries in body
	emitted bool   // a frame has been emitted (the flags went out)
}

// add appends e, first emitting the entries so far if e would overflow the
// chunk.
func (c *stateChunker) add(e *stateEntry) {
	n := len(c.body)
	c.body = appendStateEntry(c.body, e)
	if len(c.body)+stateFrameOverhead > c.maxChunk && c.count > 0 {
		entry := bytes.Clone(c.body[n:])
		c.body = c.body[:n]
		c.flush()
		c.body = append(c.body, entry...)
	}
	c.count++
}

// finish emits the last frame, if it holds any entry.
func (c *stateChunker) finish() {
	if c.count > 0 {
		c.flush()
	}
}

// flush emits the entries in body as one frame.
func (c *stateChunker) flush() {
	hdr := []byte{c.allFlags}
	if !c.emitted {
		hdr[0] |= c.flags
	}
	hdr = wire.AppendUvarint(hdr, uint64(c.count))
	rec := append(hdr, c.body...)
	c.emit(core.AppendRecord(core.NewFrame(nil), RecState, rec))
	c.emitted = true
	c.body, c.count = c.body[:0], 0
}
