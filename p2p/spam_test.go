package p2p

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
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
