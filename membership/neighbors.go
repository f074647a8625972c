package membership

import "github.com/grapevine-p2p/grapevine/core"

// Neighbors confines the traffic a member starts on its own to the
// neighbours of a bounded overlay (package membership/overlay, HyParView),
// so that it holds a connection to a few peers, not to every member.
//
// With Config.Neighbors set, probes go round-robin over the live members
// that are neighbours, ping-req helpers, gossip targets and push-pull
// partners are drawn from them too, and a suspect is probed out of turn
// only when it is a neighbour. A helper relays a ping-req only to its own
// neighbours (refuseRelay). The member list itself still covers the
// whole group: updates spread hop by hop, piggybacked on the frames every
// member sends its neighbours (gossip, probes and the overlay's own), an
// infection over a random graph of degree about 16 that reaches n members
// in O(log n) hops. Every member is some members' neighbour (active views
// are symmetric), so its crash is found by the neighbours that probe it
// (about one probe a protocol period among them) and by the overlay's
// keepalive; their accusations then spread like any update, and in
// authenticated mode the several neighbours that declare it dead make the
// verdict everywhere else. Answers (acks, nacks, state replies) still go
// to whoever asked, and joins to the seeds.
type Neighbors interface {
	// AppendNeighbors appends the current neighbours to dst (this member
	// excluded).
	AppendNeighbors(dst []core.NodeID) []core.NodeID
	// IsNeighbor reports whether id is a current neighbour.
	IsNeighbor(id core.NodeID) bool
}

// liveNeighbors returns the live members that are neighbours, skip
// excluded, in a scratch slice valid until the next call.
func (m *Memberlist) liveNeighbors(skip *member) []core.NodeID {
	ids := m.cfg.Neighbors.AppendNeighbors(m.nbrBuf[:0])
	out := ids[:0]
	for _, id := range ids {
		mem := m.members.get(m.all, id)
		if mem == nil || mem.removed || !mem.state.Live() || mem == skip || id == m.cfg.ID {
			continue
		}
		out = append(out, id)
	}
	clear(ids[len(out):])
	m.nbrBuf = out[:0]
	return out
}

// sampleNeighbors appends up to k distinct live neighbours other than skip
// to dst.
func (m *Memberlist) sampleNeighbors(dst []core.NodeID, k int, skip *member) []core.NodeID {
	ids := m.liveNeighbors(skip)
	return core.SampleDistinct(dst, k, len(ids), m.rng, func(i int) core.NodeID { return ids[i] })
}

// probeCandidate reports whether t may be probed now: live, and a
// neighbour when traffic is confined to neighbours.
func (m *Memberlist) probeCandidate(t *member) bool {
	if t == nil || t.removed || !t.state.Live() {
		return false
	}
	return m.cfg.Neighbors == nil || m.cfg.Neighbors.IsNeighbor(t.id)
}

// rebuildProbeOrder refills the round-robin order with every live member,
// or every live neighbour when traffic is confined to neighbours.
func (m *Memberlist) rebuildProbeOrder() {
	clear(m.probeOrder)
	m.probeOrder = m.probeOrder[:0]
	if m.cfg.Neighbors == nil {
		m.probeOrder = append(m.probeOrder, m.live...)
	} else {
		for _, id := range m.liveNeighbors(nil) {
			m.probeOrder = append(m.probeOrder, m.members.get(m.all, id))
		}
	}
	m.rng.Shuffle(len(m.probeOrder), func(i, j int) {
		m.probeOrder[i], m.probeOrder[j] = m.probeOrder[j], m.probeOrder[i]
	})
	m.probeIdx = 0
}

// ReportUnreachable is the owner's evidence that the live member id
// stopped answering it (an overlay keepalive that went unanswered for
// seconds). With Config.Neighbors set such a neighbour is dropped from
// the overlay's view and would no longer be probed by anyone who dropped
// it, so it is probed out of turn, once, although no longer a neighbour:
// a ping, then ping-reqs through neighbours, with Lifeguard's care, and a
// suspicion only if that probe fails. (Suspecting it at once would turn
// every keepalive missed on a busy host into an accusation.) It reports
// whether a probe was scheduled.
func (m *Memberlist) ReportUnreachable(id core.NodeID) bool {
	t := m.members.get(m.all, id)
	if t == nil || t.removed || !t.state.Live() || m.left || id == m.cfg.ID {
		return false
	}
	if m.probe.active && m.probe.target == t {
		return false
	}
	if !m.queueUnreachable(t) {
		return false
	}
	m.stats.Unreachable++
	return true
}

// maxUnreachable bounds the members waiting for an out-of-turn probe after
// ReportUnreachable: one active view's worth (when a fifth of a group
// crashes at once, each member loses about three neighbours together, and
// each needs its probe: nobody else may be probing it any more).
const maxUnreachable = 16

// queueUnreachable adds t to the members to probe out of turn, unless it
// is there already; when the queue is full the oldest entry is dropped
// (UnreachableDropped).
func (m *Memberlist) queueUnreachable(t *member) bool {
	for _, u := range m.unreachable {
		if u == t {
			return false
		}
	}
	if len(m.unreachable) >= maxUnreachable {
		m.unreachable = m.unreachable[1:]
		m.stats.UnreachableDropped++
	}
	m.unreachable = append(m.unreachable, t)
	return true
}

// nextUnreachable takes the oldest member still live from the queue of
// ReportUnreachable.
func (m *Memberlist) nextUnreachable() *member {
	for len(m.unreachable) > 0 {
		u := m.unreachable[0]
		m.unreachable[0] = nil
		m.unreachable = m.unreachable[1:]
		if len(m.unreachable) == 0 {
			m.unreachable = nil
		}
		if !u.removed && u.state.Live() && u.id != m.cfg.ID {
			return u
		}
	}
	return nil
}
