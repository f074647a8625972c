package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// Experiment 7: gossip (grapevine.Node) over membership, with crashes in
// the middle of a dissemination.

func expGossip(o *options) string {
	n := 500
	if o.quick {
		n = 200
	}
	warm := 20 * time.Second
	seeds := o.nSeeds(2)
	type res struct {
		informedAtCrash, survivors, delivered float64
		last                                  float64 // s after publish until the last survivor
		conv                                  float64
	}
	scenarios := []string{"20 % of members crash when a quarter holds the message", "the origin and 20 % crash when a quarter holds it"}
	results := make([][]res, len(scenarios))
	var mu sync.Mutex
	var jobs []func()
	for sc := range scenarios {
		for s := 1; s <= seeds; s++ {
			jobs = append(jobs, func() {
				w := newWorld(worldConfig{N: n, Seed: uint64(700 + s), Gossip: true})
				rng := rand.New(rand.NewPCG(uint64(s), uint64(sc)))
				got := make([]time.Duration, n)
				holders := 0
				r := res{conv: math.NaN()}
				crashed := false
				var origin int
				crash := func() {
					r.informedAtCrash = float64(holders)
					perm := rng.Perm(n)
					k := 0
					for _, i := range perm {
						if k == n/5 {
							break
						}
						if i == origin {
							continue
						}
						w.net.Crash(i)
						k++
					}
					if sc == 1 {
						w.net.Crash(origin)
					}
				}
				w.onMsg = func(node int, m *core.Message) {
					if got[node] == 0 {
						got[node] = w.net.Now()
						holders++
						// Crash in the middle of the dissemination: as soon as a
						// quarter of the group holds the message.
						if !crashed && holders >= n/4 {
							crashed = true
							w.net.At(w.net.Now(), crash)
						}
					}
				}
				w.net.Run(warm)
				origin = rng.IntN(n)
				pub := w.net.Now()
				if _, err := w.nodes[origin].gn.Publish("t", []byte("payload")); err != nil {
					panic(err)
				}
				for t := pub + time.Second; t < pub+300*time.Second; t += time.Second {
					w.net.Run(t)
					if math.IsNaN(r.conv) && w.converged() {
						r.conv = (t - pub).Seconds()
					}
					if t >= pub+30*time.Second && !math.IsNaN(r.conv) {
						break
					}
				}
				for i := 0; i < n; i++ {
					if w.net.Up(i) {
						r.survivors++
						if got[i] != 0 {
							r.delivered++
							r.last = math.Max(r.last, (got[i] - pub).Seconds())
						}
					}
				}
				mu.Lock()
				results[sc] = append(results[sc], r)
				mu.Unlock()
			})
		}
	}
	parallel(o, jobs)
	var rows [][]string
	for sc, name := range scenarios {
		for i, r := range results[sc] {
			rows = append(rows, []string{name, fmt.Sprint(i + 1), fmt.Sprintf("%.0f of %d", r.informedAtCrash, n),
				fmt.Sprintf("%.0f / %.0f", r.delivered, r.survivors), fmt.Sprintf("%.3f", r.last), f0(r.conv)})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `n = %d grapevine.Nodes (core.Engine with its default push-pull configuration, one gossip round
every 2 ticks = 200 ms, over the memberlist as peer sampler and piggybacker). After a %s
warm-up one member publishes a message; as soon as a quarter of the group holds it, a fifth of
the group (chosen at random, so about a fifth of the informed and of the uninformed) crashes
without a word. %d seeds per scenario.

`, n, warm, seeds)
	b.WriteString(table([]string{"scenario", "seed", "members holding the message at the crash", "survivors delivered", "publish → last survivor (s)", "membership converged (s after publish)"}, rows))
	b.WriteString(`Every survivor delivers the message, including when its origin is among the crashed:
eager push has usually passed it on in the first hops, the hot rounds keep pushing it, and pull
(one digest per round) repairs whatever the crashed members were supposed to forward. Gossip
targets come from the memberlist, so until the crashed members are declared dead some pushes go
to dead members; that only costs redundancy. The membership then removes the crashed members
(column 6: suspicion timeout plus dissemination).

`)
	return b.String()
}
