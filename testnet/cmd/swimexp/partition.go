package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Experiment 5: a partition into halves, then heal.

func expPartition(o *options) string {
	n := 500
	if o.quick {
		n = 200
	}
	warm, cut := 20*time.Second, 180*time.Second
	limit := 600 * time.Second
	seeds := o.nSeeds(2)
	type res struct {
		split, heal     float64
		split99, heal99 float64 // the same for 99 % of the members' lists
		ts, view        []float64
	}
	results := make([]res, seeds)
	var jobs []func()
	for s := 1; s <= seeds; s++ {
		jobs = append(jobs, func() {
			w := newWorld(worldConfig{N: n, Seed: uint64(500 + s)})
			var a, bb []int
			for i := 0; i < n; i++ {
				if i < n/2 {
					a = append(a, i)
				} else {
					bb = append(bb, i)
				}
			}
			r := res{split: math.NaN(), heal: math.NaN(), split99: math.NaN(), heal99: math.NaN()}
			w.net.Run(warm)
			w.net.Partition(a, bb)
			for t := warm + time.Second; t <= warm+cut+limit; t += time.Second {
				if t == warm+cut+time.Second {
					w.net.Heal()
				}
				w.net.Run(t)
				sum, half, whole := 0, 0, 0
				for _, nd := range w.nodes {
					sz := nd.ml.Size()
					sum += sz
					switch sz {
					case n / 2:
						half++
					case n:
						whole++
					}
				}
				allHalf := half == n
				if 100*half >= 99*n && math.IsNaN(r.split99) && t <= warm+cut {
					r.split99 = (t - warm).Seconds()
				}
				if 100*whole >= 99*n && math.IsNaN(r.heal99) && t > warm+cut {
					r.heal99 = (t - warm - cut).Seconds()
				}
				r.ts = append(r.ts, t.Seconds())
				r.view = append(r.view, float64(sum)/float64(n))
				if allHalf && math.IsNaN(r.split) && t <= warm+cut {
					r.split = (t - warm).Seconds()
				}
				if t > warm+cut && math.IsNaN(r.heal) && w.converged() {
					r.heal = (t - warm - cut).Seconds()
					// keep sampling a little for the plot
				}
				if !math.IsNaN(r.heal) && t > warm+cut+time.Duration(r.heal)*time.Second+30*time.Second {
					break
				}
			}
			results[s-1] = r
		})
	}
	parallel(o, jobs)
	var rows [][]string
	var ss []series
	for i, r := range results {
		rows = append(rows, []string{fmt.Sprint(i + 1), f0(r.split99), f0(r.split), f0(r.heal99), f0(r.heal)})
		ss = append(ss, series{name: fmt.Sprintf("seed %d", i+1), xs: r.ts, ys: r.view})
	}
	var b strings.Builder
	fmt.Fprintf(&b, `n = %d; after a %s warm-up the network is cut into two halves of %d for %s, then
healed. "Split" is the time from the cut until every member's list holds exactly its own
half; "re-merged" the time from the heal until every member sees all %d members alive and
nothing else. The "99 %%" columns give the same for 99 %% of the members' lists (counting
the live members in each list), which shows the bulk apart from the last stragglers.

`, n, warm, n/2, cut, n)
	b.WriteString(table([]string{"seed", "split, 99 % of lists (s after cut)", "split: every member sees only its half (s after cut)", "re-merged, 99 % of lists (s after heal)", "re-merged: every list exact (s after heal)"}, rows))
	b.WriteString(`Each side declares the other dead through the ordinary path (probe, suspicion, confirmations
by the many members that fail to reach the same targets, timeout). After the heal nothing
crosses by itself: every member only probes and gossips to members it believes alive. The
reconnect (every 30 s each member sends a full-state exchange to one random member it
believes failed) re-establishes contact: the receiver finds itself declared dead in the
sender's state and refutes with a higher incarnation, its reply carries that refutation
back, and both sides then gossip the refutations they hear. Tombstones (kept 1 h) are what
make the reconnect possible.

The mean list (plot) moves on the gossip's time scale: it sheds the other half within about
a minute of the cut and regains nearly all of it within seconds of the heal. Exact lists take
longer, because most lists are off by one or two entries for a while. After the cut and
again after the heal, 250 updates about the other side are in flight at once on each side,
and they compete for the same piggyback space. A list that missed every copy of one update
(dissemination reaches everyone only with high probability) is put right by the periodic
full-state exchange with a random member, or when its owner probes that member in its
round-robin of all members. Both act on a scale of tens of seconds at n = 500.

`)
	b.WriteString(linePlot(o, "partition", fmt.Sprintf("Partition of %d into halves at %s, heal at %s", n, warm, warm+cut),
		"time (s)", "mean live members per member's list", false, ss))
	return b.String()
}
