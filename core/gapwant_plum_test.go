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
			tn, ms := gapWantNet(t, 1, func(i int, c *Config) {
				if i == 2 {
					nbrs := []NodeID{nodeName(1)}
					if tc.neighbour {
						nbrs = append(nbrs, nodeName(0))
					}
					c.Mode, c.Plumtree = PushPull, true
					c.Sampler = &nbrSampler{peers: nbrs, rng: c.Rand, ver: 1, n: 3}
				}
			})
			b := tn.nodes[2]
			b.AskGaps()
			if to := iwantsTo(t, tn, 2, ms[1].Key()); !slices.Equal(to, tc.want) {
				t.Fatalf("asked %v, want %v", to, tc.want)
			}
		})
	}
}
