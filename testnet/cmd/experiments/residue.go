package main

import (
	"math"
	"strings"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
	"github.com/grapevine-p2p/grapevine/testnet/sim/report"
)

// Experiment 2: push-only residue vs c and b, against Gupta's 1/n^(cb−2).

func (r *runner) residue() error {
	ns := []int{1000, 10000}
	seeds := map[int]int{1000: max(r.seeds, 20) * 5 / 2, 10000: min(r.seeds, 10)}
	if r.quick {
		ns = []int{1000}
		seeds[1000] = r.seeds * 2
	}
	bs := []int{1, 2, 3}
	cs := []float64{0.5, 1, 1.5, 2}
	t := report.Table{Markdown: true, Header: []string{"n", "b", "c", "c·b", "rounds R", "seeds", "residue (nodes)", "residue fraction",
		"all stop at R: residue", "1/n^(cb−2) (nodes)", "n²·e^(−bR) (nodes)"}}
	for _, n := range ns {
		for _, b := range bs {
			for _, c := range cs {
				ec := sim.KarpConfig(core.Push)
				ec.Fanout = b
				ec.DistinctTargets = true
				ec.Rounds = 0
				ec.RoundsFactor = c
				R := core.RoundsFor(c, n)
				rs, err := r.spreads(sim.SpreadConfig{N: n, Engine: ec, Synchronous: true, UntilQuiet: true, MaxRounds: 400}, seeds[n], "residue")
				if err != nil {
					return err
				}
				res := stats(collect(rs, func(x *sim.SpreadResult) float64 { return float64(x.Residue) }))
				// Gupta's model: everyone gossips until the global time R.
				gs, err := r.spreads(sim.SpreadConfig{N: n, Engine: ec, Synchronous: true, MaxRounds: R}, seeds[n], "residue")
				if err != nil {
					return err
				}
				gres := stats(collect(gs, func(x *sim.SpreadResult) float64 { return float64(x.Residue) }))
				nf := float64(n)
				t.Add(n, b, c, c*float64(b), R, len(rs), res.mean, res.mean/nf, gres.mean, math.Pow(nf, -(c*float64(b)-2)),
					math.Min(nf, nf*nf*math.Exp(-float64(b)*float64(R))))
			}
		}
		r.logf("  residue n=%d done", n)
	}
	var s strings.Builder
	s.WriteString("## 2. Residue vs c and b (push only)\n\n")
	s.WriteString("Push-only gossip in which each node, once informed, pushes to b distinct random nodes per round\n" +
		"for R = ⌈c·⌈ln n⌉⌉ rounds (the engine's `Fanout`, `RoundsFactor`; no pull, no eager push). The run\n" +
		"goes on until every node has stopped pushing; the residue is the number of nodes never informed\n" +
		"(mean over the seeds). Gupta's estimate: about 1/n^(cb−2) nodes remain uninfected after c·ln n\n" +
		"rounds; the last column evaluates the same logistic model, (n+1)−y(R) ≈ n²·e^(−bR), with the rounds R\n" +
		"the engine actually runs (⌈c·⌈ln n⌉⌉ ≥ c·ln n), capped at n. The column \"all stop at R\" is the\n" +
		"model's own setting: the same runs cut at the global round R, when every node stops at once.\n\n")
	s.WriteString("Reproduce one cell: " + code("go run ./testnet/cmd/sim -mode push -eager=false -fanout 2 -c 1 -n 1000 -sync -until-quiet -seeds 20") + "\n\n")
	s.WriteString(t.String() + "\n")
	s.WriteString("Two effects pull in opposite directions. The estimate comes from a continuous logistic model,\n" +
		"in which the informed set grows e^b-fold per unit of time at the start; in rounds it grows at\n" +
		"most (1+b)-fold per round, so the discrete process is slower and, cut at the global round R\n" +
		"(\"all stop at R\"), leaves more nodes uninformed than the estimate says. The engine, however,\n" +
		"lets each node push for R rounds after *it* was informed, so late nodes keep pushing past that\n" +
		"deadline, and its residue falls far below the estimate. In both settings the residue collapses\n" +
		"as c·b grows past 2, and is out of reach of any seed count once the estimate is far below one\n" +
		"node.\n")
	r.section(s.String())
	return nil
}
