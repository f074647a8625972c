// Command sim gossips one message through n simulated nodes running the
// unchanged core.Engine on Grapevine's deterministic network simulator, and
// reports how fast and at what cost it spread.
//
//	go run ./testnet/cmd/sim -n 100000 -mode push-pull
//	go run ./testnet/cmd/sim -n 10000 -karp -mode push -csv curve.csv -png curve.png
//
// Run with -h for every flag.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
	"github.com/grapevine-p2p/grapevine/testnet/sim/report"
)

const usage = `sim: gossip one message through n simulated Grapevine nodes.

Every node runs the unchanged core.Engine; the network (latency, loss,
crashes) is simulated in virtual time, deterministically from -seed. The
report gives the rounds and virtual time to reach 50/99/100 %% of the live
nodes, what each node sent, and the residue (live nodes never reached).

Usage:
  go run ./testnet/cmd/sim [flags]

Examples:
  go run ./testnet/cmd/sim                          # short demo, 10,000 nodes
  go run ./testnet/cmd/sim -n 1000000               # a million nodes
  go run ./testnet/cmd/sim -karp -mode push -n 100000 -png push.png
  go run ./testnet/cmd/sim -loss 0.5 -crash 0.2 -latency lognormal:20ms,0.6
  go run ./testnet/cmd/sim -trace                   # digest of fixed multi-message runs (see trace.go)

Flags:
`

type options struct {
	n, seeds, fanout, rounds, pullFanout, payload, maxRounds, lazy int
	seed                                                           uint64
	mode, policy, latency, csvPath, pngPath, cpuProf, memProf      string
	roundsFactor, loss, crash                                      float64
	round                                                          time.Duration
	karp, sync, eager, distinct, randomPhase, quiet, untilQuiet    bool
	gcPercent, memLimitMiB                                         int
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "sim:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	def := core.DefaultConfig()
	var o options
	var trace bool
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, usage)
		fs.PrintDefaults()
	}
	fs.IntVar(&o.n, "n", 10000, "number of nodes")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed (the same seed gives the same run)")
	fs.IntVar(&o.seeds, "seeds", 1, "run this many seeds (seed, seed+1, ...) and report each plus the mean")
	fs.StringVar(&o.mode, "mode", "push-pull", "gossip mode: push, pull or push-pull")
	fs.IntVar(&o.fanout, "fanout", def.Fanout, "push fanout b (targets per round)")
	fs.IntVar(&o.rounds, "rounds", 0, "rounds a node pushes a new message (0: c·⌈ln n⌉ with -c)")
	fs.Float64Var(&o.roundsFactor, "c", def.RoundsFactor, "c in c·⌈ln n⌉ push rounds")
	fs.IntVar(&o.pullFanout, "pull-fanout", def.PullFanout, "peers asked per pull round")
	fs.BoolVar(&o.eager, "eager", def.EagerPush, "forward at once on first receipt (eager push)")
	fs.BoolVar(&o.distinct, "distinct", def.DistinctTargets, "draw a round's push targets without repetition")
	fs.StringVar(&o.policy, "policy", def.Policy.String(), "selection policy when a round's budget is short: random, recent, priority")
	fs.IntVar(&o.lazy, "lazy-threshold", def.LazyThreshold, "payloads above this many bytes are announced (IHAVE) and pulled (0: off)")
	fs.BoolVar(&o.karp, "karp", false, "textbook round model: fanout 1, independent targets, no eager push, push for the whole run, -sync (overrides -fanout, -eager, -distinct, -rounds)")
	fs.BoolVar(&o.sync, "sync", false, "round-synchronous model: pull requests are answered from the state at the start of the round")
	fs.DurationVar(&o.round, "round", time.Second, "round length (tick interval)")
	fs.StringVar(&o.latency, "latency", "", "link latency: 10ms, uniform:5ms-15ms, normal:20ms,5ms, lognormal:10ms,0.5[,2ms] (default round/100)")
	fs.Float64Var(&o.loss, "loss", 0, "frame loss rate in [0, 1]")
	fs.Float64Var(&o.crash, "crash", 0, "fraction of nodes crashed at the start (never the origin)")
	fs.BoolVar(&o.randomPhase, "random-phase", false, "tick nodes at random offsets instead of aligned rounds")
	fs.IntVar(&o.payload, "payload", 64, "message payload size in bytes")
	fs.IntVar(&o.maxRounds, "max-rounds", 200, "stop after this many rounds")
	fs.BoolVar(&o.untilQuiet, "until-quiet", false, "keep running after everyone is reached until no node sends (push-only runs end by themselves)")
	fs.StringVar(&o.csvPath, "csv", "", "write the infection curve (round, reached, fraction) to this CSV file")
	fs.StringVar(&o.pngPath, "png", "", "plot the infection curve to this PNG file")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar (it is also off when stderr is not a terminal)")
	fs.IntVar(&o.memLimitMiB, "mem-limit-mib", 12288, "soft memory limit for the Go runtime in MiB (GC works harder near it; 0: none; GOMEMLIMIT overrides)")
	fs.IntVar(&o.gcPercent, "gc-percent", 300, "Go GC target percentage while simulating (higher: faster, more memory)")
	fs.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile to this file")
	fs.StringVar(&o.memProf, "memprofile", "", "write a heap profile to this file at the end")
	fs.BoolVar(&trace, "trace", false, "run the fixed multi-message trace scenarios (with -seed) and print a digest of every frame, delivery and final engine state, and the engines' summed counters (not with -quiet); nothing else")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	}
	if trace {
		return runTrace(o.seed, !o.quiet, stdout)
	}
	cfg, err := o.spreadConfig()
	if err != nil {
		return err
	}
	if o.gcPercent > 0 {
		debug.SetGCPercent(o.gcPercent)
	}
	if o.memLimitMiB > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(o.memLimitMiB) << 20)
	}
	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	fmt.Fprintf(stdout, "grapevine sim: n=%d mode=%v fanout=%d rounds=%s pull-fanout=%d eager=%v distinct=%v sync=%v\n",
		o.n, cfg.Engine.Mode, cfg.Engine.Fanout, roundsDesc(cfg.Engine, o.n), cfg.Engine.PullFanout,
		cfg.Engine.EagerPush, cfg.Engine.DistinctTargets, cfg.Synchronous)
	fmt.Fprintf(stdout, "network: round %v, latency %v, loss %.3g, crashed %.3g, payload %d B, seeds %d from %d\n\n",
		cfg.Round, cfg.Latency, cfg.Loss, cfg.Crash, cfg.Payload, o.seeds, o.seed)

	t := report.Table{Header: []string{"seed", "r50", "r99", "r100", "t50", "t99", "t100", "msgs/node", "frames/node", "bytes/node", "residue", "wall"}}
	var results []*sim.SpreadResult
	var walls []time.Duration
	start := time.Now()
	for s := 0; s < o.seeds; s++ {
		cfg.Seed = o.seed + uint64(s)
		bar := report.NewBar(int64(o.n-int(math.Round(o.crash*float64(o.n)))), fmt.Sprintf("seed %d: reached", cfg.Seed), o.quiet)
		cfg.Progress = func(round, reached, live int) {
			bar.Describe(fmt.Sprintf("seed %d round %d: reached", cfg.Seed, round))
			bar.Set(int64(reached))
		}
		t0 := time.Now()
		r, err := sim.Spread(cfg)
		bar.Finish()
		if err != nil {
			return err
		}
		wall := time.Since(t0)
		results = append(results, r)
		walls = append(walls, wall)
		t.Add(strconv.FormatUint(cfg.Seed, 10), rnd(r.Rounds50), rnd(r.Rounds99), rnd(r.Rounds100), vt(r.Time50, r.Rounds50),
			vt(r.Time99, r.Rounds99), vt(r.Time100, r.Rounds100), r.MessagesPerNode(), r.FramesPerNode(), r.BytesPerNode(),
			r.Residue, wall.Round(time.Millisecond))
	}
	if o.seeds > 1 {
		m := mean(results, walls)
		t.Rows = append(t.Rows, m)
	}
	if err := t.Write(stdout); err != nil {
		return err
	}
	r := results[len(results)-1]
	fmt.Fprintf(stdout, "\nlast run: %d live of %d; %d events; frames lost %d, to crashed nodes %d; duplicates received %d; virtual time %v\n",
		r.Live, r.N, r.Events, r.Net.DroppedLoss, r.Net.DroppedCrash, r.Engine.Duplicates, r.Duration.Round(time.Millisecond))
	fmt.Fprintf(stdout, "process: wall %v, max RSS %s, CPU %s\n", time.Since(start).Round(time.Millisecond), maxRSS(), cpuTime())

	if o.csvPath != "" {
		rows := make([][]string, len(r.Curve))
		for i, c := range r.Curve {
			rows[i] = []string{strconv.Itoa(i), strconv.Itoa(c), strconv.FormatFloat(float64(c)/float64(r.Live), 'g', 6, 64)}
		}
		if err := report.WriteCSV(o.csvPath, []string{"round", "reached", "fraction"}, rows); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", o.csvPath)
	}
	if o.pngPath != "" {
		p := report.Plot{
			Title:  fmt.Sprintf("%v gossip, n = %d (seed %d)", cfg.Engine.Mode, o.n, cfg.Seed),
			XLabel: "round", YLabel: "fraction of live nodes reached",
		}
		var xs, ys []float64
		for i, c := range r.Curve {
			xs = append(xs, float64(i))
			ys = append(ys, float64(c)/float64(r.Live))
		}
		p.Series = append(p.Series, report.Series{Label: "reached", X: xs, Y: ys})
		if err := p.Save(o.pngPath); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", o.pngPath)
	}
	if o.memProf != "" {
		f, err := os.Create(o.memProf)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.GC()
		if err := pprof.WriteHeapProfile(f); err != nil {
			return err
		}
	}
	return nil
}

func (o *options) spreadConfig() (sim.SpreadConfig, error) {
	var cfg sim.SpreadConfig
	if o.n < 2 || o.n > sim.MaxNodes {
		return cfg, fmt.Errorf("-n must be in [2, %d], got %d", sim.MaxNodes, o.n)
	}
	if o.seeds < 1 {
		return cfg, fmt.Errorf("-seeds must be at least 1")
	}
	if o.loss < 0 || o.loss > 1 || o.crash < 0 || o.crash >= 1 {
		return cfg, fmt.Errorf("-loss must be in [0, 1] and -crash in [0, 1)")
	}
	if o.round <= 0 {
		return cfg, fmt.Errorf("-round must be positive")
	}
	mode, err := core.ParseMode(o.mode)
	if err != nil {
		return cfg, err
	}
	pol, err := core.ParsePolicy(o.policy)
	if err != nil {
		return cfg, err
	}
	ec := core.DefaultConfig()
	if o.karp {
		ec = sim.KarpConfig(mode)
		o.sync = true
	} else {
		ec.Mode = mode
		ec.Fanout = o.fanout
		ec.Rounds = o.rounds
		ec.EagerPush = o.eager
		ec.DistinctTargets = o.distinct
	}
	ec.RoundsFactor = o.roundsFactor
	ec.PullFanout = o.pullFanout
	ec.Policy = pol
	ec.LazyThreshold = o.lazy
	if o.payload > ec.MaxMessageSize {
		return cfg, fmt.Errorf("-payload %d exceeds the engine's MaxMessageSize %d", o.payload, ec.MaxMessageSize)
	}
	// Validate the engine configuration once, with clear errors, before
	// building n engines.
	probe := ec
	probe.ID, probe.Sampler, probe.Transport = "0", &core.StaticSampler{}, nopTransport{}
	if _, err := core.New(probe); err != nil {
		return cfg, err
	}
	lat := sim.Latency(sim.Fixed(o.round / 100))
	if o.latency != "" {
		if lat, err = sim.ParseLatency(o.latency); err != nil {
			return cfg, err
		}
	}
	if o.sync && o.randomPhase {
		return cfg, fmt.Errorf("-sync (or -karp) needs aligned rounds: drop -random-phase")
	}
	return sim.SpreadConfig{N: o.n, Round: o.round, Latency: lat, Loss: o.loss, Crash: o.crash, Engine: ec,
		Synchronous: o.sync, RandomPhase: o.randomPhase, Payload: o.payload, MaxRounds: o.maxRounds,
		UntilQuiet: o.untilQuiet}, nil
}

type nopTransport struct{}

func (nopTransport) Send(core.NodeID, []byte) {}

func roundsDesc(c core.Config, n int) string {
	if c.Rounds > 0 {
		return strconv.Itoa(c.Rounds)
	}
	return fmt.Sprintf("%d (c=%g)", core.RoundsFor(c.RoundsFactor, n), c.RoundsFactor)
}

func rnd(r int) string {
	if r < 0 {
		return "never"
	}
	return strconv.Itoa(r)
}

func vt(t time.Duration, r int) string {
	if r < 0 {
		return "–"
	}
	return t.Round(time.Millisecond).String()
}

func mean(rs []*sim.SpreadResult, walls []time.Duration) []string {
	avg := func(f func(*sim.SpreadResult) float64) string {
		s := 0.0
		for _, r := range rs {
			s += f(r)
		}
		return report.Fmt(s / float64(len(rs)))
	}
	avgR := func(f func(*sim.SpreadResult) int) string {
		s, k := 0, 0
		for _, r := range rs {
			if v := f(r); v >= 0 {
				s += v
				k++
			}
		}
		if k < len(rs) {
			return "never"
		}
		return strconv.FormatFloat(float64(s)/float64(k), 'f', 2, 64)
	}
	avgT := func(f func(*sim.SpreadResult) time.Duration) string {
		var s time.Duration
		for _, r := range rs {
			s += f(r)
		}
		return (s / time.Duration(len(rs))).Round(time.Millisecond).String()
	}
	var w time.Duration
	for _, x := range walls {
		w += x
	}
	return []string{"mean",
		avgR(func(r *sim.SpreadResult) int { return r.Rounds50 }),
		avgR(func(r *sim.SpreadResult) int { return r.Rounds99 }),
		avgR(func(r *sim.SpreadResult) int { return r.Rounds100 }),
		avgT(func(r *sim.SpreadResult) time.Duration { return r.Time50 }),
		avgT(func(r *sim.SpreadResult) time.Duration { return r.Time99 }),
		avgT(func(r *sim.SpreadResult) time.Duration { return r.Time100 }),
		avg((*sim.SpreadResult).MessagesPerNode),
		avg((*sim.SpreadResult).FramesPerNode),
		avg((*sim.SpreadResult).BytesPerNode),
		avg(func(r *sim.SpreadResult) float64 { return float64(r.Residue) }),
		(w / time.Duration(len(walls))).Round(time.Millisecond).String(),
	}
}

func maxRSS() string {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f MiB", float64(ru.Maxrss)/1024) // Linux reports KiB
}

func cpuTime() string {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return "?"
	}
	d := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return d.Round(10 * time.Millisecond).String()
}
