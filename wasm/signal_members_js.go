//go:build js && wasm

package wasm

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// SignalStats count the WebRTC signalling exchanges other tabs asked this
// tab to answer (through a native relay).
type SignalStats struct {
	Answered uint64 // exchanges answered with this tab's SDP
	// Refused: the caller or the relay was not a current (alive or
	// suspect) member in this tab's view; nothing but the refusal was sent.
	Refused uint64
	Busy    uint64 // reset unread: all handshake slots, or the relay's share of them, were taken
}

// SignalStats returns the signalling counters (zero without WebRTC).
func (n *Node) SignalStats() SignalStats {
	if n.rtc == nil {
		return SignalStats{}
	}
	return SignalStats{Answered: n.rtc.sig.answered.Load(), Refused: n.rtc.sig.refused.Load(), Busy: n.rtc.sig.busy.Load()}
}

// allowSignalling lets the WebRTC transport answer exchanges whose caller
// and relay are both current members of the group in this tab's
// membership view. In a group with an authority (WithGroupAuthority) that
// view holds only peers admitted by certificate, so the check is the
// certificate check too. A relay must be a member as well: the relay names
// the caller, and a non-member relay could name a member to learn this
// tab's addresses.
func (n *Node) allowSignalling() {
	if n.rtc == nil {
		return
	}
	allow := func(caller, relay peer.ID) bool {
		ok := 0
		for _, m := range n.Peer.Members() {
			if m.Self || (m.ID != caller && m.ID != relay) {
				continue
			}
			if m.State == p2p.StateAlive || m.State == p2p.StateSuspect {
				if m.ID == caller {
					ok |= 1
				}
				if m.ID == relay {
					ok |= 2
				}
			}
		}
		return ok == 3
	}
	n.rtc.allow.Store(&allow)
}
