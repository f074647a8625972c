package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// Experiment 4: a CPU-starved member, with and without Lifeguard.

func expSlow(o *options) string {
	n := 100
	window := 5 * time.Minute
	if o.quick {
		window = 3 * time.Minute
	}
	delays := []time.Duration{1200 * time.Millisecond, 3 * time.Second}
	const slowIdx = 7
	type res struct {
		slowSusp, falseFails, failSlow, healthyRefut float64
		health                                       float64
	}
	seeds := o.nSeeds(2)
	// Variants: the LAN profile (Lifeguard + repair), the same with
	// memberlist's suspicion multiplier, and plain SWIM.
	variants := []struct {
		name string
		cfg  func(int, *membership.Config)
	}{
		{onOff(true), lifeguard(true)},
		{onOff(true) + ", SuspicionMult 4", func(_ int, c *membership.Config) { c.SuspicionMult = 4 }},
		{onOff(false), lifeguard(false)},
	}
	results := make([][][]res, len(delays))
	for di := range results {
		results[di] = make([][]res, len(variants))
	}
	var mu sync.Mutex
	var jobs []func()
	for di, d := range delays {
		for vi, v := range variants {
			for s := 1; s <= seeds; s++ {
				jobs = append(jobs, func() {
					w := newWorld(worldConfig{N: n, Seed: uint64(400 + s), Member: v.cfg})
					w.nodes[slowIdx].slow = d
					var r res
					w.onEvent = func(obs int, e membership.Event) {
						if e.Kind == membership.EventFail {
							if e.Member.ID == sim.ID(slowIdx) {
								r.failSlow++
							} else {
								r.falseFails++
							}
						}
					}
					var hs []float64
					for t := time.Second; t <= window; t += time.Second {
						w.net.Run(t)
						hs = append(hs, float64(w.nodes[slowIdx].ml.Health()))
					}
					r.health = mean(hs)
					r.slowSusp = float64(w.nodes[slowIdx].ml.Stats().Suspicions)
					for i, nd := range w.nodes {
						if i != slowIdx {
							r.healthyRefut += float64(nd.ml.Stats().Refutations)
						}
					}
					mu.Lock()
					results[di][vi] = append(results[di][vi], r)
					mu.Unlock()
				})
			}
		}
	}
	parallel(o, jobs)
	avg := func(rs []res, f func(res) float64) float64 {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, f(r))
		}
		return mean(xs)
	}
	var rows [][]string
	for di, d := range delays {
		for vi, v := range variants {
			rs := results[di][vi]
			rows = append(rows, []string{d.String(), v.name,
				f1(avg(rs, func(r res) float64 { return r.slowSusp })),
				f1(avg(rs, func(r res) float64 { return r.healthyRefut })),
				f1(avg(rs, func(r res) float64 { return r.falseFails })),
				f1(avg(rs, func(r res) float64 { return r.failSlow })),
				f2(avg(rs, func(r res) float64 { return r.health })),
			})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `n = %d, no loss, %s per run, mean of %d seeds. Member %d is CPU-starved: every frame it
receives is processed only after the given delay (its timers run on time), so the acks to
its own probes arrive after its probe timeout. The other members are healthy.

`, n, window, seeds, slowIdx)
	b.WriteString(table([]string{"processing delay", "detector", "suspicions raised by the slow member", "refutations by healthy members",
		"fail events about healthy members", "fail events about the slow member", "slow member's mean health multiplier"}, rows))
	b.WriteString(`Without Lifeguard the slow member suspects nearly every member it probes, each healthy
member has to refute, and the whole group pays for the dissemination. With Lifeguard the
missed nacks raise its local health multiplier, which stretches its probe timeout and
period until its late acks fit again; it raises far fewer suspicions and the healthy members
refute far less.

The slow member itself is suspected by others, since its acks are late for everyone. What
happens next depends on the suspicion timeout. Plain SWIM waits 4·log₁₀ n periods (8 s at
n = 100), long enough for a refutation that is itself seconds late. The LAN profile waits
1.5·log₁₀ n periods once independent members confirm the suspicion (3 s here); it chose that
to detect crashes fast (docs/benchmarks/swim.md). So a member 1.2 s behind survives, while a
member whose every answer is 3 s late is declared failed again and again, each time
refuting and coming back. Whether such a member should count as failed is the application's
call: the rows with Config.SuspicionMult 4 (memberlist's value) show what the longer timeout
buys, at the price of slower crash detection.

`)
	return b.String()
}
