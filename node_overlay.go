package grapevine

import (
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/membership/overlay"
)

// A Node with Config.Overlay set runs three layers over one transport: the
// HyParView overlay (membership/overlay) keeps a small symmetric set of
// neighbours, the memberlist probes and gossips only with them
// (membership.Config.Neighbors), and the engine's peers are the neighbours
// too (overlayPeers is its PeerSampler): a node talks on its own initiative
// to about 2·⌈ln n⌉+8 peers, at most Overlay.ActiveMax, whatever the group
// size. The overlay's frames share the transport with the other layers'
// (its records live in membership's range), and any frame from a
// neighbour counts as its keepalive.
//
// The layers inform each other: the memberlist's size estimate sizes the
// active view; a member the memberlist declares failed or gone is dropped
// from the overlay at once (PeerDown) and never admitted again while dead;
// the overlay's neighbour changes bump the version the engine's Plumtree
// state and the memberlist's probe order follow.

// overlayPeers is the view of the overlay the other layers use: the
// engine's PeerSampler and NeighborLister, and the memberlist's Neighbors.
type overlayPeers struct {
	ov  *overlay.Overlay
	ml  *membership.Memberlist
	ver uint64 // bumped on every neighbour change
}

// Sample implements core.PeerSampler over the active view.
func (p *overlayPeers) Sample(dst []core.NodeID, k int) []core.NodeID { return p.ov.Sample(dst, k) }

// Size implements core.PeerSampler: the group size is the memberlist's
// (the engine's rounds and the overlay's target grow with it).
func (p *overlayPeers) Size() int { return p.ml.Size() }

// NeighborsVersion changes whenever the active view changes.
func (p *overlayPeers) NeighborsVersion() uint64 { return p.ver }

// AppendNeighbors appends the active view to dst.
func (p *overlayPeers) AppendNeighbors(dst []core.NodeID) []core.NodeID { return p.ov.Active(dst) }

// IsNeighbor implements membership.Neighbors.
func (p *overlayPeers) IsNeighbor(id core.NodeID) bool { return p.ov.IsActive(id) }

// newOverlay builds the overlay for cfg and wires it to ml. The caller's
// Accept, OnUp and OnDown are kept and called first.
func newOverlay(cfg *Config, peers *overlayPeers) (*overlay.Overlay, error) {
	oc := *cfg.Overlay
	oc.ID, oc.Transport = cfg.ID, cfg.Transport
	if oc.Rand == nil {
		oc.Seed = cfg.Seed
	}
	oc.SizeEstimate = func() int { return peers.ml.Size() }
	if oc.RandomPeer == nil {
		// The overlay's random links (RandomLinkTicks) go to a live member
		// drawn from the whole member list, which every part of a split
		// overlay still shares with the others through full-state exchanges.
		var buf [1]core.NodeID
		oc.RandomPeer = func() core.NodeID {
			if s := peers.ml.Sample(buf[:0], 1); len(s) == 1 {
				return s[0]
			}
			return ""
		}
	}
	accept, up, down := oc.Accept, oc.OnUp, oc.OnDown
	oc.Accept = func(id core.NodeID) bool {
		if accept != nil && !accept(id) {
			return false
		}
		if m, ok := peers.ml.Member(id); ok && (m.State == membership.StateDead || m.State == membership.StateLeft) {
			return false // declared failed or gone: not a neighbour until it rejoins
		}
		return true
	}
	oc.OnUp = func(id core.NodeID) {
		peers.ver++
		peers.ml.NeighborUp(id) // a sampled member list learns its neighbours first-hand
		if up != nil {
			up(id)
		}
	}
	oc.OnDown = func(id core.NodeID, why overlay.Reason) {
		peers.ver++
		if why == overlay.Failed {
			// Its keepalive went unanswered (or the adapter saw the
			// connection fail): this member's own evidence, as a failed
			// probe; without it nobody would probe a member that is no
			// longer anyone's neighbour.
			peers.ml.ReportUnreachable(id)
		}
		if down != nil {
			down(id, why)
		}
	}
	return overlay.New(oc)
}

// Overlay returns the overlay, or nil when Config.Overlay was not set.
func (n *Node) Overlay() *overlay.Overlay { return n.ov }

// overlayEvents wraps the membership event handler: a member declared
// failed or gone leaves the overlay's views at once.
func (n *Node) overlayEvents(next membership.EventHandler) membership.EventHandler {
	return membership.EventFunc(func(ev membership.Event) {
		if n.ov != nil && (ev.Kind == membership.EventFail || ev.Kind == membership.EventLeave) {
			n.ov.PeerDown(ev.Member.ID)
		}
		if next != nil {
			next.HandleEvent(ev)
		}
	})
}

// overlay returns p's overlay; nil for a nil p.
func (p *overlayPeers) overlay() *overlay.Overlay {
	if p == nil {
		return nil
	}
	return p.ov
}
