package p2p

import (
	"context"
	"errors"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership/overlay"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// WithOverlay turns the bounded overlay on or off (off by default for now;
// see doc.go, "Bounded overlay"). On, a peer keeps connections to the
// neighbours of a HyParView overlay (membership/overlay): it asks for
// 2·⌈ln n⌉+8 of them, at most 12, and accepts up to 16, whatever the group
// size n. SWIM probes
// them, gossip travels over them, and a connection to any other member is
// closed once it has been idle a few seconds. Off, a peer connects to
// every member it talks to, up to the connection manager's limits (fine
// up to about a hundred members).
//
// With the overlay on and no WithConnLimits, the connection manager's
// water marks are 24 and 32 (neighbours are protected from its trimming).
func WithOverlay(on bool) Option { return func(s *settings) error { s.overlay = on; return nil } }

// WithOverlayBudget sets the overlay's connection budget: the active view
// holds at most max neighbours (default 16), asks for more with high
// priority below max/2 and with low priority up to max−max/4. It implies
// nothing about WithOverlay.
//
// Every neighbour costs a QUIC or TCP connection's state and timers, its
// keepalives and Plumtree's announcements, at all times. Where CPU is
// scarce, a smaller budget leaves headroom for bursts of messages: on
// one 2-core machine, 500 peers at the default budget fell into a storm of
// false suspicions, and at a budget of 6 (GossipSub's number of
// connections) delivered every message with none
// (docs/benchmarks/ladder.md, session 24). HyParView's own evaluation
// used an active view of 5 at 10,000 nodes.
func WithOverlayBudget(max int) Option {
	return func(s *settings) error {
		if max < 2 || max > 64 {
			return errors.New("overlay budget must be within [2, 64]")
		}
		s.overlayMax = max
		return nil
	}
}

const (
	// neighborTag protects a neighbour's connection from the connection
	// manager's trimming.
	neighborTag = "grapevine-neighbor"
	// lingerAfterDown is how long a connection to a former neighbour stays
	// open, so the frames queued for it (the DISCONNECT that ended the
	// link) are written first.
	lingerAfterDown = 2 * time.Second
	// idleNonNeighbor is how long a connection to a member that is not a
	// neighbour may sit unused before it is closed: long enough for a
	// probe's ping-req round, a shuffle reply or a join to finish.
	idleNonNeighbor = 10 * time.Second
	// overlayConnLow and overlayConnHigh are the connection manager's
	// water marks with the overlay on: the active view (at most 16) plus
	// room for short-lived connections.
	overlayConnLow, overlayConnHigh = 24, 32
)

// OverlayProfile returns the overlay configuration a p2p peer runs with
// WithOverlay (activeMax is WithOverlayMax; 0 keeps the package's), without
// the peer's identity, transport and callbacks: what the simulator runs to
// measure the same protocol at sizes one machine cannot host
// (testnet/cmd/stackexp).
func OverlayProfile(activeMax int) overlay.Config {
	oc := overlay.DefaultConfig()
	// A neighbour silent for 30 s (not the package's 3 s) is dropped: a
	// link is only a libp2p stream over a host that may be busy, and a
	// link dropped too early costs a dial and a handshake to replace;
	// SWIM, not the overlay, is what declares members failed (and probes
	// a neighbour it has not heard from out of turn: membership/silent.go).
	oc.FailTicks = 300
	// A silent neighbour is pinged after 10 s (then every 5 s) by the end
	// of the link with the smaller ID, after 20 s by the other: any frame
	// counts as a keepalive. The package's 1 s made keepalives the bulk of
	// an idle peer's traffic (16 of its 18 frames a second with 16
	// neighbours, p2pscale -n 50); 3 s still made them half of it:
	// stackexp -n 200 / 1,000 sent 7.2 frames per node a second while
	// idle with 3 s and 9 s, 3.7 / 3.8 with 10 s and 30 s, for the same
	// delivery, latency and detection, and at N = 50 on real hosts the
	// CPU of a peer publishing once a second fell by 15-24 % (docs/
	// benchmarks/ladder.md, session 15). Crashes are SWIM's to find:
	// neighbours probe each member about once a second. (FailTicks must
	// exceed twice KeepaliveTicks: with 6 s and 3 s the second end never
	// pinged before dropping a link the first end had forgotten, and 1.6
	// links a minute per idle peer were dropped as failed and replaced,
	// p2pscale -n 100.)
	oc.KeepaliveTicks = 100
	// A shuffle every 30 s, not the package's 10 s: its walk of up to
	// six hops and its answer made a quarter of an idle peer's frames
	// (stackexp -n 1000: 0.8 of 3.1 a second), and here the passive view
	// is not the only source of replacements (a refill may draw from the
	// whole member list, which SWIM keeps current). stackexp -n 1000,
	// seeds 1-2 and seed 3 with 20 % crashed: idle frames 3.1 -> 2.7 per
	// node a second; delivery, latency and the time until every survivor
	// held every victim failed (6.8 / 6.9 / 10.4 s -> 7.3 / 7.0 / 9.9 s)
	// within the seeds' spread (docs/benchmarks/ladder.md, session 22).
	oc.ShuffleTicks = 300
	// Connections are what a link costs here, so the overlay opens as few
	// as it can while idle: the end of a shuffle's walk answers only a
	// neighbour, and a peer with at least ActiveMin neighbours asks for
	// more one at a time, waiting up to a minute after rejections. Idle
	// churn at N = 100 (p2pscale -n 100 -quick, idle minute): connections
	// opened per peer 20.6 → see docs/overlay.md.
	oc.ShuffleReplyToNeighbors = true
	oc.LowPriorityPending = 1
	oc.FillBackoffMax = 600
	// A NEIGHBOR request may need a dial, a QUIC or TCP handshake and
	// identify before its answer can come back: 3 s, not the package's
	// 1 s, before the target is given up and dropped from the passive
	// view (a timeout there is one more link to look for elsewhere).
	oc.RequestTimeout = 30
	// The neighbours of a member that crashed learn of it within the
	// same half second (SWIM's declaration spreads fast); each replaces
	// it within a second, not at once, so that their dials and
	// handshakes do not all fall into that moment.
	oc.RefillJitterTicks = 10
	if activeMax > 0 {
		oc.ActiveMax, oc.ActiveMin = activeMax, max(1, activeMax/2)
		oc.PassiveMax = max(oc.PassiveMax, 6*activeMax)
	}
	// Aim at a quarter fewer neighbours than the budget (12 of 16) and
	// accept up to it: with aim and cap equal, a grown group is saturated, every
	// joiner's links are made by evicting others' neighbours, and those
	// look for a new one among nodes that are nearly all full. stackexp
	// -n 1000 -join-rate 2 (1,000 nodes joining 20 a second), per node
	// while joining, seeds 1 and 2: NEIGHBOR requests 22.6 / 21.5 →
	// 4.7 / 4.8, rejected 20.0 / 19.1 → 2.4 / 2.5, links up 21.2 / 20.9 →
	// 20.8 / 20.9; the median view is still 16 (joins fill nodes up to the
	// cap), the smallest 11 rather than 8. A member that loses a neighbour
	// while above its aim looks for none. p2pscale -n 300 -quick -gap
	// 40ms: connections opened per peer while forming 59.0 → 46.8, in an
	// idle minute 1.7 → 0.0 (docs/benchmarks/ladder.md, session 23).
	oc.ActiveSlack = oc.ActiveMax / 4
	// A join walk that ends at a member holding its aim splices the
	// joiner into one of its links (membership/overlay/splice.go), which
	// brings the joiner two neighbours: half the aim in walks. stackexp
	// -n 1000 -join-rate 2, seeds 1 and 2: the median view 15 → 12 (the
	// smallest 11 → 12), links up per node while joining 20.6 → 22.5,
	// no NEIGHBOR request rejected; delivery, latency and detection as
	// before (docs/benchmarks/ladder.md, session 23).
	oc.JoinWalks = max(1, (oc.ActiveMax-oc.ActiveSlack)/2)
	return oc
}

// overlayConfig is the overlay's configuration for this peer:
// OverlayProfile; only valid libp2p peer IDs that are not penalized may enter a
// view; neighbour changes tag, dial and untag connections.
func overlayConfig(p *Peer) *overlay.Config {
	oc := OverlayProfile(p.s.overlayMax)
	oc.Accept = func(id core.NodeID) bool {
		pid, err := PeerID(id)
		return err == nil && pid != p.host.ID() && !p.tr.penalizedPeer(pid)
	}
	oc.OnUp = p.neighborUp
	oc.OnDown = func(id core.NodeID, _ overlay.Reason) { p.neighborDown(id) }
	return &oc
}

// neighborUp protects the connection to a new neighbour and opens it (and
// its streams) ahead of the first frame (driver goroutine).
func (p *Peer) neighborUp(id core.NodeID) {
	pid, err := PeerID(id)
	if err != nil {
		return
	}
	delete(p.lingering, pid)
	p.joinedOnce.Do(func() { close(p.joined) }) // a message published now is pushed at once
	p.host.ConnManager().TagPeer(pid, neighborTag, 100)
	p.predial(pid)
}

// neighborDown unprotects a former neighbour's connection; it is kept at
// least lingerAfterDown (the DISCONNECT that ended the link is written
// first), then like any other member's (sweepConns): closed once idle
// when the peer holds more than its budget. Closing every former
// neighbour's at once made each change of the active view cost a
// handshake when the link came back (driver goroutine).
func (p *Peer) neighborDown(id core.NodeID) {
	pid, err := PeerID(id)
	if err != nil {
		return
	}
	p.host.ConnManager().UntagPeer(pid, neighborTag)
	p.lingering[pid] = time.Now().Add(lingerAfterDown)
}

// sweepConns closes connections the overlay does not need (driver
// goroutine, once a second): while the peer holds more than connBudget
// connections, those to
// group members (or peers Grapevine exchanged frames with) that are not
// neighbours and have been idle for idleNonNeighbor, seeds included (a
// seed would otherwise keep a connection from every member that joined
// through it). Below the mark an idle connection is kept: the next probe
// answer or neighbour request to that member then costs no handshake.
// Connections to peers outside the group (the DHT, relays) are left to
// the connection manager.
func (p *Peer) sweepConns() {
	if !p.s.overlay {
		return
	}
	now := time.Now()
	for pid, at := range p.lingering {
		if !now.Before(at) {
			delete(p.lingering, pid)
		}
	}
	net := p.host.Network()
	peers := net.Peers()
	excess := len(peers) - p.connBudget()
	for _, pid := range peers {
		if excess <= 0 {
			break
		}
		id := NodeID(pid)
		if p.mc.IsNeighbor(id) || p.lingering[pid] != (time.Time{}) {
			continue
		}
		if !p.mc.IsMember(id) && !p.tr.known(pid) {
			continue
		}
		if p.tr.usedSince(pid, now.Add(-idleNonNeighbor)) {
			continue
		}
		young := false
		for _, c := range net.ConnsToPeer(pid) {
			if now.Sub(c.Stat().Opened) < idleNonNeighbor {
				young = true
			}
		}
		if !young {
			p.closeConns(pid)
			excess--
		}
	}
}

// connSlack is how many idle connections to non-neighbours a peer with a
// full active view keeps (below that, sweepConns trims none). Each costs a
// QUIC connection's state and three goroutines; keeping one saves a
// handshake only if the member is needed again (a ping-req, a neighbour
// request). bench at N = 50 (docs/benchmarks/ladder.md, session 16): with
// 2 rather than 8, 17 connections per peer rather than 22-23, heap -12 %,
// goroutines -16 %, the same handshakes (connections opened) and CPU,
// and no change in the silent-crash tail beyond its usual spread.
const connSlack = 2

// connBudget is the number of connections kept without trimming idle
// ones to non-neighbours: the overlay's budget plus connSlack (18 by
// default).
func (p *Peer) connBudget() int {
	m := p.s.overlayMax
	if m == 0 {
		m = overlay.DefaultConfig().ActiveMax
	}
	return m + connSlack
}

// closeConns closes the connections to pid in the background (closing
// waits for the remote's acknowledgement on some transports) and counts it.
func (p *Peer) closeConns(pid peer.ID) {
	if p.host.Network().Connectedness(pid) != network.Connected {
		return
	}
	p.ctr.connsTrimmed.Add(1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.host.Network().ClosePeer(pid)
	}()
}

// Neighbors returns the peer's current overlay neighbours (nil with the
// overlay off).
func (p *Peer) Neighbors() []peer.ID {
	var out []peer.ID
	_ = p.call(context.Background(), func() {
		for _, id := range p.mc.Neighbors() {
			if pid, err := PeerID(id); err == nil {
				out = append(out, pid)
			}
		}
	})
	return out
}

// known reports whether the transport holds state for id (frames were
// sent to or received from it recently).
func (t *transport) known(id peer.ID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.remotes[id] != nil
}

// usedSince reports whether a frame was queued for id, or written to it,
// at or after since.
func (t *transport) usedSince(id peer.ID, since time.Time) bool {
	t.mu.Lock()
	r := t.remotes[id]
	t.mu.Unlock()
	if r == nil {
		return false
	}
	s := since.UnixNano()
	return r.last.Load() >= s || r.used[0].Load() >= s || r.used[1].Load() >= s
}

// addrWait is how long a writer waits for the addresses of a peer it has
// no connection to and no address for. With the overlay a node is asked to
// link up with a joiner it has only heard of (a join walk ends at it)
// before membership's gossip brings the joiner's addresses; without the
// wait the offer would be dropped at once.
const addrWait = 3 * time.Second

// awaitAddrs waits, up to addrWait, until id is connected or has an
// address in the peerstore, loading a member's (member_addrs.go) (writer
// goroutine).
func (t *transport) awaitAddrs(id peer.ID) {
	h := t.p.host
	for deadline := time.Now().Add(addrWait); time.Now().Before(deadline); {
		if h.Network().Connectedness(id) == network.Connected || t.p.loadAddrs(id) {
			return
		}
		t.p.ctr.addrWaits.Add(1)
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
