package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/grapevine-p2p/grapevine/testnet/local"
)

const testnetHelp = `Usage: peer testnet [--scenario FILE] [flags]

Starts N real Grapevine peers on loopback (real libp2p connections), in this
process or as N separate peer processes (--procs), lets them join, runs a
workload under injected faults and writes a report: delivery per message,
latency, traffic per delivery, failure-detection times, false positives,
convergence after a partition heals, as tables, JSON, CSV and PNG plots.

Faults are injected in userspace where frames leave each peer's transport:
loss, delay and jitter (everyone or per link), crashes (abrupt, no leave),
restarts, partitions and heals, slow peers.

A scenario file (YAML or JSON, see testnet/scenarios/) describes all of it;
flags set or override single fields:

  peer testnet --scenario testnet/scenarios/demo.yaml
  peer testnet --peers 20 --duration 30s --loss 0.1 --crash 7@10s
  peer testnet --peers 30 --partition "0-14@10s:20s" --rate 5 --publishers 0-2
  peer testnet --peers 10 --crash 3@5s:12s --slow 4:150ms --procs
  peer testnet --scenario testnet/scenarios/durable-cost.yaml --data /tmp/gv-data

The report folder (--out) gets report.txt, report.json, messages.csv,
crashes.csv, members.csv, latency.csv, latency_cdf.png, infection.png and
members.png. Ctrl-C ends the run early and still writes the report.
`

// crashFlag parses PEER@AT or PEER@AT:RESTART.
type crashFlag []local.Crash

func (c *crashFlag) String() string { return fmt.Sprint(*c) }
func (c *crashFlag) Set(v string) error {
	p, rest, ok := strings.Cut(v, "@")
	if !ok {
		return fmt.Errorf("%q: write PEER@AT or PEER@AT:RESTART, e.g. 3@10s or 3@10s:20s", v)
	}
	idx, err := strconv.Atoi(p)
	if err != nil {
		return fmt.Errorf("%q: %q is not a peer index", v, p)
	}
	at, restart, _ := strings.Cut(rest, ":")
	cr := local.Crash{Peer: idx}
	if cr.At, err = parseDur(at); err != nil {
		return err
	}
	if restart != "" {
		if cr.Restart, err = parseDur(restart); err != nil {
			return err
		}
	}
	*c = append(*c, cr)
	return nil
}

// partitionFlag parses GROUP[|GROUP...]@AT[:HEAL], groups as "0-9,12".
type partitionFlag []local.Partition

func (c *partitionFlag) String() string { return fmt.Sprint(*c) }
func (c *partitionFlag) Set(v string) error {
	gs, rest, ok := strings.Cut(v, "@")
	if !ok {
		return fmt.Errorf("%q: write GROUP[|GROUP]@AT[:HEAL], e.g. \"0-9@10s:20s\"", v)
	}
	var pt local.Partition
	for _, g := range strings.Split(gs, "|") {
		var ps local.Peers
		if err := ps.UnmarshalJSON([]byte(strconv.Quote(g))); err != nil {
			return err
		}
		pt.Groups = append(pt.Groups, ps)
	}
	at, heal, _ := strings.Cut(rest, ":")
	var err error
	if pt.At, err = parseDur(at); err != nil {
		return err
	}
	if heal != "" {
		if pt.Heal, err = parseDur(heal); err != nil {
			return err
		}
	}
	*c = append(*c, pt)
	return nil
}

// slowFlag parses PEER:DELAY.
type slowFlag []local.Slow

func (c *slowFlag) String() string { return fmt.Sprint(*c) }
func (c *slowFlag) Set(v string) error {
	p, d, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("%q: write PEER:DELAY, e.g. 4:200ms", v)
	}
	idx, err := strconv.Atoi(p)
	if err != nil {
		return fmt.Errorf("%q: %q is not a peer index", v, p)
	}
	s := local.Slow{Peer: idx}
	if s.Delay, err = parseDur(d); err != nil {
		return err
	}
	*c = append(*c, s)
	return nil
}

func parseDur(s string) (local.Duration, error) {
	var d local.Duration
	if err := d.UnmarshalJSON([]byte(strconv.Quote(s))); err != nil {
		return 0, fmt.Errorf("%q is not a duration (write e.g. 10s or 1.5s)", s)
	}
	return d, nil
}

func cmdTestnet(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "worker" {
		return cmdTestnetWorker(args[1:], stdin, stdout, stderr)
	}
	fs := newFlagSet("testnet", stderr, testnetHelp)
	scenario := fs.String("scenario", "", "scenario file (.yaml, .yml or .json); flags below override its fields")
	peers := fs.Int("peers", 10, "number of peers")
	duration := fs.Duration("duration", 20*time.Second, "how long the scenario runs once the group has joined")
	profile := fs.String("profile", "lan", "membership profile: lan, wan or local")
	seed := fs.Uint64("seed", 1, "seed for identities, payloads and loss decisions")
	rate := fs.Float64("rate", 2, "messages per second per publisher")
	size := fs.Int("size", 256, "payload bytes")
	publishers := fs.String("publishers", "0", "publishing peers, e.g. \"0-2,7\"")
	loss := fs.Float64("loss", 0, "fraction of frames dropped on every link (0..1)")
	delay := fs.Duration("delay", 0, "delay added to every frame")
	jitter := fs.Duration("jitter", 0, "uniform jitter added on top of --delay")
	var crashes crashFlag
	fs.Var(&crashes, "crash", "crash PEER at AT (no leave), restart at RESTART if given: PEER@AT[:RESTART] (repeatable)")
	var parts partitionFlag
	fs.Var(&parts, "partition", "partition into GROUP|GROUP... (others form one more group) at AT, heal at HEAL: \"0-9@10s:20s\" (repeatable)")
	var slow slowFlag
	fs.Var(&slow, "slow", "delay every frame to and from PEER: PEER:DELAY (repeatable)")
	data := fs.String("data", "", "give every peer a data directory DIR/peer-N (durable delivery; restarts resume)")
	procs := fs.Bool("procs", false, "run every peer as a separate peer process")
	out := fs.String("out", "", "report folder (default testnet-reports/NAME-TIME)")
	quiet := fs.Bool("quiet", false, "no progress line and no table, only the report folder's path")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
		}
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	sc := &local.Scenario{}
	if *scenario != "" {
		var err error
		if sc, err = local.LoadScenario(*scenario); err != nil {
			return err
		}
	} else {
		sc.Name = "flags"
		for _, k := range []string{"peers", "duration", "rate", "publishers"} {
			set[k] = true
		}
	}
	if set["peers"] {
		sc.Peers = *peers
	}
	if set["duration"] {
		sc.Duration = local.Duration(*duration)
	}
	if set["profile"] {
		sc.Profile = *profile
	}
	if set["seed"] {
		sc.Seed = *seed
	}
	if set["rate"] {
		sc.Publish.Rate = *rate
	}
	if set["size"] {
		sc.Publish.Size = *size
	}
	if set["data"] {
		sc.DataDir = *data
	}
	if set["publishers"] {
		var ps local.Peers
		if err := ps.UnmarshalJSON([]byte(strconv.Quote(*publishers))); err != nil {
			return usageError{"--publishers: " + err.Error()}
		}
		sc.Publish.Publishers = ps
	}
	if set["loss"] {
		sc.Faults.Loss = *loss
	}
	if set["delay"] {
		sc.Faults.Delay = local.Duration(*delay)
	}
	if set["jitter"] {
		sc.Faults.Jitter = local.Duration(*jitter)
	}
	sc.Faults.Crashes = append(sc.Faults.Crashes, crashes...)
	sc.Faults.Partitions = append(sc.Faults.Partitions, parts...)
	sc.Faults.Slow = append(sc.Faults.Slow, slow...)
	if err := sc.Validate(); err != nil {
		if *scenario != "" {
			return fmt.Errorf("%s: %w", *scenario, err)
		}
		return usageError{err.Error()}
	}
	dir := *out
	if dir == "" {
		name := sc.Name
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(*scenario), filepath.Ext(*scenario))
		}
		dir = filepath.Join("testnet-reports", name+"-"+time.Now().Format("20060102-150405"))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opt := local.Options{Procs: *procs, Log: stderr}
	if !*quiet {
		opt.Progress = stderr
		fmt.Fprintf(stderr, "starting %d peers (%s, profile %s) for %v; %d messages to publish\n",
			sc.Peers, map[bool]string{false: "in this process", true: "as processes"}[*procs], sc.Profile, sc.Duration.D(), sc.Messages())
	}
	rep, err := local.Run(ctx, sc, opt)
	if err != nil && !local.IsInterrupted(err) {
		return err
	}
	if !*quiet {
		if err := rep.Print(stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	if werr := rep.WriteDir(dir); werr != nil {
		return fmt.Errorf("writing the report: %w", werr)
	}
	if *quiet {
		fmt.Fprintln(stdout, dir)
	} else {
		fmt.Fprintf(stdout, "report: %s\nplots:  %s, %s, %s\n", filepath.Join(dir, "report.txt"),
			filepath.Join(dir, "latency_cdf.png"), filepath.Join(dir, "infection.png"), filepath.Join(dir, "members.png"))
	}
	if err != nil {
		return errors.New("interrupted; the report covers the time that ran")
	}
	return nil
}

// cmdTestnetWorker is one peer of a --procs testnet (started by the parent).
func cmdTestnetWorker(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("testnet worker", stderr, "Usage: peer testnet worker (started by peer testnet --procs)\n")
	scenario := fs.String("scenario", "", "resolved scenario (JSON)")
	index := fs.Int("index", -1, "peer index")
	inst := fs.Int("inst", 0, "instance (restart count)")
	seeds := fs.String("seeds", "", "comma-separated seed multiaddrs")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sc, err := local.LoadScenario(*scenario)
	if err != nil {
		return err
	}
	var ss []string
	if *seeds != "" {
		ss = strings.Split(*seeds, ",")
	}
	return local.RunWorker(context.Background(), sc, *index, *inst, ss, stdin, stdout)
}

func init() {
	register(&command{name: "testnet", summary: "run N local peers with injected faults and write a report with plots", run: cmdTestnet})
}
