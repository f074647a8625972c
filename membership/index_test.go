package membership

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestMemberIndex checks the hash index against a Go map through random
// adds and swap-removes, as the member table does them.
func TestMemberIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var x memberIndex
	var all []*member
	ref := map[core.NodeID]*member{}
	for step := 0; step < 20000; step++ {
		if len(all) == 0 || rng.IntN(3) > 0 {
			id := core.NodeID(fmt.Sprint(rng.IntN(5000)))
			if ref[id] != nil {
				continue
			}
			mem := &member{ID: id, idx: int32(len(all))}
			all = append(all, mem)
			x.add(all, mem)
			ref[id] = mem
		} else {
			mem := all[rng.IntN(len(all))]
			x.del(mem.ID, mem.idx)
			last := all[len(all)-1]
			if last != mem {
				x.moved(last.ID, last.idx, mem.idx)
			}
			all[mem.idx] = last
			last.idx = mem.idx
			all = all[:len(all)-1]
			delete(ref, mem.ID)
		}
		if step%97 == 0 {
			if x.n != len(ref) {
				t.Fatalf("step %d: index holds %d, want %d", step, x.n, len(ref))
			}
			for i := 0; i < 5000; i += 7 {
				id := core.NodeID(fmt.Sprint(i))
				if got := x.get(all, id); got != ref[id] {
					t.Fatalf("step %d: get(%s) = %v, want %v", step, id, got, ref[id])
				}
			}
		}
	}
}

// TestQueueSortMatchesFullSort checks that the queue's incremental sort
// reaches exactly the order a full sort gives.
func TestQueueSortMatchesFullSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 300; trial++ {
		var q queue
		q.sorted = true
		next := uint64(0)
		for round := 0; round < 20; round++ {
			// Push a few fresh updates (sent 0, newest), sometimes bump
			// transmission counts out of order (as the buddy preference
			// does), then sort.
			for k := rng.IntN(6); k > 0; k-- {
				next++
				q.items = append(q.items, &update{order: next})
				q.sorted = false
			}
			if len(q.items) > 0 && rng.IntN(4) == 0 {
				q.items[rng.IntN(len(q.items))].sent += 1 + rng.IntN(3)
				q.sorted = false
			}
			want := slices.Clone(q.items)
			slices.SortFunc(want, less)
			q.sort()
			if !slices.Equal(q.items, want) {
				t.Fatalf("trial %d round %d: incremental sort differs from a full sort", trial, round)
			}
			for _, u := range q.items {
				if rng.IntN(3) == 0 {
					u.sent++
				}
			}
			slices.SortFunc(q.items, less)
		}
	}
}
