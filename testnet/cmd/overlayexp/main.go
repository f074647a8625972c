// Command overlayexp runs membership/overlay (HyParView) on the
// deterministic simulator (testnet/sim) and reports what issue 14 asks of
// a bounded overlay: active degrees, symmetry and connectivity after a
// join, steady-state traffic, and the ticks a silent crash of a fraction
// of the nodes takes to be detected (no survivor has a crashed neighbour),
// repaired (also every survivor has at least ActiveMin neighbours and the
// overlay is connected) and healthy (also every link is symmetric at that
// instant; under loss a few links are always being repaired).
//
//	go run ./testnet/cmd/overlayexp                         # n = 1,000 and 10,000, 50 % crash
//	go run ./testnet/cmd/overlayexp -n 100000 -contacts random -rate 200
//	go run ./testnet/cmd/overlayexp -n 1000 -crash 0.1,0.5,0.8 -loss 0.05
//
// Runs are deterministic: the same flags give the same table. One
// simulation runs at a time.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership/overlay"
	"github.com/grapevine-p2p/grapevine/testnet/internal/listflag"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

const tick = 100 * time.Millisecond

func main() {
	ns := flag.String("n", "1000,10000", "population sizes, comma-separated")
	crashes := flag.String("crash", "0.5", "fractions crashed silently, comma-separated")
	loss := flag.Float64("loss", 0, "frame loss probability")
	rate := flag.Int("rate", 25, "joins started per tick")
	contacts := flag.String("contacts", "one", "join through node 0 (one) or a random node already started (random)")
	settle := flag.Int("settle", 100, "ticks after the last join before measuring")
	limit := flag.Int("limit", 600, "ticks to wait for recovery")
	seed := flag.Uint64("seed", 1, "seed")
	flag.Parse()
	fmt.Println("| n | crash | loss | degree min/mean/max | below min | asym | components | passive mean | frames/node/tick | B/node/tick | heap/node | detected (ticks) | repaired (ticks) | healthy (ticks) | degree after | wall |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range listflag.Ints(*ns) {
		for _, f := range listflag.Floats(*crashes) {
			start := time.Now()
			r := run(n, f, *loss, *rate, *contacts == "random", *settle, *limit, *seed)
			fmt.Printf("| %d | %.0f %% | %.0f %% | %d/%.2f/%d | %d | %d | %d | %.1f | %.2f | %.0f | %.0f B | %s | %s | %s | %d/%.2f/%d | %.0f s |\n",
				n, 100*f, 100**loss, r.joined.minA, r.joined.meanA, r.joined.maxA, r.joined.belowMin, r.joined.asym,
				r.joined.components, r.joined.meanPassive, r.framesPerTick, r.bytesPerTick, r.heapPerNode,
				ticks(r.detected), ticks(r.repaired), ticks(r.healthy), r.after.minA, r.after.meanA, r.after.maxA, time.Since(start).Seconds())
		}
	}
}

func ticks(t int) string {
	if t < 0 {
		return "not within limit"
	}
	return strconv.Itoa(t)
}

type result struct {
	joined, after               check
	framesPerTick, bytesPerTick float64
	heapPerNode                 float64
	detected, repaired, healthy int
}

type node struct {
	ov  *overlay.Overlay
	ids []core.NodeID
}

func (s *node) Tick() { s.ov.Tick() }
func (s *node) Receive(from int, frame []byte) {
	if err := s.ov.Step(s.ids[from], frame); err != nil {
		panic(err)
	}
}

func run(n int, crash, loss float64, rate int, random bool, settle, limit int, seed uint64) result {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	net, err := sim.New(sim.Config{
		Nodes: n, Seed: seed, TickInterval: tick, Loss: loss,
		Latency: sim.Uniform{Min: 5 * time.Millisecond, Max: 40 * time.Millisecond},
	})
	if err != nil {
		panic(err)
	}
	ids := sim.IDs(n)
	nodes := make([]*overlay.Overlay, n)
	for i := range nodes {
		cfg := overlay.DefaultConfig()
		cfg.ID, cfg.Transport, cfg.Seed = ids[i], net.Endpoint(i), seed
		if nodes[i], err = overlay.New(cfg); err != nil {
			panic(err)
		}
	}
	net.SetHandler(0, &node{ov: nodes[0], ids: ids})
	last := 0
	for i := 1; i < n; i++ {
		i := i
		at := 1 + (i-1)/rate
		last = at
		net.At(time.Duration(at)*tick+tick/2, func() {
			net.SetHandler(i, &node{ov: nodes[i], ids: ids})
			contact := ids[0]
			if random {
				contact = ids[net.Rand().IntN(i)]
			}
			nodes[i].Join(contact)
		})
	}
	runTicks(net, last+settle)
	var r result
	r.joined = inspect(net, nodes)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	r.heapPerNode = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n)
	// Steady-state traffic over 100 quiet ticks.
	before := net.Total()
	runTicks(net, 100)
	after := net.Total()
	r.framesPerTick = float64(after.FramesSent-before.FramesSent) / float64(n) / 100
	r.bytesPerTick = float64(after.BytesSent-before.BytesSent) / float64(n) / 100
	net.CrashFraction(crash)
	r.detected, r.repaired, r.healthy = -1, -1, -1
	for k := 1; k <= limit && r.healthy < 0; k++ {
		runTicks(net, 1)
		c := inspect(net, nodes)
		if r.detected < 0 && c.deadActive == 0 {
			r.detected = k
		}
		if r.repaired < 0 && c.deadActive == 0 && c.belowMin == 0 && c.components == 1 {
			r.repaired = k
		}
		if c.healthy() {
			r.healthy = k
		}
	}
	r.after = inspect(net, nodes)
	return r
}

func runTicks(net *sim.Network, k int) {
	next := (net.Now()/tick + time.Duration(k)) * tick
	net.Run(next + tick - time.Millisecond)
}

type check struct {
	live, minA, maxA, belowMin, asym, deadActive, components int
	meanA, meanPassive                                       float64
}

func (c check) healthy() bool {
	return c.belowMin == 0 && c.asym == 0 && c.deadActive == 0 && c.components == 1
}

func inspect(net *sim.Network, nodes []*overlay.Overlay) check {
	c := check{minA: 1 << 30}
	var buf []core.NodeID
	sumA, sumP := 0, 0
	index := func(id core.NodeID) int {
		i, ok := sim.Index(id)
		if !ok || i >= len(nodes) {
			return -1
		}
		return i
	}
	for i, ov := range nodes {
		if !net.Up(i) {
			continue
		}
		c.live++
		a := ov.ActiveLen()
		sumA += a
		sumP += ov.PassiveLen()
		c.minA, c.maxA = min(c.minA, a), max(c.maxA, a)
		if a < overlay.DefaultConfig().ActiveMin {
			c.belowMin++
		}
		for _, id := range ov.Active(buf[:0]) {
			j := index(id)
			switch {
			case j < 0 || !net.Up(j):
				c.deadActive++
			case !nodes[j].IsActive(ov.ID()):
				c.asym++
			}
		}
	}
	c.meanA = float64(sumA) / float64(max(c.live, 1))
	c.meanPassive = float64(sumP) / float64(max(c.live, 1))
	// Components of the live nodes' active graph.
	seen := make([]bool, len(nodes))
	var stack []int
	for s := range nodes {
		if seen[s] || !net.Up(s) {
			continue
		}
		c.components++
		seen[s] = true
		stack = append(stack[:0], s)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, id := range nodes[i].Active(buf[:0]) {
				if j := index(id); j >= 0 && !seen[j] && net.Up(j) {
					seen[j] = true
					stack = append(stack, j)
				}
			}
		}
	}
	return c
}
