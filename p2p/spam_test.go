package p2p

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"golang.org/x/time/rate"
)

// TestPublishRateLimit: with WithPublishRateLimit(20, 20) a member that
// publishes 200 messages at once is penalized (reason flood) and
// disconnected by the others; a member publishing 10 (under the burst) is
// not. The spammer's messages that arrived are delivered.
func TestPublishRateLimit(t *testing.T) {
	peers := startPeers(t, 3, false, WithPublishRateLimit(20, 20))
	waitFor(t, 10*time.Second, "the group", func() bool {
		return alive(peers[0]) == 3 && alive(peers[1]) == 3 && alive(peers[2]) == 3
	})
	honest, spammer, watcher := peers[0], peers[1], peers[2]
	sub, _ := watcher.Subscribe("t")
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if err := honest.Publish(ctx, "t", []byte("honest")); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 200; i++ {
		spammer.Publish(ctx, "t", []byte(fmt.Sprint("spam ", i)))
	}
	waitFor(t, 10*time.Second, "the spammer's penalty", func() bool { return watcher.Penalized(spammer.ID()) })
	got := 0
	for got < 10 {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := sub.Next(rctx)
		cancel()
		if err != nil {
			t.Fatalf("honest messages: %d delivered", got)
		}
		if m.From == honest.ID() {
			got++
		}
	}
	if watcher.Penalized(honest.ID()) || honest.Penalized(watcher.ID()) {
		t.Fatal("a member under the rate penalized")
	}
	if n := watcher.Penalties()[core.OffenceFlood.String()]; n <= invalidAllowance {
		t.Fatalf("flood offences %d, want over %d", n, invalidAllowance)
	}
	if _, err := New(ctx, WithPublishRateLimit(10, 0)); err == nil {
		t.Fatal("a burst of 0 accepted")
	}
}

// TestOriginRatesBounded: the per-origin buckets stay at maxRateOrigins;
// idle origins (full buckets) make room for new ones.
func TestOriginRatesBounded(t *testing.T) {
	var o originRates
	now := time.Unix(1000, 0)
	for i := 0; i < maxRateOrigins+100; i++ {
		o.over(core.NodeID(fmt.Sprint(i)), rate.Limit(1), 1, now)
	}
	if len(o.buckets) != maxRateOrigins {
		t.Fatalf("%d buckets", len(o.buckets))
	}
	if o.over("new", rate.Limit(1), 1, now) || len(o.buckets) != maxRateOrigins {
		t.Fatal("new origin charged while the table is full of busy origins")
	}
	later := now.Add(2 * time.Second) // every bucket full again
	o.over("new", rate.Limit(1), 1, later)
	if len(o.buckets) != 1 {
		t.Fatalf("%d buckets after the idle ones were forgotten", len(o.buckets))
	}
	if !o.over("new", rate.Limit(1), 1, later) {
		t.Fatal("second message in the same instant not over a burst of 1")
	}
}

// TestPublishRateLimitDefault: without WithPublishRateLimit an origin that
// publishes 2,000 messages within about a second (ten times the default
// rate, twice its burst; spread over 100 batches, so the receiver's
// per-round inbound bound does not drop them) is penalized; 0 turns the
// limit off.
func TestPublishRateLimitDefault(t *testing.T) {
	peers := startPeers(t, 2, false)
	waitFor(t, 10*time.Second, "the group", func() bool { return alive(peers[0]) == 2 && alive(peers[1]) == 2 })
	spammer, watcher := peers[0], peers[1]
	ctx := context.Background()
	spam := func(p *Peer, n int) {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < n; i++ {
			if i%(n/100) == 0 {
				<-tick.C
			}
			p.Publish(ctx, "t", []byte(fmt.Sprint("spam ", i)))
		}
	}
	spam(spammer, 2*defaultPublishBurst)
	waitFor(t, 10*time.Second, "the spammer's penalty", func() bool { return watcher.Penalized(spammer.ID()) })

	off := startPeers(t, 2, false, WithPublishRateLimit(0, 0))
	waitFor(t, 10*time.Second, "the second group", func() bool { return alive(off[0]) == 2 && alive(off[1]) == 2 })
	spam(off[0], 2*defaultPublishBurst)
	waitFor(t, 10*time.Second, "the fast publisher's messages taken in", func() bool {
		return off[1].Stats().Engine.Delivered >= 2*defaultPublishBurst
	})
	if off[1].Penalized(off[0].ID()) || off[1].Penalties()[core.OffenceFlood.String()] != 0 {
		t.Fatal("a publisher penalized with the limit off")
	}
}
