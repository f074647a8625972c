package core

import (
	"slices"
	"testing"
)

// Under Plumtree a gap want goes to the sender, and to the origin only if
// the origin is a neighbour: a request to anyone else would open a
// connection outside the overlay.
func TestGapWantPlumtreeAsksNeighboursOnly(t *testing.T) {
	for _, tc := range []struct {
		name      string
		neighbour bool
		want      []int
	}{{"origin a neighbour", true, []int{1, 0}}, {"origin not a neighbour", false, []int{1}}} {
		t.Run(tc.name, func(t *testing.T) {
			tn := newTestNet(t, 3, 7, func(i int, c *Config) {
				c.Mode, c.EagerPush = Pull, false
				c.PullEvery, c.RoundTicks = 1000, 1000
				c.GapWantDelay, c.IWantTimeout = 1, 2
				if i == 2 {
					nbrs := []NodeID{nodeName(1)}
					if tc.neighbour {
						nbrs = append(nbrs, nodeName(0))
					}
					c.Mode, c.Plumtree = PushPull, true
					c.Sampler = &nbrSampler{peers: nbrs, rng: c.Rand, ver: 1, n: 3}
				}
			})
			var ms []*Message
			for i := 0; i < 3; i++ {
				m, err := tn.nodes[0].Publish("t", []byte{byte(i)})
				if err != nil {
					t.Fatal(err)
				}
				ms = append(ms, m)
			}
			tn.queue = nil
			b := tn.nodes[2]
			for _, m := range []*Message{ms[0], ms[2]} {
				if err := b.Step(tn.nodes[1].ID(), EncodeFrame(&Frame{Messages: []*Message{m}})); err != nil {
					t.Fatal(err)
				}
			}
			tn.queue = nil
			b.AskGaps()
			if to := iwantsTo(t, tn, 2, ms[1].Key()); !slices.Equal(to, tc.want) {
				t.Fatalf("asked %v, want %v", to, tc.want)
			}
		})
	}
}
