package wasm

import (
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/x/rate"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// TabLimits are the resource-manager limits of a browser tab: small and
// fixed (a page does not know, and should not take, the machine's
// memory), sized for what a tab holds: at most 64 connections (the
// connection manager trims to 32 above that), a few streams per
// connection, and Grapevine's own limits for its two protocols, the same
// as a native peer's (p2p.AddGroupLimits: two inbound streams per peer
// and protocol, four largest gossip frames and sixteen largest membership
// frames of memory per peer, 32 and 64 for all peers). opts are the
// peer's options (group, profile, engine configuration), from which the
// group's protocol IDs and frame caps follow.
//
// Memory counts what the stack reserves: every yamux stream reserves its
// initial 256 KiB receive window on opening, frames being read reserve
// their size (p2p/inbound.go), windows grow only when the reservation
// succeeds. 128 MiB is 8 streams on each of 64 connections with room for
// the frames in flight.
func TabLimits(opts ...p2p.Option) (rcmgr.ConcreteLimitConfig, error) {
	l := rcmgr.DefaultLimits
	l.SystemBaseLimit = rcmgr.BaseLimit{ConnsInbound: 32, ConnsOutbound: 80, Conns: 96,
		StreamsInbound: 512, StreamsOutbound: 512, Streams: 768, Memory: 128 << 20, FD: 128}
	l.TransientBaseLimit = rcmgr.BaseLimit{ConnsInbound: 16, ConnsOutbound: 32, Conns: 32,
		StreamsInbound: 32, StreamsOutbound: 64, Streams: 64, Memory: 8 << 20, FD: 32}
	l.ServiceBaseLimit = rcmgr.BaseLimit{StreamsInbound: 128, StreamsOutbound: 256, Streams: 256, Memory: 16 << 20}
	l.ServicePeerBaseLimit = rcmgr.BaseLimit{StreamsInbound: 16, StreamsOutbound: 32, Streams: 32, Memory: 4 << 20}
	l.ProtocolBaseLimit = rcmgr.BaseLimit{StreamsInbound: 256, StreamsOutbound: 256, Streams: 384, Memory: 16 << 20}
	l.ProtocolPeerBaseLimit = rcmgr.BaseLimit{StreamsInbound: 8, StreamsOutbound: 16, Streams: 24, Memory: 4 << 20}
	l.PeerBaseLimit = rcmgr.BaseLimit{ConnsInbound: 4, ConnsOutbound: 8, Conns: 8,
		StreamsInbound: 32, StreamsOutbound: 64, Streams: 96, Memory: 24 << 20, FD: 8}
	l.ConnBaseLimit = rcmgr.BaseLimit{ConnsInbound: 1, ConnsOutbound: 1, Conns: 1, FD: 1, Memory: 16 << 20}
	l.StreamBaseLimit = rcmgr.BaseLimit{StreamsInbound: 1, StreamsOutbound: 1, Streams: 1, Memory: 8 << 20}
	if err := p2p.AddGroupLimits(&l, opts...); err != nil {
		return rcmgr.ConcreteLimitConfig{}, err
	}
	// Scale with no memory: the base limits, whatever the machine.
	return l.Scale(0, 0), nil
}

// ResourceStats count what the tab's resource manager refused.
type ResourceStats struct {
	Conns   uint64 // connections refused (system, transient or peer limit)
	Streams uint64 // streams refused: opening, or setting their protocol or service (per-peer protocol limits included)
	Memory  uint64 // memory reservations refused (yamux window growth, inbound frames)
	// Reserved is the memory reserved now in the system scope.
	Reserved int64
}

// tabResourceManager is go-libp2p's resource manager with counters of
// what it refused.
type tabResourceManager struct {
	network.ResourceManager
	blocked *blockCounter
}

// newTabResourceManager builds the tab's resource manager (TabLimits).
// The per-IP connection limits and rate limits of go-libp2p are off: they
// protect a listener from floods of incoming connections, and a tab only
// dials out (its incoming WebRTC connections carry no IP); its dials are
// bounded by the limits above and by the peer's dial budget.
func newTabResourceManager(opts ...p2p.Option) (*tabResourceManager, error) {
	cfg, err := TabLimits(opts...)
	if err != nil {
		return nil, err
	}
	bc := &blockCounter{}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(cfg),
		rcmgr.WithMetrics(bc),
		rcmgr.WithConnRateLimiters(&rate.Limiter{}),
		rcmgr.WithLimitPerSubnet([]rcmgr.ConnLimitPerSubnet{{PrefixLength: 0, ConnCount: 96}},
			[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 0, ConnCount: 96}}))
	if err != nil {
		return nil, err
	}
	return &tabResourceManager{ResourceManager: rm, blocked: bc}, nil
}

// stats returns the refusals and the memory reserved now.
func (r *tabResourceManager) stats() ResourceStats {
	st := ResourceStats{Conns: r.blocked.conns.Load(), Streams: r.blocked.streams.Load(), Memory: r.blocked.memory.Load()}
	_ = r.ViewSystem(func(s network.ResourceScope) error {
		st.Reserved = s.Stat().Memory
		return nil
	})
	return st
}

// blockCounter is an rcmgr.MetricsReporter that counts refusals.
type blockCounter struct{ conns, streams, memory atomic.Uint64 }

func (b *blockCounter) AllowConn(network.Direction, bool)      {}
func (b *blockCounter) BlockConn(network.Direction, bool)      { b.conns.Add(1) }
func (b *blockCounter) AllowStream(peer.ID, network.Direction) {}
func (b *blockCounter) BlockStream(peer.ID, network.Direction) { b.streams.Add(1) }
func (b *blockCounter) AllowPeer(peer.ID)                      {}
func (b *blockCounter) BlockPeer(peer.ID)                      { b.conns.Add(1) }
func (b *blockCounter) AllowProtocol(protocol.ID)              {}
func (b *blockCounter) BlockProtocol(protocol.ID)              { b.streams.Add(1) }
func (b *blockCounter) BlockProtocolPeer(protocol.ID, peer.ID) { b.streams.Add(1) }
func (b *blockCounter) AllowService(string)                    {}
func (b *blockCounter) BlockService(string)                    { b.streams.Add(1) }
func (b *blockCounter) BlockServicePeer(string, peer.ID)       { b.streams.Add(1) }
func (b *blockCounter) AllowMemory(int)                        {}
func (b *blockCounter) BlockMemory(int)                        { b.memory.Add(1) }
