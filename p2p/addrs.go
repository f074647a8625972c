package p2p

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

// Addresses a member advertises in its metadata are claims: any member
// could point the whole group at a victim's address, and every member
// would dial it. Before they reach the peerstore (where libp2p dials them)
// the address book vets them:
//
//   - at most maxAdvertisedAddrs per member;
//   - an address already claimed by maxClaimants other members is refused
//     to further ones (two hosts never listen on one IP and port; a NAT's
//     public address is not what members advertise);
//   - an address that failed to dial is refused for a backoff that doubles
//     per failure (5 s to 10 min, jittered, as go-libp2p's
//     discovery/backoff, whose package needs a module this one does not
//     require), whichever member claims it, and removed from the
//     claimant's peerstore entry.
//
// Refusals are counted by reason (grapevine_addrs_refused_total).
const (
	maxAdvertisedAddrs = 8
	maxClaimants       = 2
	maxAddrEntries     = 8192
)

// Reasons an advertised address is refused.
const (
	addrTooMany = "too_many"
	addrShared  = "shared"
	addrBackoff = "backoff"
)

// addrBook is keyed by an address's binary form. Its entries are values,
// claimants inline: with the overlay a peer keeps one for every address of
// every member (about 30 MB of a 320 MB heap at N = 300 in p2pscale's heap
// profile, memberAddrs included). An entry allocated apart with its
// claimants in a slice, and memberAddrs' slice per address, cost about 120
// bytes more per address (TestAddrMemoryPerMember).
type addrBook struct {
	mu      sync.Mutex
	entries map[string]addrEntry
}

type addrEntry struct {
	claimants [maxClaimants]peer.ID // filled in order; "" is a free slot
	failures  uint8                 // saturates; backoffDelay caps the delay long before
	until     int64                 // refused before this (UnixNano; 0: not in backoff)
}

func (e *addrEntry) claimedBy(id peer.ID) bool { return slices.Contains(e.claimants[:], id) }

const (
	addrBackoffMin = 5 * time.Second
	addrBackoffMax = 10 * time.Minute
)

func newAddrBook() *addrBook { return &addrBook{entries: make(map[string]addrEntry)} }

// delay is the backoff after n failures: addrBackoffMin·2^(n-1), at most
// addrBackoffMax, less a random part of up to half (equal jitter).
func backoffDelay(n int) time.Duration {
	d := addrBackoffMax
	if n < 20 {
		d = min(addrBackoffMin<<max(n-1, 0), addrBackoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

// entry returns key's entry (zero if none); put stores it back, making
// room first when the book is full.
func (b *addrBook) entry(key string) addrEntry { return b.entries[key] }

func (b *addrBook) put(key string, e addrEntry) {
	if _, ok := b.entries[key]; !ok && len(b.entries) >= maxAddrEntries {
		for k := range b.entries { // bounded: forget an arbitrary one
			delete(b.entries, k)
			break
		}
	}
	b.entries[key] = e
}

// admit returns the addresses of member id that may go into the peerstore
// and calls refused once per address refused.
func (b *addrBook) admit(id peer.ID, addrs []ma.Multiaddr, now time.Time, refused func(reason string)) []ma.Multiaddr {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []ma.Multiaddr
	for i, a := range addrs {
		if i >= maxAdvertisedAddrs {
			refused(addrTooMany)
			continue
		}
		key := string(a.Bytes())
		e := b.entry(key)
		if !e.claimedBy(id) {
			free := slices.Index(e.claimants[:], "")
			if free < 0 {
				refused(addrShared)
				continue
			}
			e.claimants[free] = id
			b.put(key, e)
		}
		if now.UnixNano() < e.until {
			refused(addrBackoff)
			continue
		}
		out = append(out, a)
	}
	return out
}

// failed puts addr in backoff after a failed dial.
func (b *addrBook) failed(addr ma.Multiaddr, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := string(addr.Bytes())
	e := b.entry(key)
	if e.failures < 255 {
		e.failures++
	}
	e.until = now.Add(backoffDelay(int(e.failures))).UnixNano()
	b.put(key, e)
}

// succeeded clears addr's backoff after a connection through it.
func (b *addrBook) succeeded(addr ma.Multiaddr) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := string(addr.Bytes())
	if e, ok := b.entries[key]; ok {
		e.failures, e.until = 0, 0
		b.entries[key] = e
	}
}

// addMemberAddrs puts a member's vetted addresses into the peerstore or,
// with the overlay, keeps them until this peer dials the member
// (member_addrs.go); a member the peerstore already has addresses of (a
// connected one) gets the new ones there at once.
func (p *Peer) addMemberAddrs(id peer.ID, addrs []ma.Multiaddr) {
	ok := p.addrs.admit(id, addrs, time.Now(), func(reason string) {
		p.m.addrsRefused.WithLabelValues(reason).Inc()
		p.ctr.addrsRefused.Add(1)
	})
	if len(ok) == 0 {
		return
	}
	if p.s.overlay {
		p.known.set(id, ok)
		if len(p.host.Peerstore().Addrs(id)) == 0 {
			return
		}
	}
	p.host.Peerstore().AddAddrs(id, ok, peerstoreTTL)
}

// dialed records the outcome of a dial to id: the addresses that failed go
// into backoff and out of id's peerstore entry; the one that worked is
// cleared.
func (p *Peer) dialed(id peer.ID, err error) {
	if err == nil {
		for _, c := range p.host.Network().ConnsToPeer(id) {
			p.addrs.succeeded(c.RemoteMultiaddr())
		}
		return
	}
	var de *swarm.DialError
	if !errors.As(err, &de) {
		return
	}
	now := time.Now()
	for _, te := range de.DialErrors {
		if te.Address == nil {
			continue
		}
		p.addrs.failed(te.Address, now)
		p.host.Peerstore().SetAddr(id, te.Address, 0)
	}
}

// watchAddrs re-announces this peer's addresses in its membership
// metadata whenever the host's change (a new listener, an observed public
// address, a NAT mapping): the metadata is otherwise built once at start.
func (p *Peer) watchAddrs() error {
	sub, err := p.host.EventBus().Subscribe(new(event.EvtLocalAddressesUpdated))
	if err != nil {
		return err
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer sub.Close()
		last := p.encodeMeta(p.host.Addrs(), p.metaMax)
		for {
			select {
			case <-p.ctx.Done():
				return
			case _, ok := <-sub.Out():
				if !ok {
					return
				}
			}
			meta := p.encodeMeta(p.host.Addrs(), p.metaMax)
			if bytes.Equal(meta, last) {
				continue
			}
			last = meta
			if err := p.call(p.ctx, func() {
				if err := p.mc.SetMeta(meta); err != nil {
					log.Debugw("updating address metadata", "err", err)
				}
			}); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrClosed) {
				log.Debugw("updating address metadata", "err", err)
			}
		}
	}()
	return nil
}
