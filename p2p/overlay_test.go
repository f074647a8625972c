package p2p

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestOverlayBoundsConnections: 24 peers with an overlay budget of 6 form
// a group in which every peer sees every member alive, yet holds
// connections to about its neighbours only; every message reaches every
// peer once; a peer killed without a word is marked failed by all.
func TestOverlayBoundsConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("24 hosts")
	}
	const n, budget = 24, 6
	peers := startPeers(t, n, false, WithOverlay(true), WithOverlayBudget(budget))
	subs := make([]*Subscription, n)
	for i, p := range peers {
		s, err := p.Subscribe("t")
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	waitForDiag(t, 90*time.Second, "every peer to see 24 alive members", peers, func() bool {
		for _, p := range peers {
			if alive(p) != n {
				return false
			}
		}
		return true
	})
	// Let joins' short-lived connections idle out (idleNonNeighbor) down to
	// the budget plus connSlack (connBudget), well below the group size.
	conns := func() []int {
		var c []int
		for _, p := range peers[:n] {
			c = append(c, len(p.Host().Network().Peers()))
		}
		return slices.Sorted(slices.Values(c))
	}
	waitFor(t, 60*time.Second, "connections to shrink to the overlay", func() bool {
		c := conns()
		return c[n/2] <= budget+connSlack && c[n-1] <= budget+connSlack+4
	})
	c := conns()
	t.Logf("connections per peer: median %d, max %d; neighbours of peer 5: %d", c[n/2], c[n-1], len(peers[5].Neighbors()))
	for i, p := range peers {
		if k := len(p.Neighbors()); k < 1 || k > budget {
			t.Errorf("peer %d has %d neighbours, want 1 to %d", i, k, budget)
		}
	}

	const msgs = 20
	for i := 0; i < msgs; i++ {
		if err := peers[(i*5)%n].Publish(context.Background(), "t", []byte(fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, s := range subs {
		got := map[string]int{}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		for len(got) < msgs {
			m, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("peer %d got %d of %d messages: %v", i, len(got), msgs, err)
			}
			got[string(m.Data)]++
		}
		cancel()
	}
	for i, p := range peers {
		if d := p.Stats().Delivered; d != msgs {
			t.Errorf("peer %d delivered %d messages, want %d (once each)", i, d, msgs)
		}
	}

	// A silent crash: nobody but its few neighbours talks to it, yet every
	// survivor learns that it failed.
	victim := peers[n-1]
	vid := victim.ID()
	victim.Kill()
	waitForDiag(t, 60*time.Second, "every survivor to mark the killed peer failed", peers[:n-1], func() bool {
		for _, p := range peers[:n-1] {
			for _, m := range p.Members() {
				if m.ID == vid && (m.State == StateAlive || m.State == StateSuspect) {
					return false
				}
			}
		}
		return true
	})
}
