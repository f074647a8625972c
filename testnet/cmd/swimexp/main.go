// Command swimexp runs the membership experiments of issue 3 in the
// deterministic simulator and writes docs/experiments/membership.md with
// tables and PNG plots:
//
//  1. first-detection time of a crash vs n, against SWIM's e/(e−1) periods,
//     and the time until every member knows;
//  2. false positives under uniform loss, with and without Lifeguard;
//  3. message load per member per period vs n;
//  4. a slow (CPU-starved) member, with and without Lifeguard;
//  5. a partition into halves, then heal;
//  6. churn: 1 % leave and 1 % join every period;
//  7. gossip over membership, with crashes in the middle of a dissemination;
//  8. an ablation: plain SWIM, SWIM + repair, Lifeguard, Lifeguard + repair.
//
// Every run is seeded and deterministic. Usage:
//
//	go run ./testnet/cmd/swimexp                      # everything (~1 h on 2 cores)
//	go run ./testnet/cmd/swimexp -quick -out /tmp/m.md # a smoke run (~1 min)
//	go run ./testnet/cmd/swimexp -only loss,detect     # some experiments; the
//	                                                  # others come from -cache
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

type options struct {
	quick         bool
	seeds         int
	jobs          int
	imgDir        string // where PNGs go
	imgRel        string // how the markdown refers to them
	lossDur       time.Duration
	ablWin        time.Duration
	churnN        int
	nMax          int
	memGB         float64 // memory budget of the simulations running at once
	lossWins      string
	lossPlainWins string // per-rate windows of plain SWIM only
	lossAnyCommit bool   // keep finished loss runs made on another membership commit
	lossRows      string // run only these rows (rate:detector), the others from -cache
	loadLoss      int    // largest n of the load experiment's 5 % loss row
	cacheDir      string
	noRun         bool // -loss-collect: build the loss section from finished runs only
}

type experiment struct {
	key   string
	title string
	run   func(o *options) string
}

var experiments = []experiment{
	{"detect", "1. Time to detect a crash", expDetect},
	{"loss", "2. False positives under packet loss", expLoss},
	{"load", "3. Message load per member per period", expLoad},
	{"slow", "4. A slow member", expSlow},
	{"partition", "5. Partition and heal", expPartition},
	{"churn", "6. Churn", expChurn},
	{"gossip", "7. Gossip on top of membership, crashes mid-dissemination", expGossip},
	{"ablation", "8. Ablation: Lifeguard and repair under loss", expAblation},
}

func main() {
	var o options
	out := flag.String("out", "docs/experiments/membership.md", "markdown file to write")
	only := flag.String("only", "", "comma-separated experiments to run ("+keys()+"); the others are read from -cache")
	cache := flag.String("cache", "docs/experiments/.membership-cache", "directory holding each experiment's last section")
	assemble := flag.Bool("assemble", false, "run nothing: rebuild the markdown from -cache")
	flag.BoolVar(&o.quick, "quick", false, "small populations and short windows (a smoke run)")
	flag.IntVar(&o.seeds, "seeds", 0, "seeds per configuration (0: each experiment's default)")
	flag.IntVar(&o.jobs, "j", runtime.NumCPU(), "simulations run in parallel")
	flag.DurationVar(&o.lossDur, "loss-window", time.Hour, "simulated window of each false-positive run at n = 1,000")
	flag.StringVar(&o.lossWins, "loss-windows", "", "per-loss-rate windows overriding -loss-window, e.g. 20:15m,30:5m (a simulated hour at 30 % loss costs about 1.5 CPU-hours)")
	flag.StringVar(&o.lossPlainWins, "loss-plain-windows", "", "per-loss-rate windows of the plain SWIM runs only, overriding -loss-window and -loss-windows (plain SWIM is the costlier detector under loss)")
	flag.BoolVar(&o.lossAnyCommit, "loss-any-commit", false, "keep finished loss runs made on another commit of membership/ (each row then names its commit); without it they are rerun")
	flag.StringVar(&o.lossRows, "loss-rows", "", "run only these false-positive rows, e.g. 20:plain,30:lifeguard (the others are taken from -cache or shown as not run), so that separate processes can share the rows")
	flag.IntVar(&o.churnN, "churn-n", 1000, "group size of the churn experiment")
	flag.DurationVar(&o.ablWin, "ablation-window", 5*time.Minute, "simulated window of each ablation run")
	flag.IntVar(&o.nMax, "nmax", 10000, "largest population (every member holds every other: about 110 bytes per member per member, so n = 10,000 needs about 11 GB)")
	flag.Float64Var(&o.memGB, "mem", 14, "memory budget in GB: simulations wait until their estimated heap (n² entries) fits beside those running")
	flag.BoolVar(&o.noRun, "loss-collect", false, "run no loss simulation: build the loss section from the runs already finished (each run's result is kept in -cache/loss-runs, so an interrupted -only loss resumes where it stopped)")
	flag.IntVar(&o.loadLoss, "load-loss-nmax", 3000, "largest n of the load experiment's 5 % loss row (at a fixed loss rate, suspicion traffic per member grows with n)")
	var tr traceOpts
	traceFlags(&tr)
	flag.Parse()
	// The simulations' live heaps are mostly the member tables, which stay;
	// the garbage is frames. A high GOGC saves most of the collector's CPU,
	// and the memory limit (the budget plus slack) keeps the sum in bounds.
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(int64((o.memGB + 1) * 1e9))
	if tr.on {
		runTrace(&tr)
		return
	}
	o.imgDir = filepath.Join(filepath.Dir(*out), "img")
	o.imgRel = "img"
	if err := os.MkdirAll(o.imgDir, 0o755); err != nil {
		fail(err)
	}
	if err := os.MkdirAll(*cache, 0o755); err != nil {
		fail(err)
	}
	o.cacheDir = *cache
	want := map[string]bool{}
	for _, k := range strings.Split(*only, ",") {
		if k = strings.TrimSpace(k); k != "" {
			want[k] = true
		}
	}
	for k := range want {
		if !slices.ContainsFunc(experiments, func(e experiment) bool { return e.key == k }) {
			fail(fmt.Errorf("unknown experiment %q (have %s)", k, keys()))
		}
	}
	var sections []string
	for _, e := range experiments {
		file := filepath.Join(*cache, e.key+".md")
		if *assemble || (len(want) > 0 && !want[e.key]) {
			b, err := os.ReadFile(file)
			if err != nil {
				b = []byte(fmt.Sprintf("## %s\n\n(not run yet: `go run ./testnet/cmd/swimexp -only %s`)\n", e.title, e.key))
			}
			sections = append(sections, string(b))
			continue
		}
		start := time.Now()
		cpu0 := cpuTime()
		startLoad := loadAvg()
		fmt.Fprintf(os.Stderr, "swimexp: %s ...\n", e.key)
		body := e.run(&o)
		sec := fmt.Sprintf("## %s\n\n%s\n_Command: `%s`. Run on membership at %s. Wall time of this experiment: %s, CPU time %s (%s on a shared 2-core machine; load average %s at the start, %s at the end); peak RSS of the process so far %.1f GB._\n",
			e.title, body, commandLine(), membershipCommit(), time.Since(start).Round(time.Second), (cpuTime() - cpu0).Round(time.Second), atATime(o.jobs),
			startLoad, loadAvg(), float64(peakRSS())/1e9)
		fmt.Fprintf(os.Stderr, "swimexp: %s done in %s\n", e.key, time.Since(start).Round(time.Second))
		if err := os.WriteFile(file, []byte(sec), 0o644); err != nil {
			fail(err)
		}
		sections = append(sections, sec)
	}
	doc := header(&o) + strings.Join(sections, "\n") + notes()
	if err := os.WriteFile(*out, []byte(doc), 0o644); err != nil {
		fail(err)
	}
}

func keys() string {
	var k []string
	for _, e := range experiments {
		k = append(k, e.key)
	}
	return strings.Join(k, ",")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "swimexp:", err)
	os.Exit(1)
}

func (o *options) nSeeds(def int) int {
	if o.seeds > 0 {
		return o.seeds
	}
	if o.quick {
		return min(def, 2)
	}
	return def
}

func (o *options) sizes(full, quick []int) []int {
	src := full
	if o.quick {
		src = quick
	}
	var out []int
	for _, n := range src {
		if n <= o.nMax {
			out = append(out, n)
		}
	}
	return out
}
