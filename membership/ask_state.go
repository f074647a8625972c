package membership

import "github.com/grapevine-p2p/grapevine/core"

// Asking one member for its view. The gossip layer of an adapter that
// refuses messages of origins it does not know (package p2p, issue 12's
// origin flood) holds such a message and asks the member that sent it for
// its full state: an honest member forwards only messages of origins it
// knows, so its state, sent after the message, names the origin (and this
// member learns it). A sender whose state came back without the origin is
// passing on messages of non-members. AskState sends the request (a
// push-pull exchange, rate-limited), StateSince tells whether the answer
// came, and Vouched whether it listed a member unknown here as dead or
// left (a member that departed before this one joined is not learned from
// another's state, but its last messages may still circulate).

// maxStateAsks bounds the members whose asks are remembered; asks older
// than stateAskMemory ticks are forgotten first, and while every
// remembered ask is younger no new one is made.
const (
	maxStateAsks   = 256
	stateAskMemory = 600
)

// stateAskSpacing is the fewest ticks between two asks (to any members),
// at least one tick per 20 members: a full state is the whole view (~500
// bytes a member, both ways), so a burst of senders to ask costs at most two
// exchanges a second, and at n = 1,000 one in 5 s (about 100 KB/s).
const stateAskSpacing = 5

// askSpacing is the current fewest ticks between two asks.
func (m *Memberlist) askSpacing() uint64 {
	return uint64(max(stateAskSpacing, m.Size()/20))
}

// maxDeparted bounds the departed members remembered from one answer.
const maxDeparted = 128

// stateAsk is one member asked for its state.
type stateAsk struct {
	asked    uint64 // tick of the last request
	answered uint64 // tick of the last state received after a request
	answer   bool   // answered is set
	// departed: members the answer listed as dead or left that this member
	// does not know (it learns no corpses from others' states); truncated
	// says more were listed than maxDeparted
	departed  map[core.NodeID]struct{}
	truncated bool
}

// AskStats are the counters of AskState, apart from Stats (the simulator's
// trace digests hash Stats).
type AskStats struct {
	Asked         uint64 // full-state requests sent by AskState
	Answered      uint64 // full states received from members asked
	SelfAnnounced uint64 // gossip frames this new member put its own alive on (self_announce.go)
	Limited       uint64 // requests not sent: asked within the gap, another sent within askSpacing ticks, or maxStateAsks remembered
}

// AskStats returns AskState's counters.
func (m *Memberlist) AskStats() AskStats { return m.askStats }

// AskState asks member id for its full state (and sends it this member's,
// as any push-pull exchange) unless it was asked within the last gap ticks
// or any member was asked within askSpacing ticks; it reports whether it
// asked. id
// need not be a known member (a peer that sent a message of its own before
// its alive update arrived answers with a state that includes itself).
func (m *Memberlist) AskState(id core.NodeID, gap int) bool {
	if id == m.cfg.ID || id == "" || m.left {
		return false
	}
	a := m.stateAsks[id]
	if (a != nil && m.tick < a.asked+uint64(gap)) || (m.askedAny && m.tick < m.lastAskTick+m.askSpacing()) {
		m.askStats.Limited++
		return false
	}
	if a == nil {
		if len(m.stateAsks) >= maxStateAsks {
			for k, old := range m.stateAsks {
				if old.asked+stateAskMemory < m.tick {
					delete(m.stateAsks, k)
				}
			}
			if len(m.stateAsks) >= maxStateAsks {
				m.askStats.Limited++
				return false
			}
		}
		if m.stateAsks == nil {
			m.stateAsks = make(map[core.NodeID]*stateAsk)
		}
		a = &stateAsk{}
		m.stateAsks[id] = a
	}
	a.asked = m.tick
	a.departed, a.truncated = nil, false
	m.askedAny, m.lastAskTick = true, m.tick
	m.askStats.Asked++
	m.sendState(id, stateRequest)
	return true
}

// StateSince reports whether a full state from member id arrived, after
// this member asked for it (AskState), within the last ticks ticks, and
// was recorded whole (its departed members all remembered).
func (m *Memberlist) StateSince(id core.NodeID, ticks int) bool {
	a := m.stateAsks[id]
	return a != nil && a.answer && !a.truncated && a.answered >= a.asked && a.answered+uint64(ticks) >= m.tick
}

// Vouched reports whether member from, asked for its state, listed member
// id as dead or left although this member does not know id: a member that
// failed or left before this one joined, whose messages from may still
// relay (its last ones, or history).
func (m *Memberlist) Vouched(from, id core.NodeID) bool {
	a := m.stateAsks[from]
	if a == nil {
		return false
	}
	_, ok := a.departed[id]
	return ok
}

// noteStateAnswer records a full state from a member this one asked
// (before its entries are applied).
func (m *Memberlist) noteStateAnswer(from core.NodeID) {
	if a := m.stateAsks[from]; a != nil {
		a.answered, a.answer = m.tick, true
		m.askStats.Answered++
	}
}

// noteDeparted records, after a state from an asked member was applied,
// the members it listed as dead or left that this member still does not
// know.
func (m *Memberlist) noteDeparted(from core.NodeID, entries []stateEntry) {
	a := m.stateAsks[from]
	if a == nil {
		return
	}
	for i := range entries {
		e := &entries[i]
		if (e.state != StateDead && e.state != StateLeft) || m.members.get(m.all, e.id) != nil {
			continue
		}
		if len(a.departed) >= maxDeparted {
			a.truncated = true
			return
		}
		if a.departed == nil {
			a.departed = make(map[core.NodeID]struct{})
		}
		a.departed[e.id] = struct{}{}
	}
}
