package overlay

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// The harness runs one unchanged Overlay per node on testnet/sim's
// deterministic discrete-event network: 100 ms ticks, one-way latency
// uniform in [5, 40] ms, silent crashes (a crashed node's frames vanish,
// nobody is told).

const tick = 100 * time.Millisecond

type cluster struct {
	t     testing.TB
	net   *sim.Network
	ids   []core.NodeID
	nodes []*Overlay
}

type simNode struct {
	ov  *Overlay
	ids []core.NodeID
}

func (s *simNode) Tick() { s.ov.Tick() }
func (s *simNode) Receive(from int, frame []byte) {
	if err := s.ov.Step(s.ids[from], frame); err != nil {
		panic(fmt.Sprintf("node %s: frame from %d: %v", s.ov.ID(), from, err))
	}
}

// newCluster builds n overlays (not yet started) on a simulated network.
func newCluster(t testing.TB, n int, seed uint64, loss float64, tweak func(*Config)) *cluster {
	net, err := sim.New(sim.Config{
		Nodes: n, Seed: seed, TickInterval: tick,
		Latency: sim.Uniform{Min: 5 * time.Millisecond, Max: 40 * time.Millisecond},
		Loss:    loss,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, net: net, ids: sim.IDs(n), nodes: make([]*Overlay, n)}
	for i := 0; i < n; i++ {
		cfg := DefaultConfig()
		cfg.ID = c.ids[i]
		cfg.Transport = net.Endpoint(i)
		cfg.Seed = seed
		if tweak != nil {
			tweak(&cfg)
		}
		ov, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.nodes[i] = ov
	}
	return c
}

// joinAll starts node 0, then every other node joining through node 0,
// perTick of them per tick, and runs until the last has joined plus settle
// ticks. It returns the tick at which the last node started.
func (c *cluster) joinAll(perTick, settle int) int {
	c.net.SetHandler(0, &simNode{ov: c.nodes[0], ids: c.ids})
	last := 0
	for i := 1; i < len(c.nodes); i++ {
		i := i
		at := 1 + (i-1)/perTick
		last = at
		c.net.At(time.Duration(at)*tick+tick/2, func() {
			c.net.SetHandler(i, &simNode{ov: c.nodes[i], ids: c.ids})
			c.nodes[i].Join(c.ids[0])
		})
	}
	c.runTicks(last + settle)
	return last
}

// runTicks runs k ticks and stops just before the next, when what the
// ticks sent has arrived.
func (c *cluster) runTicks(k int) {
	now := c.net.Now()
	next := (now/tick + time.Duration(k)) * tick
	c.net.Run(next + tick - time.Millisecond)
}

func (c *cluster) alive(i int) bool { return c.net.Up(i) }

// report is what check finds about the live nodes' views.
type report struct {
	live                  int
	minA, maxA            int
	meanA                 float64
	belowMin, aboveMax    int
	asym, deadActive      int
	badPassive            int // self, unknown, duplicate, or also active
	deadPassive           int
	components, largest   int
	passiveIn             []int // how many passive views hold each live node
	maxPassiveIn          int   // over live nodes other than the contact
	contactPassiveIn      int
	hist                  map[int]int // active degree -> nodes
	meanPassive           float64
	maxFrom, maxFromCount int
}

func (c *cluster) check() report {
	n := len(c.nodes)
	r := report{minA: 1 << 30, hist: map[int]int{}, passiveIn: make([]int, n)}
	idx := func(id core.NodeID) int {
		i, ok := sim.Index(id)
		if !ok || i >= n {
			return -1
		}
		return i
	}
	var buf []core.NodeID
	sumA, sumP := 0, 0
	for i, ov := range c.nodes {
		if !c.alive(i) {
			continue
		}
		r.live++
		a := ov.ActiveLen()
		sumA += a
		r.hist[a]++
		r.minA = min(r.minA, a)
		r.maxA = max(r.maxA, a)
		if a < ov.cfg.ActiveMin {
			r.belowMin++
		}
		if a > ov.cfg.ActiveMax {
			r.aboveMax++
		}
		buf = ov.Active(buf[:0])
		for _, id := range buf {
			j := idx(id)
			if j < 0 || !c.alive(j) {
				r.deadActive++
				continue
			}
			if !c.nodes[j].IsActive(ov.ID()) {
				r.asym++
			}
		}
		buf = ov.Passive(buf[:0])
		sumP += len(buf)
		seen := map[core.NodeID]bool{}
		for _, id := range buf {
			j := idx(id)
			if j < 0 || j == i || seen[id] || ov.IsActive(id) {
				r.badPassive++
				continue
			}
			seen[id] = true
			if !c.alive(j) {
				r.deadPassive++
				continue
			}
			r.passiveIn[j]++
		}
	}
	if r.live > 0 {
		r.meanA = float64(sumA) / float64(r.live)
		r.meanPassive = float64(sumP) / float64(r.live)
	}
	// Node 0, the contact every node joined through, is reported
	// separately too: the paper's contact would be in nearly every passive
	// view (see the package doc).
	for j, k := range r.passiveIn {
		if j == 0 {
			r.contactPassiveIn = k
		}
		r.maxPassiveIn = max(r.maxPassiveIn, k)
	}
	r.components, r.largest = c.components()
	return r
}

// components counts the connected components of the live nodes' active
// graph (edges in either direction) and the size of the largest.
func (c *cluster) components() (int, int) {
	n := len(c.nodes)
	seen := make([]bool, n)
	comps, largest := 0, 0
	var stack []int
	var buf []core.NodeID
	for s := 0; s < n; s++ {
		if seen[s] || !c.alive(s) {
			continue
		}
		comps++
		size := 0
		seen[s] = true
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			buf = c.nodes[i].Active(buf[:0])
			for _, id := range buf {
				j, ok := sim.Index(id)
				if ok && j < n && !seen[j] && c.alive(j) {
					seen[j] = true
					stack = append(stack, j)
				}
			}
		}
		largest = max(largest, size)
	}
	return comps, largest
}

// healthy is the recovery criterion: every live node has between min and
// max live neighbours, links are symmetric, the graph is connected.
func (r report) healthy() bool {
	return r.belowMin == 0 && r.aboveMax == 0 && r.asym == 0 && r.deadActive == 0 &&
		r.badPassive == 0 && r.components == 1
}

func (r report) String() string {
	keys := make([]int, 0, len(r.hist))
	for k := range r.hist {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var h strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&h, " %d:%d", k, r.hist[k])
	}
	pin := slices.Clone(r.passiveIn)
	slices.Sort(pin)
	return fmt.Sprintf("live %d: active min %d mean %.2f max %d (below min %d, above max %d), asymmetric %d, dead in active %d; "+
		"passive mean %.1f, bad %d, dead %d, passive in-degree max %d (contact %d); components %d (largest %d); degree histogram%s",
		r.live, r.minA, r.meanA, r.maxA, r.belowMin, r.aboveMax, r.asym, r.deadActive,
		r.meanPassive, r.badPassive, r.deadPassive, r.maxPassiveIn, r.contactPassiveIn, r.components, r.largest, h.String())
}

// footprint estimates the bytes one overlay holds: the struct, its slices'
// capacity and the ID strings it owns (IDs decoded from frames are copies;
// the harness's own ID slice is not counted).
func footprint(ov *Overlay) int {
	str := func(id core.NodeID) int { return (len(id) + 7) &^ 7 }
	n := int(unsafe.Sizeof(*ov)) + cap(ov.active)*int(unsafe.Sizeof(peer{})) +
		cap(ov.passive)*int(unsafe.Sizeof(core.NodeID(""))) + cap(ov.pending)*int(unsafe.Sizeof(request{})) +
		cap(ov.shuf.sent)*int(unsafe.Sizeof(core.NodeID(""))) + cap(ov.out)*int(unsafe.Sizeof(outFrame{}))
	for _, p := range ov.active {
		n += str(p.id)
	}
	for _, id := range ov.passive {
		n += str(id)
	}
	return n
}

// sumStats adds the live nodes' counters.
func (c *cluster) sumStats() Stats {
	var s Stats
	for _, ov := range c.nodes {
		st := ov.Stats()
		s.NeighborUp += st.NeighborUp
		s.NeighborDown += st.NeighborDown
		s.Failures += st.Failures
		s.Evictions += st.Evictions
		s.JoinsAccepted += st.JoinsAccepted
		s.JoinOffers += st.JoinOffers
		s.ForwardJoins += st.ForwardJoins
		s.KeepaliveFailures += st.KeepaliveFailures
		s.NeighborAccepted += st.NeighborAccepted
		s.RecordsIn += st.RecordsIn
		s.FramesIn += st.FramesIn
		s.JoinsDropped += st.JoinsDropped
		s.NeighborRequests += st.NeighborRequests
		s.NeighborRejected += st.NeighborRejected
		s.NeighborTimeouts += st.NeighborTimeouts
		s.ShufflesSent += st.ShufflesSent
		s.ShufflesAnswered += st.ShufflesAnswered
		s.PingsSent += st.PingsSent
		s.AsymmetryRepaired += st.AsymmetryRepaired
		s.WalksDropped += st.WalksDropped
		s.NotNeighbor += st.NotNeighbor
		s.AddRefused += st.AddRefused
		s.FramesSent += st.FramesSent
		s.Unsolicited += st.Unsolicited
		s.ShuffleStale += st.ShuffleStale
	}
	return s
}
