package grapevine

import (
	"fmt"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership/overlay"
)

// countingTransport records whom each node sends to.
type countingTransport struct {
	memTransport
	dests map[core.NodeID]map[core.NodeID]int
}

func (t countingTransport) Send(to core.NodeID, frame []byte) {
	d := t.dests[t.from]
	if d == nil {
		d = map[core.NodeID]int{}
		t.dests[t.from] = d
	}
	d[to]++
	t.memTransport.Send(to, frame)
}

// newOverlayNet is newNet with the overlay on: active views of 4 to 6 in a
// group of n, so that most members are not neighbours.
func newOverlayNet(t testing.TB, n int, seed uint64, apps []*inbox) (*memNet, map[core.NodeID]map[core.NodeID]int) {
	dests := map[core.NodeID]map[core.NodeID]int{}
	net := buildNodes(t, n, seed, apps, func(cfg *Config) {
		cfg.Transport = countingTransport{cfg.Transport.(memTransport), dests}
		oc := overlay.DefaultConfig()
		oc.ActiveMin, oc.ActiveMax, oc.PassiveMax = 4, 6, 24
		cfg.Overlay = &oc
	})
	for i, id := range net.order[1:] {
		// A few joins a tick, as a group forms in practice.
		net.nodes[id].Join([]core.NodeID{net.order[0]})
		if i%4 == 3 {
			if err := net.tick(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := net.deliver(); err != nil {
		t.Fatal(err)
	}
	return net, dests
}

func TestNodeOverlay(t *testing.T) {
	const n, crashed = 40, 4
	apps := make([]*inbox, n)
	for i := range apps {
		apps[i] = &inbox{}
	}
	net, dests := newOverlayNet(t, n, 3, apps)
	for k := 0; k < 400 && !net.allSee(n); k++ {
		if err := net.tick(); err != nil {
			t.Fatal(err)
		}
	}
	if !net.allSee(n) {
		t.Fatal("membership did not converge over the overlay")
	}
	for k := 0; k < 100; k++ { // settle the overlay
		if err := net.tick(); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range net.order {
		ov := net.nodes[id].Overlay()
		if a := ov.ActiveLen(); a < 4 || a > 6 {
			t.Errorf("%s has %d neighbours, want 4 to 6", id, a)
		}
	}

	// Steady state: whom does each node talk to over 300 ticks (30 s) with
	// a message a second?
	clear(dests)
	for k := 0; k < 300; k++ {
		if k%10 == 0 {
			if _, err := net.nodes[net.order[k/10]].Publish("t", []byte(fmt.Sprint("m", k/10))); err != nil {
				t.Fatal(err)
			}
		}
		if err := net.tick(); err != nil {
			t.Fatal(err)
		}
	}
	var fan []int
	for _, id := range net.order {
		fan = append(fan, len(dests[id]))
	}
	slices.Sort(fan)
	t.Logf("distinct destinations per node in 30 s: median %d, max %d (group of %d)", fan[n/2], fan[n-1], n)
	// Neighbours (at most 6, some replaced by shuffles and repairs) and the
	// occasional ping-req target or shuffle origin; far from n-1.
	if fan[n/2] > 12 || fan[n-1] > 20 {
		t.Errorf("nodes talk to too many peers: median %d, max %d", fan[n/2], fan[n-1])
	}
	for i, id := range net.order {
		if len(apps[i].got) != 30 || len(slices.Compact(slices.Sorted(slices.Values(apps[i].got)))) != 30 {
			t.Errorf("%s delivered %d messages (%d distinct), want 30 once each", id, len(apps[i].got), len(slices.Compact(slices.Sorted(slices.Values(apps[i].got)))))
		}
	}

	// Silent crashes: nobody is connected to every member, yet every
	// survivor learns of every crash, and the next message reaches all.
	for i := n - crashed; i < n; i++ {
		net.down[net.order[i]] = true
	}
	var at int
	for at = 0; at < 600 && !net.allSee(n-crashed); at++ {
		if err := net.tick(); err != nil {
			t.Fatal(err)
		}
	}
	if !net.allSee(n - crashed) {
		t.Fatalf("survivors did not all learn of the %d crashes in 60 s", crashed)
	}
	t.Logf("every survivor knew of the crashes after %d ticks", at)
	if _, err := net.nodes[net.order[0]].Publish("t", []byte("after")); err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 50; k++ {
		if err := net.tick(); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range net.order[:n-crashed] {
		if !slices.Contains(apps[i].got, "after") {
			t.Errorf("%s missed the message sent after the crashes", id)
		}
		if a := net.nodes[id].Overlay().ActiveLen(); a < 4 {
			t.Errorf("%s has %d neighbours after the crashes", id, a)
		}
	}
}
