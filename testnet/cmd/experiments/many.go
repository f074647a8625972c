package main

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
	"github.com/grapevine-p2p/grapevine/testnet/sim/report"
)

// Experiment 6: many messages through one group, per selection policy, under
// a tight per-round budget.

type manyResult struct {
	policy                  core.Policy
	deliveries, expected    int
	lat                     []int // latency histogram in rounds
	latByPrio               [4][]int
	byPrioDel, byPrioExpect [4]int
	stats                   core.Stats
	bytesPerNodeRound       float64
}

func (r *runner) manyMessages() error {
	n, origins, perOrigin, storeTTL := r.manyN, 10, 100, 30
	if r.quick {
		n, perOrigin = min(n, 1000), 30
	}
	const budget = 2
	pols := []core.Policy{core.Random, core.Recent, core.Priority}
	results := make([]manyResult, len(pols))
	errs := make([]error, len(pols))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, pol := range pols {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = runMany(n, origins, perOrigin, budget, storeTTL, pol)
			if errs[i] == nil {
				r.logf("  policy %v: %d/%d delivered", pol, results[i].deliveries, results[i].expected)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	pct := func(h []int, q float64) string {
		tot := 0
		for _, c := range h {
			tot += c
		}
		if tot == 0 {
			return "–"
		}
		need := int(math.Ceil(q * float64(tot)))
		acc := 0
		for i, c := range h {
			acc += c
			if acc >= need {
				return fmt.Sprint(i)
			}
		}
		return "–"
	}
	meanLat := func(h []int) float64 {
		tot, s := 0, 0
		for i, c := range h {
			tot += c
			s += i * c
		}
		if tot == 0 {
			return math.NaN()
		}
		return float64(s) / float64(tot)
	}
	within := func(h []int, k, expected int) float64 {
		s := 0
		for i := 0; i <= k && i < len(h); i++ {
			s += h[i]
		}
		return float64(s) / float64(expected)
	}
	t := report.Table{Markdown: true, Header: []string{"policy", "delivered", "within 5 rounds", "latency mean", "p50", "p99", "max",
		"priority-3 mean", "priority-0 mean", "gaps given up", "KiB sent / node / round"}}
	for _, m := range results {
		mx := 0
		for i, c := range m.lat {
			if c > 0 {
				mx = i
			}
		}
		t.Add(m.policy.String(), fmt.Sprintf("%.2f %%", 100*float64(m.deliveries)/float64(m.expected)),
			fmt.Sprintf("%.1f %%", 100*within(m.lat, 5, m.expected)), meanLat(m.lat), pct(m.lat, 0.5), pct(m.lat, 0.99), mx,
			meanLat(m.latByPrio[3]), meanLat(m.latByPrio[0]), m.stats.GapsAbandoned, m.bytesPerNodeRound/1024)
	}
	var s strings.Builder
	s.WriteString("## 6. Many messages: selection policies under a tight budget\n\n")
	fmt.Fprintf(&s, "%d messages from %d origins through n = %d nodes: each origin publishes one 256-byte message per\n"+
		"round for %d rounds (priority drawn uniformly from 0–3), then the run continues 60 more rounds.\n"+
		"Push-pull with fanout 3, no eager push (so every transmission goes through the round's selection),\n"+
		"and a tight budget: at most %d messages per target per round (`MaxRoundMessages`), pull answers\n"+
		"included, while 10 messages are new every round. The store keeps a message %d rounds (`StoreTTL`;\n"+
		"pull can repair only what peers still store). Latency is in rounds from publish to delivery;\n"+
		"\"delivered\" is the fraction of the %d × %d (message, node) pairs delivered by the end.\n\n",
		origins*perOrigin, origins, n, perOrigin, budget, storeTTL, origins*perOrigin, n-1)
	if n < 10000 {
		s.WriteString("**Size.** The issue asks for 10,000 nodes; this run uses " + fmt.Sprint(n) + " because the engine answers a pull\n" +
			"request by scanning its whole store with a map lookup per stored message (`core.(*Engine).onDigest`:\n" +
			"55 % of the CPU in a profile of this experiment), so the cost grows as nodes × rounds × store size.\n" +
			"`go run ./testnet/cmd/experiments -only 6 -many-n 10000` runs the full size (about 12 min on an idle 2-core machine).\n\n")
	}
	s.WriteString("Reproduce: " + code("go run ./testnet/cmd/experiments -only 6") + " (this experiment has no single-message `sim` equivalent).\n\n")
	s.WriteString(t.String() + "\n")
	fmt.Fprintf(&s, "Capacity: a node sends at most %d × (3 push targets + 1 pull answer) = %d message bodies per round\n"+
		"while %d new messages appear per round, so the offered load exceeds what the budget carries: every\n"+
		"policy loses messages (gaps given up after `GapTimeout`, bodies expired from the stores after\n"+
		"`StoreTTL`), and the policy decides which.\n\n", budget, budget*4, origins)
	s.WriteString("With the budget far below the offered load, *recent* pushes fresh messages fast and leaves older\n" +
		"ones to pull, *priority* serves the high-priority class first (compare its priority-3 and\n" +
		"priority-0 means) at the expense of the low one, and *random* shares the budget evenly, so no\n" +
		"class is starved but none is fast. Messages whose gap a node could not fill within\n" +
		"`GapTimeout` ticks are given up (\"gaps given up\", summed over all nodes).\n")
	r.section(s.String())
	return nil
}

func runMany(n, origins, perOrigin, budget, storeTTL int, pol core.Policy) (manyResult, error) {
	res := manyResult{policy: pol}
	net, err := sim.New(sim.Config{Nodes: n, Seed: 1, TickInterval: time.Second, Latency: sim.Fixed(10 * time.Millisecond)})
	if err != nil {
		return res, err
	}
	ec := core.DefaultConfig()
	ec.Mode = core.PushPull
	ec.EagerPush = false
	ec.Fanout = 3
	ec.Policy = pol
	ec.MaxRoundMessages = budget
	ec.StoreTTL = storeTTL
	const maxLat = 400
	res.lat = make([]int, maxLat+1)
	for p := range res.latByPrio {
		res.latByPrio[p] = make([]int, maxLat+1)
	}
	total := origins * perOrigin
	res.expected = total * (n - 1)
	onDeliver := func(node int, m *core.Message, at time.Duration) {
		if m.Origin == sim.ID(node) {
			return
		}
		l := int((at - time.Duration(m.Timestamp)) / time.Second)
		l = min(max(l, 0), maxLat)
		res.deliveries++
		res.lat[l]++
		p := min(int(m.Priority), 3)
		res.latByPrio[p][l]++
		res.byPrioDel[p]++
	}
	g, err := sim.NewGossip(net, sim.GossipConfig{Engine: ec, OnDeliver: onDeliver})
	if err != nil {
		return res, err
	}
	rng := net.Rand()
	orig := make([]int, origins)
	for i := range orig {
		orig[i] = (i*n)/origins + 1
	}
	payload := make([]byte, 256)
	for round := 0; round < perOrigin; round++ {
		// Publish mid-round, spread over the round.
		for k, o := range orig {
			at := time.Duration(round)*time.Second + time.Duration(k+1)*time.Second/time.Duration(origins+1)
			prio := uint8(rng.IntN(4))
			o := o
			net.At(at, func() {
				if _, err := g.Publish(o, "many", payload, prio); err != nil {
					panic(err)
				}
			})
			res.byPrioExpect[prio] += n - 1
		}
	}
	end := time.Duration(perOrigin+60) * time.Second
	net.Run(end)
	res.stats = g.Stats()
	res.bytesPerNodeRound = float64(net.Total().BytesSent) / float64(n) / end.Seconds()
	return res, nil
}
