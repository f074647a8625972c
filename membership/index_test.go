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
			mem := &member{id: id, idx: int32(len(all))}
			all = append(all, mem)
			x.add(all, mem)
			ref[id] = mem
		} else {
			mem := all[rng.IntN(len(all))]
			x.del(mem.id, mem.idx)
			last := all[len(all)-1]
			if last != mem {
				x.moved(last.id, last.idx, mem.idx)
			}
			all[mem.idx] = last
			last.idx = mem.idx
			all = all[:len(all)-1]
			delete(ref, mem.id)
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

// TestFlushProbeOrder checks that deferred insertions into the probe order
// give exactly the order of insertions made one by one, in both the small
// (direct) and the large (Fenwick tree) case.
func TestFlushProbeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		m := &Memberlist{}
		var want []*member
		for i := rng.IntN(50); i > 0; i-- {
			mem := &member{id: core.NodeID(fmt.Sprint("old", i))}
			want = append(want, mem)
		}
		m.probeOrder = slices.Clone(want)
		m.probeIdx = rng.IntN(len(want) + 1)
		for i := 0; i < m.probeIdx; i++ {
			want[i], m.probeOrder[i] = nil, nil // consumed
		}
		adds := rng.IntN(3)
		if trial%2 == 0 {
			adds = 17 + rng.IntN(200)
		}
		for i := 0; i < adds; i++ {
			mem := &member{id: core.NodeID(fmt.Sprint("new", i))}
			pos := m.probeIdx + rng.IntN(len(want)-m.probeIdx+1)
			want = slices.Insert(want, pos, mem)
			m.probeAdds = append(m.probeAdds, probeAdd{pos: pos, mem: mem})
		}
		m.flushProbeOrder()
		if !slices.Equal(m.probeOrder, want) || len(m.probeAdds) != 0 {
			t.Fatalf("trial %d (%d insertions): deferred order differs", trial, adds)
		}
	}
}
