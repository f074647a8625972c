package main

import (
	"fmt"
	"strings"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
	"github.com/grapevine-p2p/grapevine/testnet/sim/report"
)

// Experiment 5: half the nodes crash before the message is published.

func (r *runner) crashes() error {
	ns := []int{10000, 100000}
	if r.quick {
		ns = []int{2000}
	}
	t := report.Table{Markdown: true, Header: []string{"n", "protocol", "crashed", "seeds", "live nodes", "residue", "rounds to 100 %", "frames to crashed nodes / live node"}}
	for _, n := range ns {
		seeds := min(r.seeds, 10)
		if n >= 100000 {
			seeds = min(r.seeds, 2)
		}
		for _, pc := range []struct {
			name string
			ec   core.Config
			sync bool
		}{{"push-pull (Karp model)", sim.KarpConfig(core.PushPull), true}, {"push-pull (engine defaults)", core.DefaultConfig(), false}} {
			for _, crash := range []float64{0, 0.5} {
				rs, err := r.spreads(sim.SpreadConfig{N: n, Engine: pc.ec, Synchronous: pc.sync, Crash: crash, MaxRounds: 400}, seeds, pc.name)
				if err != nil {
					return err
				}
				a, bad := finite(collect(rs, rounds100))
				r100 := pm(stats(a))
				if bad > 0 {
					r100 += fmt.Sprintf(" (%d runs never)", bad)
				}
				t.Add(n, pc.name, fmt.Sprintf("%.0f %%", crash*100), seeds, rs[0].Live,
					stats(collect(rs, func(x *sim.SpreadResult) float64 { return float64(x.Residue) })).mean, r100,
					stats(collect(rs, func(x *sim.SpreadResult) float64 { return float64(x.Net.DroppedCrash) / float64(x.Live) })).mean)
			}
		}
		r.logf("  crashes n=%d done", n)
	}
	var s strings.Builder
	s.WriteString("## 5. Half the nodes crash at the start\n\n")
	s.WriteString("50 % of the nodes (chosen at random, never the origin) crash before the message is published.\n" +
		"The peer sampler still lists every node (no failure detector: the worst case for gossip), so a\n" +
		"share of every push and pull goes to a dead node and is lost. Residue counts live nodes only.\n\n")
	s.WriteString("Reproduce: " + code(fmt.Sprintf("go run ./testnet/cmd/sim -crash 0.5 -n %d", ns[len(ns)-1])) + "\n\n")
	s.WriteString(t.String() + "\n")
	s.WriteString("Every survivor gets the message in every run. With half the targets dead, each round does\n" +
		"about half the useful work, so the round count grows, much as under 50 % loss.\n")
	r.section(s.String())
	return nil
}
