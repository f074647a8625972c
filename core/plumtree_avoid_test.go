package core

import "testing"

// avoidSampler is an nbrSampler that avoids some neighbours.
type avoidSampler struct {
	*nbrSampler
	avoid map[NodeID]bool
}

func (s avoidSampler) Avoid(id NodeID) bool { return s.avoid[id] }

// An eager neighbour the sampler avoids (membership suspects it) gets no
// body; a lazy neighbour gets it in its place and becomes eager.
func TestPlumtreeAvoidsEagerNeighbour(t *testing.T) {
	tn := newTestNet(t, 5, 3, func(i int, c *Config) {
		c.Plumtree = true
		c.LazyThreshold = 1
		if i == 0 {
			nbrs := []NodeID{nodeName(1), nodeName(2), nodeName(3), nodeName(4)}
			c.Sampler = avoidSampler{&nbrSampler{peers: nbrs, rng: c.Rand, ver: 1, n: 5}, map[NodeID]bool{nodeName(1): true}}
		}
	})
	e := tn.nodes[0]
	l, _ := e.plumLister()
	e.plumRefresh(l)
	for _, i := range []int{2, 3, 4} {
		e.plum.lazy[nodeName(i)] = true // only the link to 1 is eager
	}
	m, err := e.Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[int]int{}
	for _, p := range tn.queue {
		f, err := DecodeFrame(p.frame, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range f.Messages {
			if b.Key() == m.Key() {
				bodies[p.to]++
			}
		}
	}
	if bodies[1] != 0 {
		t.Fatal("the avoided eager neighbour got the body")
	}
	if len(bodies) != 1 {
		t.Fatalf("bodies to %v, want exactly one lazy neighbour in the avoided one's place", bodies)
	}
	if st := e.PlumStats(); st.EagerReplaced != 1 {
		t.Fatalf("EagerReplaced %d, want 1", st.EagerReplaced)
	}
	eager, _ := e.PlumLinks()
	if eager != 2 {
		t.Fatalf("%d eager links, want 2 (the avoided one and its replacement)", eager)
	}
}
