package membership

import "github.com/grapevine-p2p/grapevine/core"

// A new member announces itself on the gossip frames it sends (authenticated
// mode). Package p2p takes in a message only once its origin is a member it
// knows (p2p/origins.go), so a member that publishes the moment it joined
// would have its first messages held by every member its alive update has
// not reached yet (until that arrives, or a round trip to ask the sender).
// Its alive travels by gossip, retransmitted a bounded number of times, and
// the tree push sends its first message to members chosen from its whole
// view, most of which have not heard of it. So for selfAnnounceTicks after
// Join, Piggyback puts this member's own signed alive on the first frame
// to each peer, ahead of the queued updates: whoever receives its first
// message directly learns it in the same frame. Members that relay it
// carry the alive in their own queue, as fresh news, first.

// selfAnnounceTicks is how long after Join this member announces itself
// on the first gossip frame to each peer (5 s at 100 ms ticks).
const selfAnnounceTicks = 50

// A member whose list is a sample (sample.go) announces itself this way
// all along, to each peer again every sampleAnnounceTicks: a peer that
// becomes its neighbour may never have kept its alive, and probes only the
// neighbours it knows.

// selfAnnounce arms the announcement (from Join in authenticated mode; from
// New and Join with a sampled list).
func (m *Memberlist) selfAnnounce() {
	if !m.authenticated() && !m.sampling() {
		return
	}
	m.announceUntil = m.tick + selfAnnounceTicks
	if m.sampling() {
		m.announceUntil = m.tick + sampleAnnounceTicks
	}
	clear(m.announcedTo)
}

// appendSelfAnnounce appends this member's alive to a gossip frame for to,
// once per peer while the announcement lasts and if it fits in room; it
// returns the frame and the room left.
func (m *Memberlist) appendSelfAnnounce(to core.NodeID, frame []byte, room int) ([]byte, int) {
	if m.announceUntil == 0 || m.left {
		return frame, room
	}
	if m.tick >= m.announceUntil {
		if m.sampling() {
			m.announceUntil = m.tick + sampleAnnounceTicks
			clear(m.announcedTo)
		} else {
			m.announceUntil = 0
			m.announcedTo = nil
			return frame, room
		}
	}
	if _, done := m.announcedTo[to]; done {
		return frame, room
	}
	s := m.self
	rec := appendAlive(nil, aliveOf(s))
	if len(rec) > room {
		return frame, room
	}
	if m.announcedTo == nil {
		m.announcedTo = make(map[core.NodeID]struct{})
	}
	m.announcedTo[to] = struct{}{}
	m.askStats.SelfAnnounced++
	return append(frame, rec...), room - len(rec)
}
