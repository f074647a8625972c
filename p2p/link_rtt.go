package p2p

import (
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/quic-go/quic-go"

	"github.com/grapevine-p2p/grapevine/core"
)

// The round trip of each member's link, as QUIC measures it, for the
// engine's timing of first asks (core.LinkSpeeds, core.Config.
// IWantFastCalls). A body announced over a link whose round trip is well
// under the driver's interval between answer calls (treeAckWait: 10 ms on
// a LAN) and still missing when the announcement arrives is overdue: the
// announcer got it a fraction of a millisecond away and waited its own two
// calls before announcing. Over such links the first ask goes one call
// after the announcement instead of three. Links over other transports
// (TCP, WebRTC, WebTransport) report no round trip and keep the three.

// linkRTTEvery is how often a member's round trip is read again from its
// QUIC connection (an atomic load; finding the connection takes the
// swarm's lock).
const linkRTTEvery = time.Second

// fastLinkShare: a link is fast when its smoothed round trip is under
// this share of treeAckWait.
const fastLinkShare = 4

type linkRTT struct {
	at  atomic.Int64 // unix nanos of the last reading; 0: never read
	rtt atomic.Int64 // nanoseconds; 0: unknown
}

// FastLink implements core.LinkSpeeds (called by the driver goroutine).
func (m *nodeMachine) FastLink(id core.NodeID) bool { return m.p.tr.fastLink(peer.ID(id)) }

func (t *transport) fastLink(id peer.ID) bool {
	t.mu.Lock()
	r := t.remotes[id]
	t.mu.Unlock()
	if r == nil {
		return false
	}
	rtt := t.linkRTT(r, time.Now())
	return rtt > 0 && rtt < treeAckWait(t.p.s.profile)/fastLinkShare
}

// linkRTT returns the smoothed round trip of r's QUIC connection, read
// again once it is older than linkRTTEvery (0 when none is open).
func (t *transport) linkRTT(r *remote, now time.Time) time.Duration {
	if now.UnixNano()-r.rtt.at.Load() < int64(linkRTTEvery) {
		return time.Duration(r.rtt.rtt.Load())
	}
	var best time.Duration
	for _, c := range t.p.host.Network().ConnsToPeer(r.id) {
		var qc *quic.Conn
		if !c.As(&qc) || qc == nil {
			continue
		}
		if d := qc.ConnectionStats().SmoothedRTT; d > 0 && (best == 0 || d < best) {
			best = d
		}
	}
	r.rtt.rtt.Store(int64(best))
	r.rtt.at.Store(now.UnixNano())
	return best
}
