package p2p

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestThreePeersDeliver(t *testing.T) {
	peers := startPeers(t, 3, false)
	subs := make([]*Subscription, len(peers))
	for i, p := range peers {
		s, err := p.Subscribe("t")
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	waitFor(t, 10*time.Second, "membership", func() bool {
		for _, p := range peers {
			if alive(p) != 3 {
				return false
			}
		}
		return true
	})
	for i := 0; i < 10; i++ {
		if err := peers[1].Publish(context.Background(), "t", []byte(fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, s := range subs {
		for j := 0; j < 10; j++ {
			m, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("peer %d got %d of 10: %v", i, j, err)
			}
			if m.From != peers[1].ID() {
				t.Fatalf("wrong origin")
			}
		}
	}
}
