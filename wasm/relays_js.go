//go:build js && wasm

package wasm

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"
)

// A tab is reachable for WebRTC through the native peers it holds a
// circuit relay v2 reservation on (libp2p/specs relay/circuit-v2.md):
// it advertises <relay address>/p2p/<relay>/p2p-circuit/webrtc for each
// relay whose reservation is current, refreshes it before it expires,
// and withdraws the address when a refresh fails (retrying with backoff).
// A relay that fails relayGiveUp times in a row is dropped, and the tab
// reserves on another: first the bootstrap peers, then any member it is
// connected to whose identify lists the relay service (hop) protocol, so
// a tab whose bootstrap peers all went stays reachable through the
// natives that remain.

const (
	// maxRelays is how many relays a tab reserves on: two keep it
	// reachable when one goes, without holding slots on every native.
	maxRelays = 2
	// reserveRetryMin and reserveRetryMax bound the backoff between
	// failed reservation attempts on one relay.
	reserveRetryMin = 5 * time.Second
	reserveRetryMax = 2 * time.Minute
	reserveTimeout  = 15 * time.Second
	// relayGiveUp: consecutive failures after which a relay is dropped.
	relayGiveUp = 2
	// relayFillEvery is how often the tab looks for a relay to replace
	// one it dropped.
	relayFillEvery = 10 * time.Second
)

// hopProtocol is the relay service's protocol (circuit relay v2, HOP).
const hopProtocol = "/libp2p/circuit/relay/0.2.0/hop"

type reservations struct {
	t      *rtcTransport
	mu     sync.Mutex
	held   map[peer.ID][]ma.Multiaddr // relay → the addresses advertised through it
	order  []peer.ID
	wakeup map[peer.ID]chan struct{}
	prefer []peer.AddrInfo // the bootstrap peers, tried first
	// dropped: when each relay was last dropped; fill skips it for
	// reserveRetryMax after.
	dropped map[peer.ID]time.Time
	filler  sync.Once
	notify  *network.NotifyBundle
	wg      sync.WaitGroup
	// closeTimeouts counts closes that stopped waiting for a keeper (each
	// also warns on the console: the node is gone by then).
	closeTimeouts atomic.Uint64
}

func newReservations(t *rtcTransport) *reservations {
	r := &reservations{t: t, held: map[peer.ID][]ma.Multiaddr{}, wakeup: map[peer.ID]chan struct{}{},
		dropped: map[peer.ID]time.Time{}}
	// A relay's reservation ends with our connection to it: re-reserve
	// (which redials) at once instead of at the next refresh.
	r.notify = &network.NotifyBundle{DisconnectedF: func(n network.Network, c network.Conn) {
		r.mu.Lock()
		ch := r.wakeup[c.RemotePeer()]
		r.mu.Unlock()
		if ch != nil && n.Connectedness(c.RemotePeer()) != network.Connected {
			wake(ch)
		}
	}}
	t.h.Network().Notify(r.notify)
	return r
}

// useRelays reserves a slot on up to maxRelays relays, relays (native
// peers the tab bootstrapped from, the one that answered first first)
// before others, and keeps the reservations.
func (t *rtcTransport) useRelays(relays []peer.AddrInfo) {
	r := t.res
	r.mu.Lock()
	r.prefer = append([]peer.AddrInfo(nil), relays...)
	r.mu.Unlock()
	r.fill()
	r.filler.Do(func() {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			tick := time.NewTicker(relayFillEvery)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					r.fill()
				case <-t.ctx.Done():
					return
				}
			}
		}()
	})
}

// fill starts keeping reservations until maxRelays relays are kept: the
// preferred ones first, then connected members that run the relay
// service.
func (r *reservations) fill() {
	h := r.t.h
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.order) >= maxRelays || r.t.ctx.Err() != nil {
		return
	}
	cands := append([]peer.AddrInfo(nil), r.prefer...)
	member := r.t.member.Load()
	for _, p := range h.Network().Peers() {
		if member == nil || !(*member)(p) || h.Network().Connectedness(p) != network.Connected {
			continue
		}
		if ok, _ := h.Peerstore().SupportsProtocols(p, hopProtocol); len(ok) > 0 {
			cands = append(cands, peer.AddrInfo{ID: p, Addrs: h.Peerstore().Addrs(p)})
		}
	}
	for _, ai := range cands {
		if len(r.order) >= maxRelays {
			break
		}
		if _, ok := r.wakeup[ai.ID]; ok || ai.ID == h.ID() {
			continue
		}
		if at, ok := r.dropped[ai.ID]; ok && time.Since(at) < reserveRetryMax {
			continue
		}
		ch := make(chan struct{}, 1)
		r.wakeup[ai.ID] = ch
		r.order = append(r.order, ai.ID)
		r.wg.Add(1)
		go r.keep(ai, ch)
	}
}

// drop forgets relay (its keeper gave up); fill may pick another.
func (r *reservations) drop(relay peer.ID) {
	r.set(relay, nil)
	r.mu.Lock()
	delete(r.wakeup, relay)
	r.dropped[relay] = time.Now()
	r.order = slices.DeleteFunc(r.order, func(id peer.ID) bool { return id == relay })
	r.mu.Unlock()
}

// keep holds a reservation on relay until the transport closes, or drops
// the relay after relayGiveUp failures in a row.
func (r *reservations) keep(relay peer.AddrInfo, wakeup chan struct{}) {
	defer r.wg.Done()
	backoff := reserveRetryMin
	fails := 0
	for {
		ctx, cancel := context.WithTimeout(r.t.ctx, reserveTimeout)
		rsvp, err := client.Reserve(ctx, r.t.h, relay)
		cancel()
		if r.t.ctx.Err() != nil {
			// Closing: advertise nothing more (an address update now
			// would wait on event-bus subscribers that are going away).
			return
		}
		var next time.Duration
		if err != nil {
			if fails++; fails >= relayGiveUp {
				r.drop(relay.ID)
				return
			}
			r.set(relay.ID, nil)
			next = backoff
			backoff = min(2*backoff, reserveRetryMax)
		} else {
			fails = 0
			r.set(relay.ID, relayAddrs(relay))
			backoff = reserveRetryMin
			// Refresh at half the remaining time (30 min of the
			// relay's hour), and not sooner than a minute.
			next = max(time.Until(rsvp.Expiration)/2, time.Minute)
		}
		timer := time.NewTimer(next)
		select {
		case <-r.t.ctx.Done():
			timer.Stop()
			return
		case <-wakeup:
			timer.Stop()
			r.set(relay.ID, nil)
			// Not at once: the relay may be gone for good.
			select {
			case <-time.After(reserveRetryMin):
			case <-r.t.ctx.Done():
				return
			}
		case <-timer.C:
		}
	}
}

// set records the addresses held through relay and re-advertises.
func (r *reservations) set(relay peer.ID, addrs []ma.Multiaddr) {
	r.mu.Lock()
	if addrs == nil {
		delete(r.held, relay)
	} else {
		r.held[relay] = addrs
	}
	var all []ma.Multiaddr
	for _, id := range r.order {
		all = append(all, r.held[id]...)
	}
	r.mu.Unlock()
	r.t.h.setAdvertised(all)
}

// count returns how many relays hold a reservation for this tab now.
func (r *reservations) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.held)
}

// closeWait bounds how long closing waits for the reservation keepers: one
// stuck in a reservation or an address update must not make the node's
// Close hang (it ends with its call; Stats counts it).
const closeWait = 3 * time.Second

func (r *reservations) close() {
	r.t.h.Network().StopNotify(r.notify)
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
		r.closeTimeouts.Add(1)
		js.Global().Get("console").Call("warn", "Grapevine: closing without waiting for a relay reservation still in progress")
	}
}
