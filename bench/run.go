package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// system is one pub/sub implementation under test.
type system interface {
	// start runs the system on hosts[i] for each i in idx, joining through
	// the given neighbours.
	start(ctx context.Context, hosts []host.Host, idx []int, nbrs [][]int, deliver func(host int, payload []byte)) error
	// ready waits until the given hosts are ready to publish and receive.
	ready(ctx context.Context, idx []int, full bool) error
	publish(ctx context.Context, i int, payload []byte) error
	kill(i int)
	close()
}

// firstSeq, when positive, is the first sequence number of every Grapevine
// peer (fresh identities); 0 keeps the p2p default (the clock).
var firstSeq uint64 = 1

// engineTune, when set, adjusts Grapevine's gossip profile (flags).
var engineTune func(*core.Config)

// printStats prints Grapevine's summed engine counters after each run (-stats).
var printStats bool

// overlayOn passes p2p.WithOverlay(true) to every Grapevine peer (-overlay).
var overlayOn bool

// overlayBudget, if positive, passes p2p.WithOverlayBudget (-overlay-budget).
var overlayBudget int

// tickSkipping is passed to every Grapevine peer as p2p.WithTickSkipping
// (-tickskip; the library's default is off).
var tickSkipping bool

// starvationLag passes p2p.WithStarvationLag(true) to every Grapevine peer
// (-starvation; the library's default is off).
var starvationLag bool

// newSystem: grapevine; gossipsub on the shared random topology;
// gossipsub-full on a complete graph (every host connected to every other
// before the system starts).
func newSystem(name string) system {
	if name == "grapevine" {
		return &grapevineSys{tune: engineTune, overlay: overlayOn, budget: overlayBudget}
	}
	return &gossipsubSys{}
}

// complete returns the complete graph on n nodes.
func complete(n int) [][]int {
	nb := make([][]int, n)
	for i := range nb {
		for j := 0; j < n; j++ {
			if j != i {
				nb[i] = append(nb[i], j)
			}
		}
	}
	return nb
}

// topology returns a random graph on n nodes of average degree d: each
// node links to d/2 others chosen at random, and links are symmetric.
func topology(n, d int, rng *rand.Rand) [][]int {
	nb := make([][]int, n)
	link := func(a, b int) {
		if a == b || slices.Contains(nb[a], b) {
			return
		}
		nb[a] = append(nb[a], b)
		nb[b] = append(nb[b], a)
	}
	for i := 0; i < n; i++ {
		for k := 0; k < d/2; k++ {
			link(i, rng.IntN(n))
		}
	}
	return nb
}

// connect dials every link of the hosts in idx, at most 64 dials at once.
func connect(ctx context.Context, hosts []host.Host, nbrs [][]int, idx []int) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	sem := make(chan struct{}, 64)
	in := make(map[int]bool, len(idx))
	for _, i := range idx {
		in[i] = true
	}
	for _, i := range idx {
		for _, j := range nbrs[i] {
			if j < i && in[j] {
				continue // one dial per link
			}
			wg.Add(1)
			sem <- struct{}{}
			go func(a, b host.Host) {
				defer wg.Done()
				defer func() { <-sem }()
				if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
					once.Do(func() { first = err })
				}
			}(hosts[i], hosts[j])
		}
	}
	wg.Wait()
	return first
}

// procIO returns the bytes this process has written with write-like
// system calls (sockets, mostly: the hosts talk over loopback TCP).
func procIO() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "wchar: "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// windowProfile, if set, receives a CPU profile of the first measurement
// window (publishing and draining, not group formation).
var windowProfile string

// heapProfile, if set, receives a heap profile taken at the end of the first
// measurement window (before the hosts close).
var heapProfile string

func writeHeapProfile() {
	if heapProfile == "" {
		return
	}
	f, err := os.Create(heapProfile)
	heapProfile = ""
	if err != nil {
		return
	}
	defer f.Close()
	runtime.GC()
	pprof.Lookup("heap").WriteTo(f, 0)
	// Beside it, the goroutines grouped by stack (text), to see who holds them.
	if g, err := os.Create(strings.TrimSuffix(f.Name(), ".prof") + ".goroutines.txt"); err == nil {
		pprof.Lookup("goroutine").WriteTo(g, 1)
		g.Close()
	}
}

// writeWindowStartHeap writes, beside the heap profile (NAME.start.prof),
// one taken as the first measurement window starts: with it as -base,
// pprof's alloc_space shows what the window itself allocated (the end
// profile's counts run from the process's start, group formation
// included).
func writeWindowStartHeap() {
	if heapProfile == "" {
		return
	}
	f, err := os.Create(strings.TrimSuffix(heapProfile, ".prof") + ".start.prof")
	if err != nil {
		return
	}
	defer f.Close()
	runtime.GC()
	pprof.Lookup("heap").WriteTo(f, 0)
}

func startWindowProfile() (stop func()) {
	if windowProfile == "" {
		return func() {}
	}
	f, err := os.Create(windowProfile)
	windowProfile = ""
	if err != nil || pprof.StartCPUProfile(f) != nil {
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// quiesce waits for the previous run's goroutines to finish (the goroutine
// count stops falling, up to 20 s) and collects its garbage, so that one
// run's teardown is not charged to the next run, whichever system that is.
func quiesce() {
	prev := runtime.NumGoroutine()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n >= prev {
			break
		}
		prev = n
	}
	runtime.GC()
	debug.FreeOSMemory()
}

// settle waits d after a group is ready, the same for every system, and
// prints the process's CPU rate over the wait's last 5 s: whether a
// group's formation traffic had ended before the measurement starts. (At
// N = 500 it had, at 0.5 cores, and Grapevine's collapse came anyway:
// docs/benchmarks/ladder.md, session 24.)
func settle(d time.Duration, sysName string, sys system) {
	if d <= 0 {
		return
	}
	last := min(d, 5*time.Second)
	time.Sleep(d - last)
	g, isGrapevine := sys.(*grapevineSys)
	var before map[string]uint64
	if printStats && isGrapevine {
		before = g.windowCounters()
	}
	c0, t0, gc0, m0, s0 := cpuTime(), time.Now(), numGC(), readMachineCPU(), readSchedLatencies()
	time.Sleep(last)
	ours, wall := cpuTime()-c0, time.Since(t0)
	fmt.Fprintf(os.Stderr, "%s: after %v of settling, the process used %.2f cores over the last %v (collections ended in it: %d); %s; %s\n",
		sysName, d, float64(ours)/float64(wall), last, numGC()-gc0, describeMachine(m0, readMachineCPU(), ours, wall),
		describeSchedLatencies(s0, readSchedLatencies()))
	if before != nil {
		// What an idle group sent and did: its load before the first
		// message sorts the N = 1,000 windows (ladder.md, sessions 37-38).
		printCounters(fmt.Sprintf("grapevine over the last %v of settling (live peers, sums):", last), before, g.windowCounters())
	}
}

// gcBeforeWindow, when set (-gcbefore), collects the heap once the group is
// ready, before the settling wait, for every system alike, so that the
// formation's garbage is not collected during the window: all hosts share
// one heap here, so a collection slows every peer at once, which peers in
// processes of their own never see (at N = 1,000 one took 3.4-4.9 s and
// 6.5-9.5 s of CPU, with 1.5 GB live; GossipSub's about 1 s and 2 s). The
// settling wait then lets the group catch up before the first message.
var gcBeforeWindow bool

func collectBeforeWindow(sysName string) {
	if !gcBeforeWindow {
		return
	}
	t0, c0 := time.Now(), cpuTime()
	runtime.GC()
	fmt.Fprintf(os.Stderr, "%s: a collection before the window took %v (%.1f s of CPU)\n", sysName,
		time.Since(t0).Round(time.Millisecond), (cpuTime() - c0).Seconds())
}

// warmupMsgs (-warmup) is how many messages host 0 publishes before the
// settling wait and the window, every system alike, at the window's rate;
// they are not recorded. A group that formed without a message starts with
// no gossip state: Plumtree's links all start eager, so its first message
// goes over every overlay link, about 6 of a peer's 7 at N = 1,000 with a
// budget of 8, and the duplicates are pruned back to about 2.4 eager links
// a peer; a GossipSub mesh has its first message to carry too. With a
// warm-up the window measures the steady state; without it, as before, the
// window's first message is the group's first.
var warmupMsgs int

// warmupIdx is where the warm-up messages' indexes start: the recorder
// ignores them.
const warmupIdx = 1 << 40

// warmUp publishes the warm-up messages from host 0. Their filler comes from
// a generator of their own, so that the run's draws after them (the
// window's payloads, the victims) are those of a run without a warm-up.
func warmUp(ctx context.Context, sys system, rate float64, size int) error {
	rng := rand.New(rand.NewPCG(38, 38))
	interval := time.Duration(float64(time.Second) / rate)
	for i := 0; i < warmupMsgs; i++ {
		if i > 0 {
			time.Sleep(interval)
		}
		if err := sys.publish(ctx, 0, makePayload(size, warmupIdx+i, rng)); err != nil {
			return fmt.Errorf("warm-up publish: %w", err)
		}
	}
	return nil
}

// numGC is the number of collections the process has finished.
func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

// flowSettle: libp2p's bandwidth counter folds its totals in once a
// second, so stream byte counts are read after waiting that long.
const flowSettle = 1100 * time.Millisecond

// payload: message index, publish time (unix ns), random filler.
func makePayload(size, idx int, rng *rand.Rand) []byte {
	b := make([]byte, size)
	for i := 16; i < size; i++ {
		b[i] = byte(rng.Uint32())
	}
	binary.BigEndian.PutUint64(b, uint64(idx))
	binary.BigEndian.PutUint64(b[8:], uint64(time.Now().UnixNano()))
	return b
}

type recorder struct {
	mu   sync.Mutex
	got  []map[int]time.Duration // per host: message index -> latency
	when []map[int]time.Time
}

func newRecorder(n int) *recorder {
	r := &recorder{got: make([]map[int]time.Duration, n), when: make([]map[int]time.Time, n)}
	for i := range r.got {
		r.got[i] = map[int]time.Duration{}
		r.when[i] = map[int]time.Time{}
	}
	return r
}

func (r *recorder) deliver(h int, p []byte) {
	now := time.Now()
	if len(p) < 16 {
		return
	}
	idx := int(binary.BigEndian.Uint64(p))
	if idx >= warmupIdx {
		return
	}
	sent := time.Unix(0, int64(binary.BigEndian.Uint64(p[8:])))
	r.mu.Lock()
	if _, dup := r.got[h][idx]; !dup {
		r.got[h][idx] = now.Sub(sent)
		r.when[h][idx] = now
	}
	r.mu.Unlock()
}

func (r *recorder) count(hosts []int, msgs int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, h := range hosts {
		for m := 0; m < msgs; m++ {
			if _, ok := r.got[h][m]; ok {
				n++
			}
		}
	}
	return n
}

// baseline is the process's state before a run's hosts exist: what a run
// adds per peer is measured against it.
type baseline struct {
	goroutines int
	heap       uint64
}

func takeBaseline() baseline {
	return baseline{goroutines: runtime.NumGoroutine(), heap: liveHeap()}
}

// liveHeap returns the heap in use after two collections in a row. A
// collection moves what sync.Pools hold to their victim caches, which the
// next one frees, and an object with a finalizer is freed only by the
// collection after the one that found it unreachable; both outlive a
// single collection, and how much a pool holds depends on how long ago the
// last collection was. With -stats it also prints the heap after the first
// collection.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	if printStats {
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "heap after one collection: %d MiB\n", ms.HeapAlloc>>20)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if printStats {
		fmt.Fprintf(os.Stderr, "heap after two collections: %d MiB\n", ms.HeapAlloc>>20)
	}
	return ms.HeapAlloc
}

// perPeer fills in the per-peer figures of the live hosts: open
// connections (median and max over live hosts), goroutines and heap after
// GC (the run's growth over the baseline, divided by all N hosts: libp2p's
// own share included, the same for both systems).
func perPeer(res *result, tb *testbed, live []int, base baseline, n int) {
	conns := make([]float64, 0, len(live))
	for _, i := range live {
		conns = append(conns, float64(len(tb.hosts[i].Network().Peers())))
	}
	slices.Sort(conns)
	if len(conns) > 0 {
		res.connsP50, res.connsMax = conns[len(conns)/2], conns[len(conns)-1]
	}
	heap := liveHeap()
	res.goroutines = float64(runtime.NumGoroutine()-base.goroutines) / float64(n)
	res.heap = (float64(heap) - float64(base.heap)) / float64(n)
}

func runOne(sysName, scen string, size int, cfg config, seed int64) (result, error) {
	quiesce()
	base := takeBaseline()
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(size)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tb, err := newHosts(cfg.n, cfg.transport)
	if err != nil {
		return result{}, err
	}
	defer tb.close()
	nbrs := topology(cfg.n, cfg.degree, rng)
	links := nbrs // what the hosts dial before the system starts
	if sysName == "gossipsub-full" {
		links = complete(cfg.n)
	}
	rec := newRecorder(cfg.n)
	sys := newSystem(sysName)
	defer sys.close()

	all := make([]int, cfg.n)
	for i := range all {
		all[i] = i
	}
	pub := 0
	group := all
	if scen == "first" || scen == "first-mesh" {
		// Everyone but the publisher forms the group first.
		pub = cfg.n - 1
		group = all[:cfg.n-1]
	}
	if err := connect(ctx, tb.hosts, links, group); err != nil {
		return result{}, fmt.Errorf("connecting: %w", err)
	}
	if err := sys.start(ctx, tb.hosts, group, nbrs, rec.deliver); err != nil {
		return result{}, err
	}
	rctx, rcancel := context.WithTimeout(ctx, cfg.readyWait)
	defer rcancel()
	if err := sys.ready(rctx, group, true); err != nil {
		return result{}, fmt.Errorf("group not ready: %w", err)
	}
	collectBeforeWindow(sysName)
	if warmupMsgs > 0 && scen != "first" && scen != "first-mesh" {
		if err := warmUp(ctx, sys, cfg.rate, size); err != nil {
			return result{}, err
		}
	}
	settle(cfg.settle, sysName, sys)

	if scen == "first" || scen == "first-mesh" {
		res, err := runFirst(ctx, sys, tb, links, rec, pub, group, size, rng, scen == "first-mesh")
		if err == nil {
			perPeer(&res, tb, all, base, cfg.n)
		}
		return res, err
	}

	// Steady and kill: M messages at R/s from host 0.
	receivers := all[1:]
	var killed []int
	time.Sleep(flowSettle)
	writeWindowStartHeap()
	stopProfile := startWindowProfile()
	stopTimeline := startTimeline(sys)
	t0 := time.Now()
	if printStats {
		// To line the slow messages below up with GODEBUG=gctrace=1, whose
		// times count from the process's start.
		fmt.Fprintf(os.Stderr, "first message published %.3f s after the process started\n", t0.Sub(processStart).Seconds())
	}
	var killAt time.Time
	var window0 map[string]uint64
	g, isGrapevine := sys.(*grapevineSys)
	if printStats && isGrapevine {
		window0 = g.windowCounters()
		eager, lazy, peers := g.plumLinks()
		fmt.Fprintf(os.Stderr, "grapevine plumtree links as the window starts: eager %.1f, lazy %.1f a peer\n",
			float64(eager)/float64(max(1, peers)), float64(lazy)/float64(max(1, peers)))
		sh := g.overlayShape()
		fmt.Fprintf(os.Stderr, "grapevine overlay as the window starts: neighbours min %d median %d max %d; hops between peers mean %.2f, max %d (from up to 32 peers; pairs with no path %d)\n",
			sh.degMin, sh.degMed, sh.degMax, sh.meanHops, sh.maxHops, sh.unreached)
	}
	cpu0, io0, bw0 := cpuTime(), tb.wireBytesOut(), tb.streamBytesOut()
	pk0, mc0, wall0, sl0 := tb.udpPackets.Load(), readMachineCPU(), time.Now(), readSchedLatencies()
	var ms0 runtime.MemStats
	if printStats {
		runtime.ReadMemStats(&ms0)
	}
	interval := time.Duration(float64(time.Second) / cfg.rate)
	next := time.Now()
	for m := 0; m < cfg.msgs; m++ {
		if (scen == "kill" || scen == "silent") && m == cfg.msgs/2 {
			k := int(float64(cfg.n)*cfg.killFrac + 0.5)
			perm := rng.Perm(cfg.n - 1)
			for _, x := range perm[:k] {
				killed = append(killed, x+1)
			}
			killAt = time.Now()
			for _, i := range killed {
				if scen == "silent" {
					// Packets dropped, nothing closed: the host and the
					// system on it run on, unheard, until the run ends.
					tb.crash(i)
					continue
				}
				sys.kill(i)
				tb.hosts[i].Close()
			}
		}
		time.Sleep(time.Until(next))
		next = next.Add(interval)
		if err := sys.publish(ctx, pub, makePayload(size, m, rng)); err != nil {
			return result{}, fmt.Errorf("publish: %w", err)
		}
	}
	var survivors []int
	for _, i := range receivers {
		if !slices.Contains(killed, i) {
			survivors = append(survivors, i)
		}
	}
	expected := len(survivors) * cfg.msgs
	deadline := time.Now().Add(10 * time.Second)
	for rec.count(survivors, cfg.msgs) < expected && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cpu, wio := cpuTime()-cpu0, tb.wireBytesOut()-io0
	packets := tb.udpPackets.Load() - pk0
	if printStats {
		wall := time.Since(wall0)
		fmt.Fprintf(os.Stderr, "the window (%v): the process used %.2f cores; %s; %s\n",
			wall.Round(time.Second/10), float64(cpu)/float64(wall), describeMachine(mc0, readMachineCPU(), cpu, wall),
			describeSchedLatencies(sl0, readSchedLatencies()))
	}
	stopProfile()
	stopTimeline()
	writeHeapProfile()
	if window0 != nil {
		printWindowCounters(window0, g.windowCounters())
	}
	time.Sleep(flowSettle)
	bw := tb.streamBytesOut() - bw0

	// Deliveries at every receiver (the killed ones' before they died count
	// for bytes and CPU; the fraction and latencies are the survivors').
	total := rec.count(receivers, cfg.msgs)
	var lats []time.Duration
	rec.mu.Lock()
	for _, h := range survivors {
		for _, l := range rec.got[h] {
			lats = append(lats, l)
		}
	}
	if printStats {
		// Where the slow deliveries (over 50 ms) fall, by message index.
		slow := make([]int, (cfg.msgs+19)/20)
		for _, h := range survivors {
			for i, l := range rec.got[h] {
				if l > 50*time.Millisecond && i/20 < len(slow) {
					slow[i/20]++
				}
			}
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "goroutines %d, heap in use %d MiB, stacks %d MiB, GC cycles %d\n",
			runtime.NumGoroutine(), ms.HeapInuse>>20, ms.StackInuse>>20, ms.NumGC)
		fmt.Fprintf(os.Stderr, "deliveries over 50 ms per 20 messages: %v\n", slow)
		if tb.quic && total > 0 {
			fmt.Fprintf(os.Stderr, "UDP datagrams sent per delivery: %.2f\n", float64(packets)/float64(total))
		}
		if total > 0 {
			// Allocation sets how often the collector runs; the live heap
			// (all hosts share one) how long each cycle's marking takes,
			// during which allocating goroutines assist it.
			fmt.Fprintf(os.Stderr, "allocated per delivery (all hosts, measurement window): %.1f KB, %.0f objects; GC cycles in the window %d\n",
				float64(ms.TotalAlloc-ms0.TotalAlloc)/1024/float64(total), float64(ms.Mallocs-ms0.Mallocs)/float64(total), ms.NumGC-ms0.NumGC)
		}
		for m := 0; m < cfg.msgs; m++ {
			var ls []time.Duration
			for _, h := range survivors {
				if l, ok := rec.got[h][m]; ok {
					ls = append(ls, l)
				}
			}
			slices.Sort(ls)
			if len(ls) > 0 && ls[len(ls)-1] > 50*time.Millisecond {
				fmt.Fprintf(os.Stderr, "msg %d: min %v median %v max %v\n", m, ls[0].Round(time.Millisecond/10), ls[len(ls)/2].Round(time.Millisecond/10), ls[len(ls)-1].Round(time.Millisecond/10))
			}
		}
	}
	rec.mu.Unlock()
	res := result{delivered: float64(rec.count(survivors, cfg.msgs)) / float64(expected)}
	res.p50, res.p99, res.max = quantiles(lats)
	if total > 0 {
		res.wirePerDel = float64(wio) / float64(total)
		res.streamPerDel = float64(bw) / float64(total)
		res.cpuPerDel = cpu / time.Duration(total)
	}
	live := append([]int{pub}, survivors...)
	perPeer(&res, tb, live, base, cfg.n)
	if isGrapevine {
		// Failure detection: when every survivor (and the publisher) has
		// declared every victim failed; false positives: live members
		// declared failed after the window began.
		res.detect = -1
		for {
			last, all, fp := g.detection(tb.hosts, killed, live, t0)
			res.falsePos = float64(fp)
			if len(killed) == 0 {
				break
			}
			if all {
				res.detect = last.Sub(killAt)
				if printStats {
					g.printDeclarations(tb.hosts, killed, live, killAt, cfg.msgs/2, cfg.rate)
				}
				break
			}
			if time.Since(killAt) > cfg.detectWait {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return res, nil
}

// runFirst: a new host connects to its neighbours in the formed group,
// starts, and publishes as soon as it knows one group peer.
//
// With meshWait (scenario first-mesh), GossipSub's publisher publishes only
// once its mesh has formed: min(Dlo = 5, its neighbours) peers grafted
// (pubsub's RawTracer), with WithReadiness(MinTopicSize) as well; latency
// counts from the publish after that wait. Grapevine waits as in first
// (WaitJoined).
func runFirst(ctx context.Context, sys system, tb *testbed, nbrs [][]int, rec *recorder, pub int, group []int, size int, rng *rand.Rand, meshWait bool) (result, error) {
	var links []int
	for _, j := range nbrs[pub] {
		if j != pub {
			links = append(links, j)
		}
	}
	if len(links) == 0 {
		links = []int{0}
	}
	nb := make([][]int, len(nbrs))
	nb[pub] = links
	if gs, ok := sys.(*gossipsubSys); ok && meshWait {
		gs.meshWait = min(5, len(links))
	}
	time.Sleep(flowSettle)
	cpu0, io0, bw0 := cpuTime(), tb.wireBytesOut(), tb.streamBytesOut()
	// As a newcomer does: start the protocol, then connect to the group.
	if err := sys.start(ctx, tb.hosts, []int{pub}, nb, rec.deliver); err != nil {
		return result{}, err
	}
	if err := connect(ctx, tb.hosts, nb, []int{pub}); err != nil {
		return result{}, err
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := sys.ready(rctx, []int{pub}, false); err != nil {
		return result{}, fmt.Errorf("publisher not ready: %w", err)
	}
	sent := time.Now()
	if err := sys.publish(ctx, pub, makePayload(size, 0, rng)); err != nil {
		return result{}, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for rec.count(group, 1) < len(group) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cpu, wio := cpuTime()-cpu0, tb.wireBytesOut()-io0
	time.Sleep(flowSettle)
	bw := tb.streamBytesOut() - bw0
	var lats []time.Duration
	within := 0
	rec.mu.Lock()
	for _, h := range group {
		if t, ok := rec.when[h][0]; ok {
			lats = append(lats, rec.got[h][0])
			if t.Sub(sent) <= 100*time.Millisecond {
				within++
			}
		}
	}
	rec.mu.Unlock()
	if printStats {
		sorted := slices.Clone(lats)
		slices.Sort(sorted)
		fmt.Fprintf(os.Stderr, "first message, latency at each receiver (sorted): %v\n", sorted)
	}
	res := result{delivered: float64(len(lats)) / float64(len(group)), within100: float64(within) / float64(len(group))}
	res.p50, res.p99, res.max = quantiles(lats)
	if n := len(lats); n > 0 {
		res.wirePerDel = float64(wio) / float64(n)
		res.streamPerDel = float64(bw) / float64(n)
		res.cpuPerDel = cpu / time.Duration(n)
	}
	return res, nil
}

func quantiles(d []time.Duration) (p50, p99, top time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	q := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.5) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return q(0.50), q(0.99), d[len(d)-1]
}
