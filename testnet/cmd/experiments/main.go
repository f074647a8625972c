// Command experiments regenerates docs/experiments/gossip.md: it runs the
// gossip experiments of issue 2 on the deterministic simulator (unchanged
// core.Engine on every node) and writes their tables, the commands that
// produced them, and the plots in docs/experiments/img/gossip-*.png.
//
//	go run ./testnet/cmd/experiments            # full run (about 20-30 min on 2 cores)
//	go run ./testnet/cmd/experiments -quick     # small sizes, a minute or two
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

const usage = `experiments: regenerate docs/experiments/gossip.md.

Runs the gossip experiments (rounds vs n against Pittel and Karp et al.,
residue vs c and b, push/pull/push-pull curves, 50 %% loss, 50 %% crashes,
many messages per selection policy, lazy push for large messages) on the
deterministic simulator and writes the Markdown report and PNG plots.

Usage:
  go run ./testnet/cmd/experiments [flags]

Flags:
`

type runner struct {
	quick    bool
	maxN     int
	manyN    int
	seeds    int // seeds at small n
	only     map[int]bool
	out      string // markdown path
	img      string // image directory
	relImg   string // image directory relative to the markdown
	log      io.Writer
	quiet    bool
	md       strings.Builder
	cmdline  string
	started  time.Time
	sections map[int]string
	current  int
	mu       sync.Mutex
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "experiments:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	r := &runner{log: stderr}
	fs := flag.NewFlagSet("experiments", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, strings.ReplaceAll(usage, "%%", "%"))
		fs.PrintDefaults()
	}
	fs.BoolVar(&r.quick, "quick", false, "small sizes and few seeds (a smoke run, not the published figures)")
	fs.IntVar(&r.maxN, "max-n", 1000000, "largest population for the rounds-vs-n experiment")
	fs.IntVar(&r.manyN, "many-n", 10000, "nodes in the many-messages experiment (6); about 12 min on an idle 2-core machine")
	fs.IntVar(&r.seeds, "seeds", 20, "seeds per point at small n (fewer are used at large n; see the report)")
	only := fs.String("only", "", "run only these experiments, comma-separated numbers 1-7 (default all)")
	fs.StringVar(&r.out, "out", "docs/experiments/gossip.md", "Markdown report to write")
	fs.BoolVar(&r.quiet, "quiet", false, "no progress output")
	memLimit := fs.Int("mem-limit-mib", 10240, "soft memory limit for the Go runtime in MiB (0: none; GOMEMLIMIT overrides)")
	cpuProf := fs.String("cpuprofile", "", "write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	}
	if r.seeds < 1 || r.maxN < 100 {
		return fmt.Errorf("-seeds must be at least 1 and -max-n at least 100")
	}
	r.only = map[int]bool{}
	if *only != "" {
		for _, f := range strings.Split(*only, ",") {
			var k int
			if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d", &k); err != nil || k < 1 || k > 7 {
				return fmt.Errorf("-only: %q is not an experiment number 1-7", f)
			}
			r.only[k] = true
		}
	}
	if r.quick {
		r.maxN = min(r.maxN, 10000)
		r.seeds = min(r.seeds, 4)
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	r.cmdline = "go run ./testnet/cmd/experiments"
	if r.quick {
		r.cmdline += " -quick"
	}
	r.sections = map[int]string{}
	r.img = filepath.Join(filepath.Dir(r.out), "img")
	r.relImg = "img"
	if err := os.MkdirAll(r.img, 0o755); err != nil {
		return err
	}
	// Memory is plentiful next to CPU here: collect less often.
	debug.SetGCPercent(300)
	if *memLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(*memLimit) << 20)
	}
	r.started = time.Now()

	exps := []struct {
		k  int
		fn func() error
	}{
		{1, r.roundsVsN}, {2, r.residue}, {3, r.curves}, {4, r.loss}, {5, r.crashes}, {6, r.manyMessages}, {7, r.largeMessages},
	}
	for _, e := range exps {
		if len(r.only) > 0 && !r.only[e.k] {
			continue
		}
		t0 := time.Now()
		r.logf("experiment %d ...", e.k)
		r.current = e.k
		if err := e.fn(); err != nil {
			return fmt.Errorf("experiment %d: %w", e.k, err)
		}
		took := time.Since(t0).Round(time.Second)
		r.sections[e.k] += fmt.Sprintf("\n_Measured in %v of wall time (%d CPUs, %s)._\n", took, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"))
		// Write after every experiment, merged with the sections of the
		// existing report that this run does not regenerate, so a partial
		// run (-only) updates its sections in place and an interrupted
		// full run keeps what it finished.
		if err := r.save(len(r.only) > 0 || e.k > 1); err != nil {
			return err
		}
		r.logf("experiment %d done in %v", e.k, took)
	}
	fmt.Fprintf(stdout, "wrote %s (%v)\n", r.out, time.Since(r.started).Round(time.Second))
	return nil
}

func (r *runner) logf(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.quiet {
		fmt.Fprintf(r.log, "[%6.1fs] %s\n", time.Since(r.started).Seconds(), fmt.Sprintf(format, a...))
	}
}

func (r *runner) section(s string) { r.sections[r.current] = s }
