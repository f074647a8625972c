package main

import (
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// Running seeds of one configuration in parallel (spreads) and reading
// their results.

func (r *runner) spreads(cfg sim.SpreadConfig, seeds int, what string) ([]*sim.SpreadResult, error) {
	// Seeds are independent runs: spread them over the CPUs (below 10^6
	// nodes, where memory allows). Results are collected by seed, so the
	// report does not depend on scheduling.
	out := make([]*sim.SpreadResult, seeds)
	errs := make([]error, seeds)
	workers := 1
	if cfg.N < 1000000 {
		workers = min(runtime.GOMAXPROCS(0), seeds)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range next {
				c := cfg
				c.Seed = uint64(s + 1)
				t0 := time.Now()
				out[s], errs[s] = sim.Spread(c)
				if errs[s] == nil && cfg.N >= 100000 {
					r.logf("  %s n=%d seed %d: %d rounds, %v", what, cfg.N, s+1, out[s].Rounds100, time.Since(t0).Round(time.Millisecond))
				}
			}
		}()
	}
	for s := 0; s < seeds; s++ {
		next <- s
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func collect(rs []*sim.SpreadResult, f func(*sim.SpreadResult) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

// rounds100 returns the rounds to reach everyone; runs that never did count
// as NaN.
func rounds100(r *sim.SpreadResult) float64 {
	if r.Rounds100 < 0 {
		return math.NaN()
	}
	return float64(r.Rounds100)
}

func finite(xs []float64) ([]float64, int) {
	out := xs[:0:0]
	bad := 0
	for _, x := range xs {
		if math.IsNaN(x) {
			bad++
		} else {
			out = append(out, x)
		}
	}
	return out, bad
}

// meanCurve averages infection curves (fraction reached per round), each
// extended with its last value.
func meanCurve(rs []*sim.SpreadResult) []float64 {
	l := 0
	for _, r := range rs {
		l = max(l, len(r.Curve))
	}
	out := make([]float64, l)
	for _, r := range rs {
		for i := 0; i < l; i++ {
			c := r.Curve[min(i, len(r.Curve)-1)]
			out[i] += float64(c) / float64(r.Live) / float64(len(rs))
		}
	}
	return out
}
