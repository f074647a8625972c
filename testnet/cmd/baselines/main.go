// Command baselines regenerates the comparison of the classic multicast
// protocols (centralized, tree, SRM, RMTP) with core's gossip (push, pull,
// push-pull): every protocol runs in the same simulated network
// (testnet/sim) under the same scenarios, and the command writes the tables
// to docs/experiments/baselines.md and the delivery curves to
// docs/experiments/img/baselines-*.png.
//
//	go run ./testnet/cmd/baselines            # the full table (about 10 minutes on 2 cores)
//	go run ./testnet/cmd/baselines -quick     # n = 100 and 1,000 only
//	go run ./testnet/cmd/baselines -n 1000 -protocols srm,tree -scenarios "10% loss"
//
// Runs are deterministic: the same flags give the same tables.
package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/grapevine-p2p/grapevine/testnet/baselines/compare"

	"github.com/grapevine-p2p/grapevine/testnet/sim/report"
)

// size is one population size and how many seeds it gets.
type size struct {
	n, seeds int
	// protocols limits which protocols run at this size (nil: all).
	protocols []string
	// scenarios limits the scenarios (nil: all).
	scenarios []string
}

func main() {
	var (
		out       = flag.String("out", "docs/experiments", "directory for baselines.md and img/")
		ns        = flag.String("n", "", "comma-separated sizes (default: the full plan: 100, 1000, 10000, 100000)")
		seedsFlag = flag.Int("seeds", 0, "seeds per size (default: 5 at 100, 3 at 1,000, 1 above)")
		protos    = flag.String("protocols", "", "comma-separated protocols (default: all)")
		scens     = flag.String("scenarios", "", "comma-separated scenario names (default: all)")
		quick     = flag.Bool("quick", false, "n = 100 and 1,000 only")
		jobs      = flag.Int("j", runtime.NumCPU(), "runs in parallel")
		plotN     = flag.Int("plot-n", 1000, "population size of the delivery-curve plots")
		noWrite   = flag.Bool("print", false, "print the tables instead of writing files")
		save      = flag.String("save", "", "also save the results as JSON to this file")
		load      = flag.String("load", "", "render from results saved with -save instead of running (comma-separated files: later ones override)")
		srmD      = flag.Float64("srm-d", 0, "SRM's D1 = D2 (default max(1, log10 n))")
	)
	flag.Parse()
	plan := []size{
		{n: 100, seeds: 5},
		{n: 1000, seeds: 3},
		{n: 10000, seeds: 1},
		// At 10^5 nodes: no faults only, and of the gossip modes push-pull
		// only (the engines' per-frame cost makes push and pull take
		// minutes there; testnet/sim's own scale runs cover gossip at 10^5+).
		{n: 100000, seeds: 1, scenarios: []string{"no faults"},
			protocols: []string{"centralized", "tree", "srm", "rmtp", "push-pull"}},
	}
	if *quick {
		plan = plan[:2]
	}
	if *ns != "" {
		plan = nil
		for _, s := range strings.Split(*ns, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 3 {
				fatalf("bad -n %q", s)
			}
			plan = append(plan, size{n: n, seeds: 1})
		}
	}
	for i := range plan {
		if *seedsFlag > 0 {
			plan[i].seeds = *seedsFlag
		}
	}
	protocols := compare.Protocols
	if *protos != "" {
		protocols = split(*protos)
		for _, p := range protocols {
			if !slices.Contains(compare.Protocols, p) {
				fatalf("unknown protocol %q (want %s)", p, strings.Join(compare.Protocols, ", "))
			}
		}
	}
	scenarios := compare.Scenarios
	if *scens != "" {
		scenarios = nil
		for _, name := range split(*scens) {
			i := slices.IndexFunc(compare.Scenarios, func(s compare.Scenario) bool { return s.Name == name })
			if i < 0 {
				fatalf("unknown scenario %q", name)
			}
			scenarios = append(scenarios, compare.Scenarios[i])
		}
	}

	var params []compare.Params
	for _, sz := range plan {
		for _, sc := range scenarios {
			if sz.scenarios != nil && !slices.Contains(sz.scenarios, sc.Name) {
				continue
			}
			for _, proto := range protocols {
				if sz.protocols != nil && !slices.Contains(sz.protocols, proto) {
					continue
				}
				for s := 1; s <= sz.seeds; s++ {
					p := compare.DefaultParams()
					p.Protocol, p.Scenario, p.N, p.Seed = proto, sc, sz.n, uint64(s)
					p.SRMD = *srmD
					params = append(params, p)
				}
			}
		}
	}
	// Largest runs first, so the pool ends on small ones.
	order := make([]int, len(params))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(params[b].N, params[a].N) })

	start := time.Now()
	results := make([]*compare.Result, len(params))
	if *load != "" {
		// Several files: a later file's runs replace an earlier one's with
		// the same protocol, scenario, size and seed (to re-run one
		// protocol after a change without re-running the rest).
		params = nil
		results = nil
		var elapsed time.Duration
		idx := map[string]int{}
		for _, path := range split(*load) {
			var saved savedRun
			b, err := os.ReadFile(path)
			if err == nil {
				err = json.Unmarshal(b, &saved)
			}
			if err != nil {
				fatalf("loading %s: %v", path, err)
			}
			for _, r := range saved.Results {
				k := fmt.Sprintf("%s|%s|%d|%d", r.Protocol, r.Scenario.Name, r.N, r.Seed)
				if i, ok := idx[k]; ok {
					results[i] = r
				} else {
					idx[k] = len(results)
					results = append(results, r)
				}
			}
			elapsed = max(elapsed, saved.Elapsed) // the full run; a partial re-run adds little
			*jobs = saved.Jobs
		}
		start = start.Add(-elapsed)
	}
	var mu sync.Mutex
	done := 0
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(*jobs, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t0 := time.Now()
				r, err := compare.Run(params[i])
				if err != nil {
					fatalf("%s n=%d %s seed %d: %v", params[i].Protocol, params[i].N, params[i].Scenario.Name, params[i].Seed, err)
				}
				mu.Lock()
				results[i] = r
				done++
				fmt.Fprintf(os.Stderr, "[%d/%d %5.0fs] n=%-6d %-20s %-11s seed %d: T99 %s T100 %s delivered %.4f frames/node %.1f (%.1fs)\n",
					done, len(params), time.Since(start).Seconds(), r.N, r.Scenario.Name, r.Protocol, r.Seed,
					dur(r.T99), dur(r.T100), r.Delivered, r.FramesPerNode, time.Since(t0).Seconds())
				mu.Unlock()
			}
		}()
	}
	for _, i := range order {
		if *load != "" {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	if *save != "" {
		b, err := json.Marshal(savedRun{Results: results, Elapsed: elapsed, Jobs: *jobs})
		if err == nil {
			err = os.WriteFile(*save, b, 0o644)
		}
		if err != nil {
			fatalf("saving: %v", err)
		}
	}

	doc := render(results, plan, scenarios, protocols, elapsed, *jobs, *plotN)
	if *noWrite {
		fmt.Print(doc)
		return
	}
	if err := os.MkdirAll(filepath.Join(*out, "img"), 0o755); err != nil {
		fatalf("%v", err)
	}
	for _, sc := range scenarios {
		if err := plotCurves(results, sc.Name, *plotN, filepath.Join(*out, "img", "baselines-"+slug(sc.Name)+".png")); err != nil {
			fatalf("plot: %v", err)
		}
	}
	if err := os.WriteFile(filepath.Join(*out, "baselines.md"), []byte(doc), 0o644); err != nil {
		fatalf("%v", err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d runs in %v)\n", filepath.Join(*out, "baselines.md"), len(results), elapsed.Round(time.Second))
}

// savedRun is what -save writes and -load reads.
type savedRun struct {
	Results []*compare.Result
	Elapsed time.Duration
	Jobs    int
}

func split(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func slug(s string) string {
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "%", "")
	return strings.Join(strings.Fields(s), "-")
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "baselines: "+format+"\n", args...)
	os.Exit(1)
}

// dur formats a duration for the table; negative means never.
func dur(d time.Duration) string {
	switch {
	case d < 0:
		return "never"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < 100*time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

// cell aggregates the seeds of one (scenario, n, protocol).
type cell struct {
	runs []*compare.Result
}

// medianDur is the median with "never" (negative) ordered last.
func medianDur(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b time.Duration) int {
		if a < 0 {
			a = math.MaxInt64
		}
		if b < 0 {
			b = math.MaxInt64
		}
		return cmp.Compare(a, b)
	})
	return s[(len(s)-1)/2]
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (c *cell) row() (t99, t100 time.Duration, delivered, perNode, maxNode float64, never int) {
	var a, b []time.Duration
	var d, f, m []float64
	for _, r := range c.runs {
		a = append(a, r.T99)
		b = append(b, r.T100)
		d = append(d, r.Delivered)
		f = append(f, r.FramesPerNode)
		m = append(m, float64(r.MaxNode))
		if r.T100 < 0 {
			never++
		}
	}
	return medianDur(a), medianDur(b), median(d), median(f), median(m), never
}

func render(results []*compare.Result, plan []size, scenarios []compare.Scenario, protocols []string, elapsed time.Duration, jobs, plotN int) string {
	cells := map[string]*cell{}
	key := func(sc string, n int, proto string) string { return fmt.Sprintf("%s|%d|%s", sc, n, proto) }
	for _, r := range results {
		k := key(r.Scenario.Name, r.N, r.Protocol)
		if cells[k] == nil {
			cells[k] = &cell{}
		}
		cells[k].runs = append(cells[k].runs, r)
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# The classic multicast protocols beside gossip\n\n")
	w("<!-- Generated by `go run ./testnet/cmd/baselines` (testnet/cmd/baselines); do not edit the tables by hand. -->\n\n")
	w("%s", preamble)
	p := compare.DefaultParams()
	w("Setup of every run: one source (node 0) publishes %d messages of %d bytes, one every %v. ", p.Messages, p.Payload, p.Interval)
	w("Link latency %v..%v by distance between random positions in the unit square, fixed per link; ", p.MinLatency, p.MaxLatency)
	w("baselines tick every %v, gossip rounds every %v. ", p.Tick, p.GossipRound)
	w("Centralized: %d unicasts per tick (%d/s), ACKs with a 50-tick timeout and 3 retries. ", p.SendsPerTick, int(float64(p.SendsPerTick)/p.Tick.Seconds()))
	w("Tree: %d-ary, heartbeats every 200 ms, dead after 600 ms, resync on re-attachment. ", p.Arity)
	w("SRM: 1-ms ticks, C1 = C2 = 2, D1 = D2 = max(1, log₁₀ n) (see the discussion), backoff cap 2^5, session message every 500 ms. ")
	w("RMTP: about √n regions of about √n nodes (grid cells), statuses and retransmission rounds every 200 ms, subcast at 4 or more. ")
	w("Gossip: core.DefaultConfig (fanout %d, eager push, ⌈ln n⌉ push rounds, one pull per round) with the mode set. ", p.Fanout)
	w("A run ends when every live node has every message, after %v without a delivery, or %v after the last publication.\n\n", p.Quiet, p.Horizon)
	w("Seeds per size: ")
	var parts []string
	for _, sz := range plan {
		s := fmt.Sprintf("n = %d: %d", sz.n, sz.seeds)
		if sz.scenarios != nil {
			s += " (scenarios: " + strings.Join(sz.scenarios, ", ") + ")"
		}
		parts = append(parts, s)
	}
	w("%s. Cells are medians over seeds (a \"never\" counts as the slowest). ", strings.Join(parts, "; "))
	w("Regenerated in %v of wall time with %d runs in parallel on %d cores.\n\n", elapsed.Round(time.Second), jobs, runtime.NumCPU())
	w("Columns: **T99 / T100** — time from a message's publication until 99 %% / 100 %% of the live nodes delivered it, worst message of the stream (\"never\": not within the run); ")
	w("**delivered** — fraction of (live node, message) pairs delivered; **frames/node** — frames sent by all nodes over the live nodes (a multicast to m members counts m); **max node** — frames sent by the busiest node.\n\n")
	for _, sc := range scenarios {
		w("## %s\n\n", sc.Name)
		w("| n | protocol | T99 | T100 | delivered | frames/node | max node |\n|---:|---|---:|---:|---:|---:|---:|\n")
		for _, sz := range plan {
			for _, proto := range protocols {
				c := cells[key(sc.Name, sz.n, proto)]
				if c == nil {
					continue
				}
				t99, t100, d, f, m, never := c.row()
				t100s := dur(t100)
				if never > 0 && len(c.runs) > 1 && t100 >= 0 {
					t100s += fmt.Sprintf(" (never in %d/%d)", never, len(c.runs))
				}
				w("| %d | %s | %s | %s | %s | %.1f | %.0f |\n", sz.n, proto, dur(t99), t100s, pct(d), f, m)
			}
		}
		w("\n![delivery over time, %s, n = %d](img/baselines-%s.png)\n\n", sc.Name, plotN, slug(sc.Name))
	}
	internals(w, results, scenarios)
	w("%s", discussion)
	return b.String()
}

func pct(f float64) string {
	if f >= 1 {
		return "100 %"
	}
	if f >= 0.9995 {
		return fmt.Sprintf("%.3f %%", 100*f)
	}
	return fmt.Sprintf("%.1f %%", 100*f)
}

// plotCurves draws the delivered fraction over time of every protocol, for
// one scenario at size n, seed 1.
func plotCurves(results []*compare.Result, scenario string, n int, path string) error {
	var runs []*compare.Result
	for _, r := range results {
		if r.Scenario.Name == scenario && r.N == n && r.Seed == 1 {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return nil
	}
	slices.SortFunc(runs, func(a, b *compare.Result) int {
		return cmp.Compare(slices.Index(compare.Protocols, a.Protocol), slices.Index(compare.Protocols, b.Protocol))
	})
	// A logarithmic time axis from 5 ms to the last delivery of any
	// protocol: the IP-multicast protocols finish in tens of
	// milliseconds, the slowest in tens of seconds.
	const xmin = 0.005
	var xmax float64
	for _, r := range runs {
		if len(r.Curve) > 1 {
			xmax = max(xmax, r.Curve[len(r.Curve)-2].At.Seconds())
		}
	}
	xmax = max(xmax*1.5, 0.1)
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("Delivery over time: %s, n = %d (seed 1)", scenario, n)
	pl.X.Label.Text = "time since the first publication (s, log scale)"
	pl.Y.Label.Text = "fraction of (live node, message) pairs delivered"
	pl.X.Scale = plot.LogScale{}
	pl.X.Tick.Marker = plot.LogTicks{Prec: -1}
	pl.X.Min, pl.X.Max = xmin, xmax
	pl.Y.Min, pl.Y.Max = 0, 1.02
	pl.Add(plotter.NewGrid())
	for i, r := range runs {
		pts := plotter.XYs{{X: xmin, Y: 0}}
		for j, pt := range r.Curve {
			if j == len(r.Curve)-1 {
				break // the end of the run: extended below
			}
			x := max(pt.At.Seconds(), xmin)
			// Steps: the fraction holds until the next instant.
			pts = append(pts, plotter.XY{X: x, Y: pts[len(pts)-1].Y}, plotter.XY{X: x, Y: pt.Fraction})
		}
		pts = append(pts, plotter.XY{X: xmax, Y: pts[len(pts)-1].Y})
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = report.Palette[i%len(report.Palette)]
		l.Width = vg.Points(1.5)
		if i >= 4 {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		pl.Add(l)
		pl.Legend.Add(r.Protocol, l)
	}
	pl.Legend.Top = true
	pl.Legend.Left = true
	pl.Legend.TextStyle.Font.Size = vg.Points(9)
	return pl.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

// internals prints the baselines' own counters at the largest size that ran
// every scenario (seed 1): what each protocol did to get its row.
func internals(w func(string, ...any), results []*compare.Result, scenarios []compare.Scenario) {
	n := 0
	for _, r := range results {
		if r.Scenario.Name == "10% loss" && r.Seed == 1 {
			n = max(n, r.N)
		}
	}
	if n == 0 {
		return
	}
	find := func(proto, sc string) *compare.Result {
		for _, r := range results {
			if r.N == n && r.Seed == 1 && r.Protocol == proto && r.Scenario.Name == sc {
				return r
			}
		}
		return nil
	}
	w("## Inside the baselines (n = %d, seed 1)\n\n", n)
	w("Counters summed over all nodes: what each protocol did to produce its row above.\n\n")
	w("| scenario | centralized: ACK timeouts / given up | tree: parents declared dead / re-attachments / resync copies | SRM: requests sent / suppressed | SRM: repairs sent / suppressed | RMTP: statuses / subcasts / unicasts |\n|---|---:|---:|---:|---:|---:|\n")
	for _, sc := range scenarios {
		c, t, s, r := find("centralized", sc.Name), find("tree", sc.Name), find("srm", sc.Name), find("rmtp", sc.Name)
		cell := func(x *compare.Result, f func(*compare.Result) string) string {
			if x == nil {
				return "—"
			}
			return f(x)
		}
		w("| %s | %s | %s | %s | %s | %s |\n", sc.Name,
			cell(c, func(x *compare.Result) string { return fmt.Sprintf("%d / %d", x.Stats.AckTimeouts, x.Stats.GaveUp) }),
			cell(t, func(x *compare.Result) string {
				return fmt.Sprintf("%d / %d / %d", x.Stats.ParentLost, x.Stats.Reattachments, x.Stats.Retransmitted)
			}),
			cell(s, func(x *compare.Result) string {
				return fmt.Sprintf("%d / %d", x.Stats.RequestsSent, x.Stats.RequestsSuppressed)
			}),
			cell(s, func(x *compare.Result) string {
				return fmt.Sprintf("%d / %d", x.Stats.RepairsSent, x.Stats.RepairsSuppressed)
			}),
			cell(r, func(x *compare.Result) string {
				return fmt.Sprintf("%d / %d / %d", x.Stats.StatusSent, x.Stats.Subcasts, x.Stats.Unicasts)
			}))
	}
	w("\n")
}
