package main

import (
	"net"
	"testing"
	"time"
)

// countingRouter answers every destination with 127.0.0.1 and counts the
// routing-table queries.
type countingRouter struct{ calls int }

func (r *countingRouter) Route(dst net.IP) (*net.Interface, net.IP, net.IP, error) {
	r.calls++
	return nil, nil, net.IPv4(127, 0, 0, 1), nil
}

func (r *countingRouter) RouteWithSrc(_ net.HardwareAddr, _, dst net.IP) (*net.Interface, net.IP, net.IP, error) {
	return r.Route(dst)
}

// TestSourceIPCache: repeated dials to one address query the routing
// table once per sourceIPTTL; another address gets its own query.
func TestSourceIPCache(t *testing.T) {
	r := &countingRouter{}
	now := time.Unix(1000, 0)
	c := &sourceIPCache{routes: r, entries: map[string]sourceIPEntry{}, now: func() time.Time { return now }}
	a := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 4001}
	b := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 4001}
	for i := 0; i < 100; i++ {
		ip, err := c.PreferredSourceIPForDestination(&net.UDPAddr{IP: a.IP, Port: 4001 + i})
		if err != nil || !ip.Equal(net.IPv4(127, 0, 0, 1)) {
			t.Fatalf("got %v, %v", ip, err)
		}
	}
	if r.calls != 1 {
		t.Fatalf("100 dials to one IP: %d queries, want 1", r.calls)
	}
	c.PreferredSourceIPForDestination(b)
	if r.calls != 2 {
		t.Fatalf("another IP: %d queries, want 2", r.calls)
	}
	now = now.Add(sourceIPTTL)
	c.PreferredSourceIPForDestination(a)
	if r.calls != 3 {
		t.Fatalf("after the TTL: %d queries, want 3", r.calls)
	}
	for i := 0; i < maxSourceIPs+10; i++ {
		c.PreferredSourceIPForDestination(&net.UDPAddr{IP: net.IPv4(11, byte(i>>16), byte(i>>8), byte(i))})
	}
	if len(c.entries) > maxSourceIPs {
		t.Fatalf("%d entries cached, want at most %d", len(c.entries), maxSourceIPs)
	}
}
