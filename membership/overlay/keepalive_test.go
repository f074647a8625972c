package overlay

import "testing"

// TestKeepaliveOneEndPings: on a quiet link only the end with the smaller
// ID pings; the other hears those pings and stays silent, so a quiet link
// costs one ping and one pong per KeepaliveTicks (the order is decided
// once, when the link is made).
func TestKeepaliveOneEndPings(t *testing.T) {
	net, a, b := linkedPair(t)
	if !a.IsActive("b") || !b.IsActive("a") {
		t.Fatal("no link")
	}
	pa, pb := a.Stats().PingsSent, b.Stats().PingsSent
	net.tick(t, 4*a.cfg.KeepaliveTicks)
	if !a.IsActive("b") || !b.IsActive("a") {
		t.Fatal("the quiet link failed")
	}
	if got := a.Stats().PingsSent - pa; got < 2 {
		t.Fatalf("the smaller ID sent %d pings over four keepalive periods, want at least 2", got)
	}
	if got := b.Stats().PingsSent - pb; got != 0 {
		t.Fatalf("the larger ID sent %d pings while it heard the other's, want 0", got)
	}
}
