// Command stackexp runs the whole protocol stack a p2p peer runs with
// WithOverlay (membership/overlay's HyParView views, SWIM with Lifeguard
// over the neighbours, the gossip engine's Plumtree over the same links,
// with the p2p LAN profile's settings: p2p.MembershipProfile,
// p2p.EngineProfile, p2p.OverlayProfile) on the deterministic simulator,
// at group sizes one machine cannot host as real peers, and reports what
// issue 14 asks at N = 1,000:
//
//   - joining: every node joins through a random node already started; the
//     time until every node lists every other alive;
//   - idle: frames, bytes and distinct peers contacted per node (the sim's
//     stand-in for open connections), active degree;
//   - a stream of messages from random live origins, with a fraction of
//     the nodes crashed silently (no close, their frames dropped) a quarter
//     of the way in: deliveries at the survivors of every message published
//     by a live node, latency, bodies and bytes per delivery;
//   - detection: the time until every survivor holds every victim failed,
//     and false failures (a live node declared failed anywhere).
//
// Gossip frames are not signed here (no Validator), and membership runs
// unauthenticated unless -auth (auth.go: authenticated mode, as p2p peers
// run it, with stand-in signatures whose checks are counted), so the run
// measures the protocol, not the CPU of signatures; the driver's
// timers (gap wants after 10 ms, tree-ack resends every 10 ms) are timers
// on the simulator.
//
//	go run ./testnet/cmd/stackexp                  # n = 1,000, 10 % crash
//	go run ./testnet/cmd/stackexp -n 200,1000,2000 -loss 0.01
//	go run ./testnet/cmd/stackexp -n 100000 -sample 128 -crash 0.00001 -join-rate 200 -msgs 20
//
// With -sample the member lists are bounded samples (membership's
// MemberSample): the group has joined once every node holds its overlay
// neighbours alive and the overlay is one component, and "all hold all
// victims failed" counts the survivors that hold a victim at all.
//
// Runs are deterministic: the same flags give the same table.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/testnet/internal/listflag"
)

const tick = 100 * time.Millisecond

// debug (STACKEXP_DEBUG set) prints, to stderr, the member-list sizes after
// the join phase and each victim's active degree, first suspicion and first
// declaration.
var debug = os.Getenv("STACKEXP_DEBUG") != ""

type params struct {
	n          int
	crash      float64
	loss       float64
	joinRate   int // joins started per tick
	msgs, rate int // messages, and messages per second
	size       int
	settle     time.Duration
	limit      time.Duration // how long to wait for detection after the crash
	latMin     time.Duration
	latMax     time.Duration
	seed       uint64
	eagerMin   int     // core.Config.EagerMin; 0 keeps the profile's
	plumRepair bool    // core.Config.PlumRepair
	eagerPlus  float64 // core.Config.EagerMinPlusShare
	iwantCalls *int    // core.Config.IWantDelayCalls; nil keeps the profile's
	plumLazy   *int    // core.Config.PlumLazyFanout; nil keeps the profile's
	afterLoss  *int    // core.Config.PlumRoundsAfterLoss; nil keeps the profile's
	announce   *int    // core.Config.PlumAnnounceDelayCalls; nil keeps the profile's
	suspMax    float64 // membership.Config.SuspicionMaxTimeoutMult; 0 keeps the profile's
	gossipInt  int     // membership.Config.GossipInterval; 0 keeps the profile's
	sample     int     // membership.Config.MemberSample; 0: every node lists every node
	reliable   *bool   // membership.Config.ReliableLinks; nil keeps the profile's
	heard      *bool   // membership.Config.HeardAnswersProbe; nil keeps the profile's
	auth       bool    // membership's authenticated mode with stand-in signatures (auth.go)
	local      *bool   // membership.Config.LocalAccusations; nil keeps the profile's
	chains     *bool   // membership.Config.AliveChains; nil keeps the profile's
	batch      *bool   // membership.Config.BatchVerdicts; nil keeps the profile's
	ask        *bool   // membership.Config.AskVerdicts; nil keeps the profile's
	answer     *bool   // membership.Config.AnswerAccusers; nil keeps the profile's
	direct     *bool   // membership.Config.DirectVerdicts; nil keeps the profile's
	memProfile string  // heap profile written after the join phase and the settle time
	progress   bool    // print the simulated time and heap every 10 simulated seconds
	joinLimit  time.Duration
	nextDue    bool // check every node's NextDue answers (next_due.go)
}

func main() {
	ns := flag.String("n", "1000", "group sizes, comma-separated")
	var p params
	flag.Float64Var(&p.crash, "crash", 0.1, "fraction of the nodes crashed silently a quarter of the way into the stream")
	flag.Float64Var(&p.loss, "loss", 0, "frame loss probability")
	flag.IntVar(&p.joinRate, "join-rate", 25, "joins started per tick")
	flag.IntVar(&p.msgs, "msgs", 200, "messages published")
	flag.IntVar(&p.rate, "rate", 20, "messages per second")
	flag.IntVar(&p.size, "size", 256, "payload bytes")
	flag.DurationVar(&p.settle, "settle", 20*time.Second, "quiet time after the group converged, before measuring idle traffic")
	flag.DurationVar(&p.limit, "limit", 60*time.Second, "how long to wait for every survivor to hold every victim failed")
	flag.DurationVar(&p.latMin, "lat-min", 2*time.Millisecond, "smallest one-way latency")
	flag.DurationVar(&p.latMax, "lat-max", 20*time.Millisecond, "largest one-way latency")
	flag.Uint64Var(&p.seed, "seed", 1, "seed")
	flag.Float64Var(&p.suspMax, "susp-max", 0, "SuspicionMaxTimeoutMult (0: the profile's)")
	flag.IntVar(&p.gossipInt, "gossip-interval", 0, "ticks between membership's dedicated gossip frames (membership.Config.GossipInterval; 0: the profile's)")
	flag.IntVar(&p.eagerMin, "eager-min", 0, "fewest eager Plumtree links per node (0: the profile's)")
	flag.BoolVar(&p.plumRepair, "plum-repair", false, "repair Plumtree links left one-way by a refused PRUNE (core.Config.PlumRepair)")
	flag.Float64Var(&p.eagerPlus, "eager-plus", 0, "share of the nodes whose floor is one more eager link (core.Config.EagerMinPlusShare)")
	flag.IntVar(&p.sample, "sample", 0, "sampled member lists of about this many members (membership.Config.MemberSample; 0: every node lists every node)")
	flag.StringVar(&p.memProfile, "memprofile", "", "write a heap profile to this file once the group has joined and settled")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.DurationVar(&p.joinLimit, "join-limit", 3*time.Minute, "longest simulated wait for the group to have joined")
	flag.BoolVar(&p.nextDue, "nextdue", false, "check that no node acts in a tick its NextDue said was quiet, and count the quiet ticks (stderr)")
	flag.BoolVar(&p.progress, "progress", false, "print the simulated time and the heap to stderr every 10 simulated seconds")
	iwantCalls := flag.Int("iwant-calls", -1, "first IWANT of an announced body after this many resend calls (core.Config.IWantDelayCalls; -1: the profile's, 0: IWantDelay's ticks)")
	plumLazy := flag.Int("plum-lazy", -1, "lazy neighbours announced to on first receipt (core.Config.PlumLazyFanout; -1: the profile's, 0: all)")
	afterLoss := flag.Int("rounds-after-loss", -1, "ticks after a loss seen during which the per-round announcements are sent (core.Config.PlumRoundsAfterLoss; -1: the profile's, 0: every round)")
	announce := flag.Int("announce-delay", -1, "resend calls an announcement on first receipt waits, its targets chosen per link (core.Config.PlumAnnounceDelayCalls; -1: the profile's, 0: at once, random targets)")
	reliable := flag.String("reliable", "", "membership.Config.ReliableLinks: on, off, or empty for the profile's")
	flag.BoolVar(&p.auth, "auth", false, "run membership in authenticated mode as p2p peers do (stand-in signatures; the checks are counted and printed to stderr)")
	local := flag.String("local-accusations", "", "membership.Config.LocalAccusations (with -auth): on, off, or empty for the profile's")
	chains := flag.String("alive-chains", "", "membership.Config.AliveChains (with -auth): on, off, or empty for the profile's")
	batch := flag.String("batch-verdicts", "", "membership.Config.BatchVerdicts (with -auth and local accusations): on, off, or empty for the profile's")
	ask := flag.String("ask-verdicts", "", "membership.Config.AskVerdicts (with -auth and local accusations): on, off, or empty for the profile's")
	direct := flag.String("direct-verdicts", "", "membership.Config.DirectVerdicts (with -auth and batched verdicts): on, off, or empty for the profile's")
	answer := flag.String("answer-accusers", "", "membership.Config.AnswerAccusers (with -auth and local accusations): on, off, or empty for the profile's")
	heard := flag.String("heard-answers", "", "membership.Config.HeardAnswersProbe: on, off, or empty for the profile's")
	flag.Parse()
	p.reliable = onOff("reliable", *reliable)
	p.heard = onOff("heard-answers", *heard)
	p.local = onOff("local-accusations", *local)
	p.chains = onOff("alive-chains", *chains)
	p.batch = onOff("batch-verdicts", *batch)
	p.ask = onOff("ask-verdicts", *ask)
	p.answer = onOff("answer-accusers", *answer)
	p.direct = onOff("direct-verdicts", *direct)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if *iwantCalls >= 0 {
		p.iwantCalls = iwantCalls
	}
	if *plumLazy >= 0 {
		p.plumLazy = plumLazy
	}
	if *afterLoss >= 0 {
		p.afterLoss = afterLoss
	}
	if *announce >= 0 {
		p.announce = announce
	}
	fmt.Println("| n | crash | loss | joined | degree min/med/max | peers contacted / 10 s (med/max) | idle frames/node/s | idle B/node/s | delivered | p50 | p99 | max | bodies/delivery | B/delivery | first declared (med/max) | all hold all victims failed | false failures | heap/node | wall |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range listflag.Ints(*ns) {
		p.n = n
		start := time.Now()
		r := run(p)
		fmt.Printf("| %d | %.0f %% | %.0f %% | %s | %d/%d/%d | %d/%d | %.1f | %.0f | %.3f %% | %s | %s | %s | %.2f | %.0f | %s / %s | %s | %d | %.0f KiB | %.0f s |\n",
			n, 100*p.crash, 100*p.loss, dur(r.joined), r.degMin, r.degMed, r.degMax, r.contactMed, r.contactMax,
			r.idleFrames, r.idleBytes, 100*r.delivered, ms(r.p50), ms(r.p99), ms(r.max), r.bodies, r.bytes,
			dur(r.firstMed), dur(r.firstMax), dur(r.detected), r.falseFails, r.heapPerNode/1024, time.Since(start).Seconds())
		var ms membership.Stats
		if p.sample > 0 {
			ms = r.memberStats
		}
		fmt.Fprintf(os.Stderr, "n = %d, member lists: median %d, largest %d live members; the victims were held by %d survivors (summed); sampled lists: newcomers skipped %d, members evicted %d, ghost entries %d, stale accusations of forgotten members %d\n",
			n, r.listMed, r.listMax, r.victimHolders, ms.SampleSkipped, ms.SampleEvicted, ms.SampleGhosts, ms.SampleGhostsStale)
		f, nn := &r.formation, float64(n)
		fmt.Fprintf(os.Stderr, "n = %d, overlay while joining, per node: links up %.1f, down %.1f (evicted %.1f); neighbour requests %.1f (rejected %.1f, timed out %.1f); join offers %.1f\n",
			n, float64(f.NeighborUp)/nn, float64(f.NeighborDown)/nn, float64(f.Evictions)/nn, float64(f.NeighborRequests)/nn, float64(f.NeighborRejected)/nn, float64(f.NeighborTimeouts)/nn, float64(f.JoinOffers)/nn)
		if p.auth {
			fmt.Fprintf(os.Stderr, "n = %d, signature checks (alive/suspect/dead/leave): idle, per node per second %s; from the crash to detection, per survivor per victim %s\n",
				n, r.sigIdle, r.sigCrash)
		}
		if p.nextDue {
			fmt.Fprintf(os.Stderr, "n = %d, NextDue: %d of %d node ticks quiet (%.1f %%), %d acted in a tick said to be quiet%s\n",
				n, r.due.quiet, r.due.ticks, 100*float64(r.due.quiet)/float64(max(r.due.ticks, 1)), r.due.violations, firstOf(r.due.first))
		}
		fmt.Fprintf(os.Stderr, "n = %d, eager links among live nodes at the end: receive from none %.1f %%, from one %.1f %%; send to exactly EagerMin %.1f %%, mean %.2f; one-way %.1f %% of the eager links\n",
			n, 100*r.in0, 100*r.in1, 100*r.outAtMin, r.outMean, 100*r.oneWay)
	}
}

func firstOf(s string) string {
	if s == "" {
		return ""
	}
	return "; the first: " + s
}

func dur(d time.Duration) string {
	if d < 0 {
		return "not within limit"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// onOff parses a flag that takes on, off or nothing (nil: the profile's).
func onOff(name, v string) *bool {
	switch v {
	case "on", "off":
		on := v == "on"
		return &on
	case "":
		return nil
	}
	fmt.Fprintf(os.Stderr, "stackexp: -%s takes on, off or nothing\n", name)
	os.Exit(2)
	return nil
}
