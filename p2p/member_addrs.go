package p2p

// With the overlay, a peer dials only its neighbours, the passive entries it
// asks to become neighbours and the members it answers, a few dozen of the
// group; yet membership tells it every member's addresses. Put into the
// libp2p peerstore they cost about half a kilobyte per member (its address
// records and their index: 77 KB per peer at N = 150 in bench's heap
// profile), a term that grows with the group where every other per-peer
// figure stays flat. So with the overlay the vetted addresses wait here,
// encoded, and enter the peerstore (for peerstore.TempAddrTTL) only when
// this peer is about to dial the member; a connected or recently connected
// member's stay there as libp2p keeps them.

import (
	"bytes"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"
)

// memberAddrs holds the vetted addresses of live members, encoded: at most
// maxAdvertisedAddrs for each member membership lists (its MaxMembers bounds
// them), dropped when the member fails or leaves. A member's addresses are
// one slice in the metadata's encoding (a slice per address cost two
// allocations more per address): when none was refused, the slice is the
// member's own advertised encoding (the metadata membership keeps, which
// is never modified), not a copy of it.
type memberAddrs struct {
	mu    sync.Mutex
	addrs map[peer.ID][]byte
}

// set keeps addrs as id's vetted addresses; advertised is the encoding they
// came in (the address part of the member's metadata; nil if none), kept
// instead of a new one if it encodes exactly addrs.
func (m *memberAddrs) set(id peer.ID, addrs []ma.Multiaddr, advertised []byte) {
	enc := encodeAddrMeta(addrs, math.MaxInt)
	if bytes.Equal(enc, advertised) {
		enc = advertised
	}
	enc = slices.Clip(enc)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.addrs == nil {
		m.addrs = make(map[peer.ID][]byte)
	}
	m.addrs[id] = enc
}

func (m *memberAddrs) forget(id peer.ID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.addrs, id)
}

func (m *memberAddrs) get(id peer.ID) []ma.Multiaddr {
	m.mu.Lock()
	enc := m.addrs[id]
	m.mu.Unlock()
	return decodeAddrMeta(enc)
}

func (m *memberAddrs) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.addrs)
}

// loadAddrs puts member id's addresses into the peerstore before a dial,
// if it holds none of them, leaving out those in backoff after a failed
// dial (addrs.go). It reports whether the peerstore has an address for id.
func (p *Peer) loadAddrs(id peer.ID) bool {
	ps := p.host.Peerstore()
	if len(ps.Addrs(id)) > 0 {
		return true
	}
	if !p.s.overlay {
		return false
	}
	addrs := p.addrs.usable(p.known.get(id), time.Now())
	if len(addrs) == 0 {
		return false
	}
	ps.AddAddrs(id, addrs, peerstore.TempAddrTTL)
	return true
}

// usable returns the addresses not in backoff after a failed dial.
func (b *addrBook) usable(addrs []ma.Multiaddr, now time.Time) []ma.Multiaddr {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := addrs[:0]
	for _, a := range addrs {
		if e, ok := b.entries[b.addrKey(a)]; ok && e.inBackoff(now) {
			continue
		}
		out = append(out, a)
	}
	return out
}
