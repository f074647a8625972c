// Command bench measures Grapevine's libp2p peers against go-libp2p-pubsub's
// GossipSub (v0.19.0, default parameters) on the same in-process hosts and
// the same topology: N hosts on 127.0.0.1 over QUIC (one UDP socket per
// host) or TCP (Noise, yamux) (-transport), a random graph of average
// degree 8 (-degree), one publisher sending M messages at R per second.
// Both systems run one after the other in the same process, each on fresh
// hosts, so that CPU and byte counts are not mixed.
//
// Systems: grapevine (-overlay: with p2p.WithOverlay, the bounded
// overlay); gossipsub on the random topology; gossipsub-full on a complete
// graph (every host connected to every other before it starts).
//
// Scenarios: steady (no failures); kill (20 % of the hosts, publisher
// excluded, closed abruptly after half the messages; survivors measured);
// silent (the same hosts crash silently: their packets are dropped, nothing
// is closed; see transport.go); first (a new host joins a formed group and
// publishes as soon as it knows one group peer: the share of the group
// reached within 100 ms); first-mesh (the same, GossipSub publishing only
// once its mesh has formed).
//
// Per peer: open connections (median and max over live hosts), goroutines
// and heap after GC (the run's growth over the process before its hosts,
// divided by N); for Grapevine in kill and silent, the time from the kill
// until every live peer has declared every victim failed, and the live
// members declared failed (false positives).
//
//	go run . -transport quic -n 50 -msgs 200 -rate 20 -sizes 256,16384 -runs 3
//
// Output: one Markdown table with the median of the runs for each metric.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// processStart is when the process started, near enough (package
// initialisation).
var processStart = time.Now()

func main() {
	n := flag.Int("n", 50, "hosts")
	msgs := flag.Int("msgs", 200, "messages per run")
	rate := flag.Float64("rate", 20, "messages per second")
	sizesF := flag.String("sizes", "256,16384", "payload sizes in bytes, comma-separated")
	degree := flag.Int("degree", 8, "average degree of the random topology")
	runs := flag.Int("runs", 3, "runs per cell (the table shows medians)")
	systemsF := flag.String("systems", "grapevine,gossipsub", "systems to measure")
	scenF := flag.String("scenarios", "steady,kill,first", "scenarios: steady, kill, silent, first, first-mesh")
	transport := flag.String("transport", "tcp", "transport of every host: quic (one UDP socket per host) or tcp")
	flag.BoolVar(&overlayOn, "overlay", false, "Grapevine: p2p.WithOverlay(true), the bounded overlay")
	flag.IntVar(&overlayBudget, "overlay-budget", 0, "Grapevine with -overlay: p2p.WithOverlayBudget(n), the active view's connection budget (0: the default)")
	readyWait := flag.Duration("readywait", 180*time.Second, "longest wait for a group to form")
	settleWait := flag.Duration("settle", 0, "after a group is ready, wait this long before measuring (every system alike; prints the CPU used at its end)")
	flag.BoolVar(&starvationLag, "starvation", false, "Grapevine: p2p.WithStarvationLag(true), the drivers report the process's goroutine waits as lag (the library's default is off)")
	flag.BoolVar(&tickSkipping, "tickskip", false, "Grapevine: p2p.WithTickSkipping(true), the drivers sleep through quiet ticks (the library's default is off)")
	flag.BoolVar(&gcBeforeWindow, "gcbefore", false, "once a group is ready, collect the (shared) heap before the settling wait, for every system alike, so that no window pays for the formation's garbage")
	flag.BoolVar(&timeline, "timeline", false, "Grapevine: print, every second of the first window, the process's load and what the peers sent in that second (the counters as the drivers last copied them, once a second: p2p.Peer.StatsNow)")
	flag.IntVar(&warmupMsgs, "warmup", 0, "steady, kill, silent: messages host 0 publishes (unrecorded) before the settling wait, every system alike, so that the window measures the steady state and not the group's first message")
	detectWait := flag.Duration("detectwait", 30*time.Second, "Grapevine in kill/silent: longest wait, from the kill, for every live peer to declare every victim failed")
	killFrac := flag.Float64("kill", 0.2, "fraction of hosts killed in the kill scenario")
	verbose := flag.Bool("v", false, "print every run")
	flag.BoolVar(&printStats, "stats", false, "print Grapevine's engine counters, summed over the live peers, after every run")
	fanout := flag.Int("fanout", 0, "Grapevine: override the gossip fanout (0: the p2p profile's)")
	lazyBody := flag.Int("lazybody", -1, "Grapevine: override LazyBodyFanout (-1: profile's)")
	lazyThr := flag.Int("lazythreshold", -1, "Grapevine: override LazyThreshold (-1: profile's)")
	pullEvery := flag.Int("pullevery", 0, "Grapevine: override PullEvery (0: profile's)")
	roundTicks := flag.Int("roundticks", 0, "Grapevine: override RoundTicks (0: profile's)")
	rounds := flag.Int("rounds", -1, "Grapevine: override Rounds, the announcement rounds after first receipt (-1: profile's; 0: core's RoundsFactor·ln n, not none)")
	tree := flag.Int("tree", -1, "Grapevine: override TreeFanout (-1: profile's; 0: off, random eager push)")
	iwantDelay := flag.Int("iwantdelay", -1, "Grapevine: override IWantDelay in ticks (-1: profile's)")
	eagerMin := flag.Int("eagermin", 0, "Grapevine with -overlay: override Plumtree's EagerMin (0: profile's)")
	plumRepair := flag.String("plumrepair", "", "Grapevine with -overlay: override Plumtree's PlumRepair: on, off ('': profile's)")
	iwantCalls := flag.Int("iwantcalls", -1, "Grapevine: override IWantDelayCalls (-1: profile's; 0: IWantDelay's ticks only)")
	wantRTT := flag.String("wantrtt", "", "Grapevine: on|off overrides WantRTT, fast retries of asked bodies timed by the answers' round trip (empty: profile's)")
	announceDelay := flag.Int("plumannounce", -1, "Grapevine with -overlay: override PlumAnnounceDelayCalls, the driver calls an announcement on first receipt waits, its targets chosen per link (-1: profile's; 0: at once, random targets)")
	afterLoss := flag.Int("plumrounds", -1, "Grapevine with -overlay: override PlumRoundsAfterLoss, the ticks after a loss during which rounds announce (-1: profile's; 0: every round)")
	lazyFanout := flag.Int("plumlazy", -1, "Grapevine with -overlay: override PlumLazyFanout, the lazy neighbours announced to on first receipt (-1: profile's; 0: all)")
	fifo := flag.String("fifo", "", "Grapevine: override per-origin FIFO delivery: on, off ('': profile's)")
	fifoStart := flag.Int("fifostart", -1, "Grapevine: override FIFOStart in ticks (-1: profile's)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Uint64Var(&firstSeq, "firstseq", 1, "Grapevine: first sequence number of each (fresh) peer; 0 for the p2p default (microseconds since 1970, for restarts)")
	flag.StringVar(&heapProfile, "heapprofile", "", "write a heap profile at the end of the first measurement window to this file, and one at its start beside it (NAME.start.prof; use it as pprof's -base for the window's allocations)")
	flag.StringVar(&windowProfile, "windowprofile", "", "write a CPU profile of the first measurement window (after formation) to this file")
	csvPath := flag.String("csv", "", "also append each table row (medians) to this CSV file, for ladderplot")
	// The runtime's default (one sample per 512 KiB allocated) cannot
	// resolve what a peer holds at N = 50 (about 1 MB each); sampling every
	// 4 KiB slows a run of 1,000 peers enough to change it.
	heapRate := flag.Int("heaprate", 4096, "with -heapprofile: bytes allocated per heap profile sample")
	flag.Parse()
	if heapProfile != "" {
		runtime.MemProfileRate = *heapRate
	}
	if *cpuprofile != "" && windowProfile != "" {
		fmt.Fprintln(os.Stderr, "bench: -cpuprofile and -windowprofile exclude each other")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *fanout > 0 || *lazyBody >= 0 || *lazyThr >= 0 || *pullEvery > 0 || *roundTicks > 0 || *rounds >= 0 || *tree >= 0 || *iwantDelay >= 0 || *fifo != "" || *fifoStart >= 0 || *eagerMin > 0 || *plumRepair != "" || *iwantCalls >= 0 || *lazyFanout >= 0 || *afterLoss >= 0 || *announceDelay >= 0 || *wantRTT != "" {
		engineTune = func(c *core.Config) {
			if *fifo != "" {
				c.FIFO = *fifo == "on"
			}
			if *fifoStart >= 0 {
				c.FIFOStart = *fifoStart
			}
			if *tree >= 0 {
				c.TreeFanout = *tree
			}
			if *iwantDelay >= 0 {
				c.IWantDelay = *iwantDelay
			}
			if *eagerMin > 0 {
				c.EagerMin = *eagerMin
			}
			if *plumRepair != "" {
				c.PlumRepair = *plumRepair == "on"
			}
			if *wantRTT != "" {
				c.WantRTT = *wantRTT == "on"
			}
			if *iwantCalls >= 0 {
				c.IWantDelayCalls = *iwantCalls
			}
			if *announceDelay >= 0 {
				c.PlumAnnounceDelayCalls = *announceDelay
			}
			if *afterLoss >= 0 {
				c.PlumRoundsAfterLoss = *afterLoss
			}
			if *lazyFanout >= 0 {
				c.PlumLazyFanout = *lazyFanout
			}
			if *fanout > 0 {
				c.Fanout = *fanout
			}
			if *lazyBody >= 0 {
				c.LazyBodyFanout = *lazyBody
			}
			if *lazyThr >= 0 {
				c.LazyThreshold = *lazyThr
			}
			if *pullEvery > 0 {
				c.PullEvery = *pullEvery
			}
			if *roundTicks > 0 {
				c.RoundTicks = *roundTicks
			}
			if *rounds >= 0 {
				c.Rounds = *rounds
			}
		}
		fmt.Fprintf(os.Stderr, "Grapevine gossip overrides: fanout=%d lazybody=%d lazythreshold=%d pullevery=%d roundticks=%d rounds=%d tree=%d iwantdelay=%d eagermin=%d plumrepair=%q iwantcalls=%d plumlazy=%d plumrounds=%d plumannounce=%d wantrtt=%q fifo=%q fifostart=%d\n",
			*fanout, *lazyBody, *lazyThr, *pullEvery, *roundTicks, *rounds, *tree, *iwantDelay, *eagerMin, *plumRepair, *iwantCalls, *lazyFanout, *afterLoss, *announceDelay, *wantRTT, *fifo, *fifoStart)
	}

	var sizes []int
	for _, s := range strings.Split(*sizesF, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 16 {
			fmt.Fprintf(os.Stderr, "bench: bad size %q (want integers >= 16)\n", s)
			os.Exit(2)
		}
		sizes = append(sizes, v)
	}
	systems := strings.Split(*systemsF, ",")
	for _, s := range systems {
		if s != "grapevine" && s != "gossipsub" && s != "gossipsub-full" {
			fmt.Fprintf(os.Stderr, "bench: unknown system %q\n", s)
			os.Exit(2)
		}
	}
	for _, s := range strings.Split(*scenF, ",") {
		switch s {
		case "steady", "kill", "silent", "first", "first-mesh":
		default:
			fmt.Fprintf(os.Stderr, "bench: unknown scenario %q\n", s)
			os.Exit(2)
		}
	}
	if *transport != "quic" && *transport != "tcp" {
		fmt.Fprintf(os.Stderr, "bench: unknown transport %q (quic or tcp)\n", *transport)
		os.Exit(2)
	}
	soft, hard := raiseFileLimit()
	cfg := config{n: *n, msgs: *msgs, rate: *rate, degree: *degree, killFrac: *killFrac,
		transport: *transport, readyWait: *readyWait, detectWait: *detectWait, settle: *settleWait}
	ov := "off"
	if overlayOn {
		ov = "on"
	}
	fmt.Printf("N=%d hosts, %d messages at %g/s, random topology of average degree %d, %s on 127.0.0.1, Grapevine overlay %s, %d runs per cell (medians), GOMAXPROCS=%s, open files %d (hard %d)\n\n",
		cfg.n, cfg.msgs, cfg.rate, cfg.degree, strings.ToUpper(cfg.transport), ov, *runs, gomaxprocs(), soft, hard)
	fmt.Println("| scenario | payload | system | delivered | p50 | p99 | max | wire bytes / delivery | stream bytes / delivery | CPU / delivery | within 100 ms | conns / peer (p50, max) | goroutines / peer | heap / peer | all declared failed | false fails |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	anyFailed := false
	for _, scen := range strings.Split(*scenF, ",") {
		first := scen == "first" || scen == "first-mesh"
		for _, size := range sizes {
			if first && size != sizes[0] {
				continue
			}
			// Runs alternate between the systems (run 1 of each, then run 2
			// of each, ...), so that a slow spell of the shared machine falls
			// on both rather than on whichever system ran then.
			rs := make([][]result, len(systems))
			failed := make([]string, len(systems)) // a run's error: the system's row reports it, the others' rows still print
			for r := 0; r < *runs; r++ {
				for si, sys := range systems {
					if failed[si] != "" {
						continue
					}
					res, err := runOne(sys, scen, size, cfg, int64(r+1))
					if err != nil {
						fmt.Fprintf(os.Stderr, "bench: %s %s %d: %v\n", sys, scen, size, err)
						failed[si] = fmt.Sprintf("run %d: %v", r+1, err)
						anyFailed = true
						continue
					}
					if *verbose {
						fmt.Fprintf(os.Stderr, "%s %s %dB run %d: %+v\n", sys, scen, size, r+1, res)
					}
					rs[si] = append(rs[si], res)
				}
			}
			for si, sys := range systems {
				if failed[si] != "" {
					fmt.Printf("| %s | %s | %s | failed (%s) | | | | | | | | | | | | |\n", scen, fmtSize(size), sys, strings.ReplaceAll(failed[si], "|", "/"))
					continue
				}
				m := medians(rs[si])
				within := "—"
				if first {
					within = fmt.Sprintf("%.0f %%", 100*m.within100)
				}
				detect, fp := "—", "—"
				if sys == "grapevine" {
					fp = fmt.Sprintf("%.0f", m.falsePos)
					if scen == "kill" || scen == "silent" {
						detect = fmtDetect(m.detect, cfg.detectWait)
					}
				}
				label := sys
				if sys == "grapevine" && overlayOn {
					label = "grapevine (overlay)"
				}
				fmt.Printf("| %s | %s | %s | %.2f %% | %s | %s | %s | %s | %s | %s | %s | %.0f, %.0f | %.0f | %s | %s | %s |\n",
					scen, fmtSize(size), label, 100*m.delivered, ms(m.p50), ms(m.p99), ms(m.max),
					fmtBytes(m.wirePerDel), fmtBytes(m.streamPerDel), ms(m.cpuPerDel), within,
					m.connsP50, m.connsMax, m.goroutines, fmtBytes(m.heap), detect, fp)
				if *csvPath != "" {
					if err := appendCSV(*csvPath, cfg, scen, size, label, m); err != nil {
						fmt.Fprintf(os.Stderr, "bench: %v\n", err)
						os.Exit(1)
					}
				}
			}
		}
	}
	if anyFailed {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type config struct {
	n, msgs, degree       int
	rate                  float64
	killFrac              float64
	transport             string
	readyWait, detectWait time.Duration
	settle                time.Duration // extra wait after ready (-settle)
}

// result is one run's measurements.
type result struct {
	delivered    float64       // fraction of expected deliveries that happened
	p50, p99     time.Duration // publish to delivery
	max          time.Duration
	wirePerDel   float64 // bytes written to sockets (TCP payload: Noise, yamux and protocol) per delivery
	streamPerDel float64 // bytes written to libp2p streams per delivery
	cpuPerDel    time.Duration
	within100    float64 // first scenario: share of the group reached within 100 ms

	connsP50, connsMax float64       // open connections per live host
	goroutines, heap   float64       // per peer: goroutines, heap bytes after GC
	detect             time.Duration // Grapevine, kill/silent: until all declared all victims failed; -1: not within -detectwait
	falsePos           float64       // Grapevine: live members declared failed (observer-member pairs)
}

func medians(rs []result) result {
	med := func(f func(r result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	m := result{
		delivered:    med(func(r result) float64 { return r.delivered }),
		p50:          time.Duration(med(func(r result) float64 { return float64(r.p50) })),
		p99:          time.Duration(med(func(r result) float64 { return float64(r.p99) })),
		max:          time.Duration(med(func(r result) float64 { return float64(r.max) })),
		wirePerDel:   med(func(r result) float64 { return r.wirePerDel }),
		streamPerDel: med(func(r result) float64 { return r.streamPerDel }),
		cpuPerDel:    time.Duration(med(func(r result) float64 { return float64(r.cpuPerDel) })),
		within100:    med(func(r result) float64 { return r.within100 }),
		connsP50:     med(func(r result) float64 { return r.connsP50 }),
		connsMax:     med(func(r result) float64 { return r.connsMax }),
		goroutines:   med(func(r result) float64 { return r.goroutines }),
		heap:         med(func(r result) float64 { return r.heap }),
		detect:       -1,
		falsePos:     med(func(r result) float64 { return r.falsePos }),
	}
	d := med(func(r result) float64 {
		if r.detect < 0 {
			return math.Inf(1) // not detected within the wait: above any time
		}
		return float64(r.detect)
	})
	if !math.IsInf(d, 1) {
		m.detect = time.Duration(d)
	}
	return m
}

// fmtDetect prints a detection time; a median over runs some of which did
// not detect within the wait is printed as "> wait".
func fmtDetect(d, wait time.Duration) string {
	if d < 0 || d > wait {
		return "> " + wait.String()
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func ms(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func fmtBytes(b float64) string {
	switch {
	case b <= 0:
		return "—"
	case b < 10000:
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f KB", b/1000)
}

func fmtSize(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

func gomaxprocs() string {
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		return v
	}
	return "default"
}
