package membership

import "github.com/grapevine-p2p/grapevine/core"

// Silent neighbours first (Config.Neighbors only).
//
// Over an overlay each member is probed only by its neighbours, each of
// which goes round-robin over its own dozen or so: a crashed member is
// first probed after the least of a dozen uniform waits of a dozen
// periods, about one period on average but with an exponential tail (at
// n = 1,000 with 100 members crashed at once, the last of them was first
// suspected 6.8 s after its crash, testnet/cmd/stackexp). Yet a neighbour
// normally hears from each neighbour every few seconds (gossip, probes and
// the overlay's own keepalives, which start after a few seconds of
// silence), and a crashed one falls silent. So every other probe goes to
// the neighbour heard from, or probed, least recently, if that was at least
// a period ago: a crashed neighbour is probed by each of its neighbours
// within a few periods of its crash, while the round-robin, which keeps
// the other probes, still reaches every neighbour in turn. The cost is
// nothing: a probe is spent either way.

// nbrEvidence is when this member last heard from a neighbour (any frame)
// and last started a probe of it, in ticks.
type nbrEvidence struct{ heard, probed uint64 }

// noteHeard records a frame from a neighbour.
func (m *Memberlist) noteHeard(from core.NodeID) {
	if m.cfg.Neighbors == nil || !m.cfg.Neighbors.IsNeighbor(from) {
		return
	}
	if m.nbrSeen == nil {
		m.nbrSeen = make(map[core.NodeID]nbrEvidence)
	}
	e := m.nbrSeen[from]
	e.heard = m.tick
	m.nbrSeen[from] = e
}

// noteProbed records the start of a probe of t.
func (m *Memberlist) noteProbed(t *member) {
	if e, ok := m.nbrSeen[t.id]; ok {
		e.probed = m.tick
		m.nbrSeen[t.id] = e
	}
}

// silentNeighbor returns the live neighbour heard from or probed least
// recently, if that was at least a protocol period ago, or nil. Entries of
// members that are no longer neighbours are dropped on the way; a new
// neighbour starts as heard now.
func (m *Memberlist) silentNeighbor() *member {
	if m.cfg.Neighbors == nil {
		return nil
	}
	ids := m.liveNeighbors(nil)
	if len(m.nbrSeen) > 2*len(ids)+16 {
		keep := make(map[core.NodeID]nbrEvidence, len(ids))
		for _, id := range ids {
			if e, ok := m.nbrSeen[id]; ok {
				keep[id] = e
			}
		}
		m.nbrSeen = keep
	}
	var best *member
	bestAt := m.tick
	for _, id := range ids {
		e, ok := m.nbrSeen[id]
		if !ok {
			if m.nbrSeen == nil {
				m.nbrSeen = make(map[core.NodeID]nbrEvidence)
			}
			m.nbrSeen[id] = nbrEvidence{heard: m.tick}
			continue
		}
		at := max(e.heard, e.probed)
		if at < bestAt {
			if mem := m.members.get(m.all, id); mem != nil {
				best, bestAt = mem, at
			}
		}
	}
	if best == nil || m.tick-bestAt < uint64(m.cfg.ProbeInterval) {
		return nil
	}
	return best
}
