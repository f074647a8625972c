package main

import (
	"net"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/libp2p/go-netroute"
)

// Source addresses of QUIC dials, cached.
//
// A host listening on a specific IP (here 127.0.0.1) has go-libp2p's QUIC
// transport ask the kernel's routing table, for every dial, which local
// address reaches the destination (quicreuse's netroute selector: a
// netlink query whose answer it parses afresh each time). Hundreds of
// hosts in one process dial the same address over and over: with 300
// Grapevine peers these queries were 12 % of all the bytes allocated while
// the group formed and 2.6 % of the CPU (p2pscale -n 300, docs/benchmarks/
// ladder.md, session 22), a cost of the test bed, not of either system
// (one host per machine dials a new peer every few seconds at most).
// sourceIPCache answers repeated destinations from memory for a while;
// every host of both systems uses it (transport.go).

// sourceIPTTL is how long a cached answer is used: a route that changes
// (an interface going down) is picked up within it; until then a dial
// from the old address fails and is retried like any failed dial.
const sourceIPTTL = 30 * time.Second

// maxSourceIPs bounds the cache; when full it starts over.
const maxSourceIPs = 4096

type sourceIPCache struct {
	mu      sync.Mutex
	routes  netroute.Router
	entries map[string]sourceIPEntry
	now     func() time.Time
}

type sourceIPEntry struct {
	ip  net.IP
	err error
	at  time.Time
}

// newSourceIPCache returns a quicreuse source-address selector that caches
// the routing table's answer per destination IP for 30 s.
func newSourceIPCache() (quicreuse.SourceIPSelector, error) {
	r, err := netroute.New()
	if err != nil {
		return nil, err
	}
	return &sourceIPCache{routes: r, entries: make(map[string]sourceIPEntry), now: time.Now}, nil
}

// PreferredSourceIPForDestination implements quicreuse.SourceIPSelector.
func (c *sourceIPCache) PreferredSourceIPForDestination(dst *net.UDPAddr) (net.IP, error) {
	key := string(dst.IP.To16())
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < sourceIPTTL {
		return e.ip, e.err
	}
	_, _, src, err := c.routes.Route(dst.IP)
	c.mu.Lock()
	if len(c.entries) >= maxSourceIPs {
		clear(c.entries)
	}
	c.entries[key] = sourceIPEntry{ip: src, err: err, at: now}
	c.mu.Unlock()
	return src, err
}
