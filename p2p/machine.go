package p2p

import (
	"github.com/grapevine-p2p/grapevine"
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// machine is the pure state machine the driver owns: the gossip engine
// composed with membership. Every method runs on the driver goroutine.
type machine interface {
	Tick()
	NextDue() int // ticks until the next Tick that may act (grapevine.Node.NextDue)
	Step(from core.NodeID, raw []byte) error
	ReportLag(ticks int) // the driver ran behind by ticks ticks (lag.go)
	Publish(topic string, payload []byte, opts ...core.PublishOption) (*core.Message, error)
	Join(seeds []core.NodeID)
	Leave()
	SetMeta(meta []byte) error // this member's metadata (its addresses), announced anew
	Pending() int              // membership updates still to disseminate
	Members() []Member
	MemberCounts() [4]int // members by state in memberStates' order, tombstones included
	EngineStats() core.Stats
	GuardStats() grapevine.GuardStats // the Node's guard (grapevine/guard.go)
	GapsWaiting() bool                // gap wants not asked yet (core/gapwant.go)
	AskGaps()                         // ask them now
	AwaitingAnswers() bool            // tree bodies await an acknowledgement, IWANTs an answer (core/treeack.go)
	ResendUnanswered()                // resend those unanswered since the previous call
	MembershipStats() MembershipStats
	OverlayStats() OverlayStats
	IsNeighbor(id core.NodeID) bool // an overlay neighbour (false with the overlay off)
	IsMember(id core.NodeID) bool   // known to membership, in any state
	Neighbors() []core.NodeID
}

// Member states as reported by Members and the metrics.
const (
	StateAlive   = "alive"
	StateSuspect = "suspect"
	StateDead    = "dead"
	StateLeft    = "left"
)

var memberStates = []string{StateAlive, StateSuspect, StateDead, StateLeft}

// Member is one member of the group as this peer sees it.
type Member struct {
	ID          peer.ID
	State       string // alive, suspect, dead or left
	Incarnation uint64
	Addrs       []ma.Multiaddr // listen addresses the member advertises
	Self        bool
}

// EventKind says what happened to a member.
type EventKind string

// Membership event kinds.
const (
	EventJoin    EventKind = "join"    // a new member is alive
	EventUpdate  EventKind = "update"  // a member's addresses changed
	EventSuspect EventKind = "suspect" // a member failed a probe and is suspected
	EventAlive   EventKind = "alive"   // a suspected member refuted the suspicion
	EventFail    EventKind = "fail"    // a member was declared failed
	EventLeave   EventKind = "leave"   // a member left gracefully
	EventRejoin  EventKind = "rejoin"  // a failed or departed member is back
)

// Event is a membership change.
type Event struct {
	Kind   EventKind
	Member Member
}
