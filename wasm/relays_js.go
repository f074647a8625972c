//go:build js && wasm

package wasm

import (
	"context"
	"sync"
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

const (
	// maxRelays is how many relays a tab reserves on: two keep it
	// reachable when one goes, without holding slots on every native.
	maxRelays = 2
	// reserveRetryMin and reserveRetryMax bound the backoff between
	// failed reservation attempts on one relay.
	reserveRetryMin = 5 * time.Second
	reserveRetryMax = 2 * time.Minute
	reserveTimeout  = 15 * time.Second
)

type reservations struct {
	t      *rtcTransport
	mu     sync.Mutex
	held   map[peer.ID][]ma.Multiaddr // relay → the addresses advertised through it
	order  []peer.ID
	wakeup map[peer.ID]chan struct{}
	notify *network.NotifyBundle
	wg     sync.WaitGroup
}

func newReservations(t *rtcTransport) *reservations {
	r := &reservations{t: t, held: map[peer.ID][]ma.Multiaddr{}, wakeup: map[peer.ID]chan struct{}{}}
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

// useRelays reserves a slot on up to maxRelays of relays (native peers
// the tab bootstrapped from, the one that answered first first) and keeps
// the reservations.
func (t *rtcTransport) useRelays(relays []peer.AddrInfo) {
	r := t.res
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ai := range relays {
		if len(r.order) >= maxRelays {
			break
		}
		if _, ok := r.wakeup[ai.ID]; ok || ai.ID == t.h.ID() {
			continue
		}
		ch := make(chan struct{}, 1)
		r.wakeup[ai.ID] = ch
		r.order = append(r.order, ai.ID)
		r.wg.Add(1)
		go r.keep(ai, ch)
	}
}

// keep holds a reservation on relay until the transport closes.
func (r *reservations) keep(relay peer.AddrInfo, wakeup chan struct{}) {
	defer r.wg.Done()
	backoff := reserveRetryMin
	for {
		ctx, cancel := context.WithTimeout(r.t.ctx, reserveTimeout)
		rsvp, err := client.Reserve(ctx, r.t.h, relay)
		cancel()
		var next time.Duration
		if err != nil {
			r.set(relay.ID, nil)
			next = backoff
			backoff = min(2*backoff, reserveRetryMax)
		} else {
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

func (r *reservations) close() {
	r.t.h.Network().StopNotify(r.notify)
	r.wg.Wait()
}
