package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// Experiment 1: the time from a crash to its first detection and until
// every member knows, against SWIM's e/(e−1) periods.

type victim struct {
	crash, suspect, fail time.Duration
	failAt               []time.Duration // per observer: first fail event
}

func expDetect(o *options) string {
	ns := o.sizes([]int{100, 1000, 10000}, []int{100, 300})
	const crashes = 8
	spacing, warm, tail := 30*time.Second, 20*time.Second, 60*time.Second
	type res struct {
		det, dis, all  []float64
		incomplete, nv int
		walls          []time.Duration
	}
	results := make([]res, len(ns))
	var mu sync.Mutex
	var jobs []job
	// Largest first, so the big simulations start while memory is free.
	for ni := len(ns) - 1; ni >= 0; ni-- {
		n := ns[ni]
		seeds := o.nSeeds(3)
		if n >= 3000 {
			seeds = o.nSeeds(2)
		}
		for s := 1; s <= seeds; s++ {
			jobs = append(jobs, job{n: n, run: func() {
				start := time.Now()
				w := newWorld(worldConfig{N: n, Seed: uint64(s*7919 + n)})
				rng := rand.New(rand.NewPCG(uint64(s), uint64(n)))
				byID := map[core.NodeID]*victim{}
				var vs []*victim
				w.onEvent = func(obs int, e membership.Event) {
					v := byID[e.Member.ID]
					if v == nil {
						return
					}
					now := w.net.Now()
					switch e.Kind {
					case membership.EventSuspect:
						if v.suspect == 0 {
							v.suspect = now
						}
					case membership.EventFail:
						if v.fail == 0 {
							v.fail = now
						}
						if v.failAt[obs] == 0 {
							v.failAt[obs] = now
						}
					}
				}
				perm := rng.Perm(n)
				for j := 0; j < crashes; j++ {
					idx := perm[j]
					at := warm + time.Duration(j)*spacing + time.Duration(rng.Int64N(int64(period)))
					w.net.At(at, func() {
						w.net.Crash(idx)
						v := &victim{crash: at, failAt: make([]time.Duration, n)}
						byID[sim.ID(idx)] = v
						vs = append(vs, v)
					})
				}
				w.net.Run(warm + crashes*spacing + tail)
				up := w.upMembers()
				var r res
				for _, v := range vs {
					r.nv++
					if v.suspect == 0 || v.fail == 0 {
						r.incomplete++
						continue
					}
					last := time.Duration(0)
					ok := true
					for _, i := range up {
						if v.failAt[i] == 0 {
							ok = false
							break
						}
						last = max(last, v.failAt[i])
					}
					r.det = append(r.det, periods(v.suspect-v.crash))
					if !ok {
						r.incomplete++
						continue
					}
					r.dis = append(r.dis, periods(last-v.fail))
					r.all = append(r.all, (last - v.crash).Seconds())
				}
				mu.Lock()
				results[ni].det = append(results[ni].det, r.det...)
				results[ni].dis = append(results[ni].dis, r.dis...)
				results[ni].all = append(results[ni].all, r.all...)
				results[ni].incomplete += r.incomplete
				results[ni].nv += r.nv
				results[ni].walls = append(results[ni].walls, time.Since(start))
				mu.Unlock()
				fmt.Fprintf(os.Stderr, "swimexp: detect n=%d seed %d done in %s\n", n, s, time.Since(start).Round(time.Second))
			}})
		}
	}
	parallelMem(o, jobs)
	var rows [][]string
	var xs, med, p90, exp2 []float64
	for i, n := range ns {
		r := results[i]
		lam := membership.RetransmitLimit(4, n)
		minS := membership.DefaultLANConfig().SuspicionMult * math.Max(1, math.Log10(float64(n)))
		rows = append(rows, []string{
			fmt.Sprint(n), fmt.Sprint(r.nv),
			f2(mean(r.det)), f2(quantile(r.det, .5)), f2(quantile(r.det, .9)), f2(quantile(r.det, 1)),
			f1(minS), f1(quantile(r.all, .5)), f1(quantile(r.all, .9)),
			f2(quantile(r.dis, .5)), f2(quantile(r.dis, .9)), fmt.Sprint(lam), fmt.Sprint(r.incomplete), walls(r.walls),
		})
		xs = append(xs, float64(n))
		med = append(med, mean(r.det))
		p90 = append(p90, quantile(r.det, .9))
		exp2 = append(exp2, 2)
	}
	swim := make([]float64, len(xs))
	for i := range swim {
		swim[i] = math.E / (math.E - 1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `A converged group; every %s a random member crashes (no leave), %d crashes per run,
%d runs per n (seeds) — %s. For each crash: the time from the crash to the first
suspicion raised by any member (first detection), the time until every surviving member has
declared it failed, and the dissemination time from the first declaration to the last.

`, spacing, crashes, o.nSeeds(3), "2 at n ≥ 3,000")
	b.WriteString(table([]string{"n", "crashes", "first detection: mean (periods)", "median", "p90", "max",
		"min suspicion timeout (s)", "crash → all know: median (s)", "p90 (s)", "first → last declaration: median (periods)", "p90", "λ·⌈log₁₀(n+1)⌉ transmissions", "incomplete", "wall time per run"}, rows))
	b.WriteString(`SWIM's e/(e−1) ≈ 1.58 periods assumes synchronised periods and a crash at the start of one:
every member's probe of that period may pick the victim. Here members' periods have
independent phases and the crash falls at a random instant, so the first probe of the victim
starts after an exponential wait of mean one period (the same 1 − 1/e chance per period, spread
over time) and then needs its own period to fail: 2 periods is the asynchronous counterpart
of 1.58. Detection time does not grow with n, as SWIM predicts.

"Crash → all know" is dominated by the suspicion timeout, by design: the minimum is
1.5·log₁₀ n periods (Lifeguard starts at six times that and shrinks with independent
suspicions, which a real crash collects quickly because every member that probes the victim
confirms). Once declared, the failure reaches every member within about a period or two:
updates ride on pings, acks and three gossip frames every 200 ms, far faster than the
λ·log n periods of piggybacking on pings alone. For comparison, hashicorp/memberlist's LAN
profile took 8.3–8.7 s from crash to every survivor's event at 20–50 members (REFERENCES.md).

`)
	b.WriteString(linePlot(o, "detect", "First detection of a crash", "group size n", "periods", true, []series{
		{name: "measured mean", xs: xs, ys: med, points: true},
		{name: "measured p90", xs: xs, ys: p90, points: true},
		{name: "e/(e−1) (synchronous SWIM)", xs: xs, ys: swim, dashed: true},
		{name: "2 (asynchronous periods)", xs: xs, ys: exp2, dashed: true},
	}))
	return b.String()
}
