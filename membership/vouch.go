package membership

import (
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// Relays vouch for a new member's first messages (authenticated mode).
//
// Package p2p takes in a message only once its origin is a member it knows
// (p2p/origins.go); until then the message is held. A new member puts its
// own alive on its first frame to each peer (self_announce.go), but its
// message is relayed further by members whose frames carry its alive only
// while the update is fresh in their queue: the retransmission limit
// (RetransmitMult·log10(n+1) frames) is spent within the first burst of a
// relay's frames, so members two hops or more from the newcomer often got
// its message before its alive and held it until the alive came by another
// frame (at N = 50 over QUIC, a third of the group, 30-135 ms late).
//
// So a member that learned of a newcomer from the newcomer's own alive
// update keeps a note of it for vouchTicks, and while the note lasts every
// frame it sends with one of the newcomer's messages carries the
// newcomer's signed alive too, once per peer: the receiver checks it like
// any alive update (signature, admission) before the message, which then
// passes the origin check. The alive is the newcomer's own signed claim,
// which any member may forward already; vouching adds no trust, only
// timing. Cost: one alive (about 110 bytes) per peer a relay forwards the
// newcomer's messages to, within vouchTicks of the join; nothing otherwise.

const (
	// vouchTicks is how long after learning of a new member a relay
	// vouches for it (5 s at 100 ms ticks, as long as a newcomer announces
	// itself).
	vouchTicks = selfAnnounceTicks
	// maxVouchJoins bounds the notes of recent joins; beyond it the oldest
	// is dropped (VouchStats.JoinsDropped): a join storm's later members
	// fall back to being held until their alive arrives.
	maxVouchJoins = 32
	// maxVouchPeers bounds the peers a note remembers having vouched to;
	// beyond it, vouching for that member stops (VouchStats.PeersFull).
	maxVouchPeers = 64
)

// VouchStats are the counters of vouching (kept apart from Stats, which the
// simulator's trace digests hash).
type VouchStats struct {
	Vouched      uint64 // alive updates of recent joiners put on frames with their messages
	NoRoom       uint64 // vouches left out: the frame had no room for the alive
	PeersFull    uint64 // vouches left out: the note had vouched to maxVouchPeers peers already
	JoinsDropped uint64 // notes of recent joins dropped for room (maxVouchJoins)
}

// VouchStats returns the counters of vouching.
func (m *Memberlist) VouchStats() VouchStats { return m.vouchStats }

// recentJoin is the note of one member that joined a moment ago.
type recentJoin struct {
	id core.NodeID
	at uint64        // tick the join was learned
	to []core.NodeID // peers vouched to, ≤ maxVouchPeers
}

// noteJoin notes that member id joined (its own alive update, not a full
// state: a joiner's whole view is no news to the group).
func (m *Memberlist) noteJoin(id core.NodeID) {
	if !m.authenticated() {
		return
	}
	m.expireJoins()
	if len(m.recentJoins) >= maxVouchJoins {
		m.recentJoins = slices.Delete(m.recentJoins, 0, 1)
		m.vouchStats.JoinsDropped++
	}
	m.recentJoins = append(m.recentJoins, recentJoin{id: id, at: m.tick})
}

// expireJoins drops the notes older than vouchTicks (oldest first).
func (m *Memberlist) expireJoins() {
	i := 0
	for i < len(m.recentJoins) && m.recentJoins[i].at+vouchTicks <= m.tick {
		i++
	}
	if i > 0 {
		m.recentJoins = slices.Delete(m.recentJoins, 0, i)
	}
	if len(m.recentJoins) == 0 {
		m.recentJoins = nil
	}
}

// Vouch implements core.OriginVoucher: for each origin of the frame's
// bodies that joined within vouchTicks and is still alive, it appends the
// origin's signed alive, once per peer.
func (m *Memberlist) Vouch(to core.NodeID, origins []core.NodeID, frame []byte, room int) []byte {
	if len(m.recentJoins) == 0 {
		return frame
	}
	m.expireJoins()
	for i := range m.recentJoins {
		j := &m.recentJoins[i]
		if j.id == to || !slices.Contains(origins, j.id) || slices.Contains(j.to, to) {
			continue
		}
		mem := m.members.get(m.all, j.id)
		if mem == nil || mem.state != StateAlive || mem.sig() == nil {
			continue
		}
		if len(j.to) >= maxVouchPeers {
			m.vouchStats.PeersFull++
			continue
		}
		rec := appendAlive(nil, aliveOf(mem))
		if len(rec) > room {
			m.vouchStats.NoRoom++
			continue
		}
		frame, room = append(frame, rec...), room-len(rec)
		j.to = append(j.to, to)
		m.vouchStats.Vouched++
	}
	return frame
}
