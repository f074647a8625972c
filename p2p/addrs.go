package p2p

import (
	"bytes"
	"context"
	"errors"
	"hash/maphash"
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

// addrBook is keyed by a keyed hash of an address's binary form, and an
// entry names its claimants by keyed hashes of their IDs: with the overlay
// a peer keeps an entry for every address of every member, so the entry
// is a value of 40 bytes with the key, and nothing is allocated apart.
// Keyed by the address's bytes as a string, with the claimants' IDs
// inline, an entry held about 100 bytes more (p2pscale -heapprofile at
// N = 1,000: 149 MB of a 1.58 GB heap; TestAddrMemoryPerMember). The hash
// key is random per peer (maphash), so no remote peer can make two
// addresses or two members collide, and by chance two of a group's do
// with a probability of about n²/2⁶⁴.
type addrBook struct {
	mu      sync.Mutex
	seed    maphash.Seed
	entries map[uint64]addrEntry
}

type addrEntry struct {
	claimants [maxClaimants]uint64 // claimantKey of the members, filled in order; 0 is a free slot
	until     int64                // refused before this (monoNanos; 0: not in backoff)
	failures  uint8                // saturates; backoffDelay caps the delay long before
}

func (e *addrEntry) claimedBy(c uint64) bool { return slices.Contains(e.claimants[:], c) }

// inBackoff reports whether the address is refused at now after a failed dial.
func (e *addrEntry) inBackoff(now time.Time) bool {
	return e.until != 0 && monoNanos(now) < e.until
}

// addrKey is the book's key for an address.
func (b *addrBook) addrKey(a ma.Multiaddr) uint64 { return maphash.Bytes(b.seed, a.Bytes()) }

// claimantKey is how an entry names member id (never 0, the free slot).
func (b *addrBook) claimantKey(id peer.ID) uint64 { return max(maphash.String(b.seed, string(id)), 1) }

const (
	addrBackoffMin = 5 * time.Second
	addrBackoffMax = 10 * time.Minute
)

func newAddrBook() *addrBook {
	return &addrBook{seed: maphash.MakeSeed(), entries: make(map[uint64]addrEntry)}
}

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
func (b *addrBook) entry(key uint64) addrEntry { return b.entries[key] }

func (b *addrBook) put(key uint64, e addrEntry) {
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
	c := b.claimantKey(id)
	for i, a := range addrs {
		if i >= maxAdvertisedAddrs {
			refused(addrTooMany)
			continue
		}
		key := b.addrKey(a)
		e := b.entry(key)
		if !e.claimedBy(c) {
			free := slices.Index(e.claimants[:], 0)
			if free < 0 {
				refused(addrShared)
				continue
			}
			e.claimants[free] = c
			b.put(key, e)
		}
		if e.inBackoff(now) {
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
	key := b.addrKey(addr)
	e := b.entry(key)
	if e.failures < 255 {
		e.failures++
	}
	e.until = monoNanos(now.Add(backoffDelay(int(e.failures))))
	b.put(key, e)
}

// succeeded clears addr's backoff after a connection through it.
func (b *addrBook) succeeded(addr ma.Multiaddr) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := b.addrKey(addr)
	if e, ok := b.entries[key]; ok {
		e.failures, e.until = 0, 0
		b.entries[key] = e
	}
}

// addMemberAddrs puts a member's vetted addresses into the peerstore or,
// with the overlay, keeps them until this peer dials the member
// (member_addrs.go); a member the peerstore already has addresses of (a
// connected one) gets the new ones there at once. advertised is the
// encoding addrs came in (memberAddrs.set), nil if none.
func (p *Peer) addMemberAddrs(id peer.ID, addrs []ma.Multiaddr, advertised []byte) {
	ok := p.addrs.admit(id, addrs, time.Now(), func(reason string) {
		p.m.addrsRefused.WithLabelValues(reason).Inc()
		p.ctr.addrsRefused.Add(1)
	})
	if len(ok) == 0 {
		return
	}
	if p.s.overlay {
		p.known.set(id, ok, advertised)
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
