package main

import (
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"
)

// overlayShape describes the live peers' overlay as the window starts
// (-stats): the hop distances between peers over neighbour links (from up
// to 32 sources, breadth first), and the spread of the peers' degrees. Two
// groups of equal degree can still differ in how far a message must
// travel, which is what a change to how peers join could move.
type overlayShape struct {
	meanHops               float64
	maxHops                int
	unreached              int // (source, peer) pairs with no path
	degMin, degMed, degMax int
}

func (g *grapevineSys) overlayShape() overlayShape {
	ps := g.livePeers()
	adj := make(map[peer.ID][]peer.ID, len(ps))
	for _, p := range ps {
		adj[p.ID()] = p.Neighbors()
	}
	return shapeOf(adj)
}

// shapeOf measures the graph adj (each peer's neighbours; a neighbour
// missing from adj is not live and not walked through).
func shapeOf(adj map[peer.ID][]peer.ID) overlayShape {
	var sh overlayShape
	if len(adj) == 0 {
		return sh
	}
	degs := make([]int, 0, len(adj))
	for _, nb := range adj {
		degs = append(degs, len(nb))
	}
	slices.Sort(degs)
	sh.degMin, sh.degMed, sh.degMax = degs[0], degs[len(degs)/2], degs[len(degs)-1]
	ids := make([]peer.ID, 0, len(adj))
	for id := range adj {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	step := max(1, len(ids)/32)
	var sum, pairs int
	for s := 0; s < len(ids); s += step {
		dist := map[peer.ID]int{ids[s]: 0}
		queue := []peer.ID{ids[s]}
		for len(queue) > 0 {
			u := queue[0]
			queue = queue[1:]
			for _, v := range adj[u] {
				if _, seen := dist[v]; !seen {
					if _, live := adj[v]; live {
						dist[v] = dist[u] + 1
						queue = append(queue, v)
					}
				}
			}
		}
		for _, d := range dist {
			sum += d
			sh.maxHops = max(sh.maxHops, d)
		}
		pairs += len(dist) - 1
		sh.unreached += len(ids) - len(dist)
	}
	sh.meanHops = float64(sum) / float64(max(1, pairs))
	return sh
}
