//go:build js && wasm

package wasm

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// SignalStats count the WebRTC signalling exchanges (/webrtc-signaling/0.0.1)
// other tabs opened to this tab over relayed connections, and what the
// tab's WebRTC connections dropped.
type SignalStats struct {
	Answered uint64 // exchanges that ended in a WebRTC connection
	// Refused: not over a relayed connection, or the caller or the relay
	// was not a current (alive or suspect) member in this tab's view; the
	// stream was reset before anything was read or sent.
	Refused uint64
	Busy    uint64 // reset unread: all exchange slots, or the relay's share of them, were taken
	Failed  uint64 // exchanges that broke off (bad message, timeout, ICE failure)
	// Dropped: streams reset because the connection's accept backlog was
	// full, data channels closed because the connection's unread bytes
	// reached their bound, and local ICE candidates not sent because the
	// signalling stream's queue was full.
	Dropped uint64
	// Relays is the number of native relays holding a reservation for
	// this tab now (the tab advertises a /p2p-circuit/webrtc address
	// through each).
	Relays int
}

// SignalStats returns the signalling counters (zero without WebRTC).
func (n *Node) SignalStats() SignalStats {
	if n.rtc == nil {
		return SignalStats{}
	}
	return SignalStats{Answered: n.rtc.sig.answered.Load(), Refused: n.rtc.sig.refused.Load(), Busy: n.rtc.sig.busy.Load(),
		Failed: n.rtc.sig.failed.Load(), Dropped: n.rtc.drops.Load(), Relays: n.rtc.res.count()}
}

// allowSignalling lets the WebRTC transport answer exchanges whose caller
// and relay are both current members of the group in this tab's
// membership view. In a group with an authority (WithGroupAuthority) that
// view holds only peers admitted by certificate, so the check is the
// certificate check too. The caller is the relayed connection's peer,
// authenticated by Noise end to end, so a relay cannot pass a stranger
// off as a member; the relay must be a member as well, so that tabs
// signal only through the group's own natives (a stranger's relay would
// learn who connects to whom). The same membership test picks the relays
// a tab reserves on beyond its bootstrap peers.
//
// With anyone (Options.WebRTCFromNonMembers) every caller is answered.
func (n *Node) allowSignalling(anyone bool) {
	if n.rtc == nil {
		return
	}
	allow := func(caller, relay peer.ID) bool {
		if anyone {
			return true
		}
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
	member := func(id peer.ID) bool {
		for _, m := range n.Peer.Members() {
			if m.ID == id && !m.Self {
				return m.State == p2p.StateAlive || m.State == p2p.StateSuspect
			}
		}
		return false
	}
	n.rtc.member.Store(&member)
}
