package p2p

import (
	"context"
	"testing"
	"time"
)

// TestStatsNow: StatsNow carries the state machines' counters as the driver
// copies them each second, and answers while the driver is busy, where
// Stats waits for it.
func TestStatsNow(t *testing.T) {
	peers := startPeers(t, 2, false)
	a, b := peers[0], peers[1]
	sub, err := b.Subscribe("t")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "membership", func() bool { return alive(a) == 2 && alive(b) == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Publish(ctx, "t", []byte("m")); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Next(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the delivery in StatsNow", func() bool { return b.StatsNow().Engine.Delivered > 0 })

	busy, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	go b.call(ctx, func() { close(busy); <-release })
	<-busy
	now := make(chan Stats, 1)
	go func() { now <- b.StatsNow() }()
	select {
	case st := <-now:
		if st.Engine.Delivered == 0 {
			t.Fatal("StatsNow lost the state machines' counters")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("StatsNow waited for the busy driver")
	}
	waited := make(chan struct{})
	go func() { b.Stats(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("Stats answered while the driver was busy: the test does not hold the driver")
	case <-time.After(200 * time.Millisecond):
	}
}
