// Command p2pscale starts n Grapevine peers (package p2p) in one process on
// loopback QUIC, with the bounded overlay on by default, and reports what
// issue 14 asks of a peer at scale: how long until every peer sees every
// member alive, connections and overlay neighbours per peer, goroutines and
// heap per peer, delivery, latency and bytes for a stream of messages from
// five origins, and how long until every survivor knows of a tenth of the
// peers killed (hosts closed). It is a smoke test for one machine, not the
// side-by-side benchmark (that is bench/).
//
//	go run ./testnet/cmd/p2pscale -n 100 -msgs 100
//	go run ./testnet/cmd/p2pscale -n 60 -overlay=false
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/p2p"
)

var (
	peerIDs = regexp.MustCompile(`12D3KooW[1-9A-HJ-NP-Za-km-z]+`)
	ports   = regexp.MustCompile(`/udp/[0-9]+`)
)

func main() {
	n := flag.Int("n", 200, "peers")
	ovl := flag.Bool("overlay", true, "overlay")
	msgs := flag.Int("msgs", 50, "messages")
	quick := flag.Bool("quick", false, "formation only")
	wait := flag.Int("wait", 180, "seconds to wait for convergence")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the 60 s after every peer started (group formation)")
	startProf := flag.String("startprofile", "", "write a CPU profile of the 60 s from the first peer's start (peers joining)")
	stragglers := flag.Bool("stragglers", false, "while some peer sees fewer than every member alive, print what those peers lack and in which state they hold it")
	gap := flag.Duration("gap", 10*time.Millisecond, "pause between two peers' starts")
	contacts := flag.String("contacts", "one", "join through peer 0 (one) or a random peer already started (random)")
	idleProf := flag.String("idleprofile", "", "write a CPU profile of the 15 idle seconds after the group formed")
	eagerMin := flag.Int("eagermin", -1, "Plumtree's EagerMin (core.Config); -1: the profile's")
	lazyFanout := flag.Int("lazyfanout", -1, "Plumtree's PlumLazyFanout (core.Config); -1: the profile's")
	age := flag.Duration("age", 0, "after formation, let the group idle this long, then kill a quarter of the peers and report whether the survivors' overlays refill (long-lived groups; 0: off)")
	tickSkip := flag.Bool("tickskip", false, "the drivers sleep through quiet ticks (p2p.WithTickSkipping; the library's default is off)")
	tickAB := flag.Bool("tickab", false, "after the idle report, 15 s more with tick skipping switched the other way on every peer, then 15 s switched back (Peer.SetTickSkipping): both on one formed group")
	budget := flag.Int("budget", 0, "the overlay's connection budget (p2p.WithOverlayBudget); 0: the default")
	heapProf := flag.String("heapprofile", "", "write a heap profile (live objects) and, beside it (.goroutines), a goroutine profile once the group formed and idled")
	idleAllocProf := flag.String("idleallocprofile", "", "write heap profiles at the start (path.0) and end (path.1) of the 15 idle seconds: go tool pprof -sample_index=alloc_space -base path.0 path.1 shows what the idle group allocated")
	flag.Parse()
	startProfile := func(path string) {
		if path == "" {
			return
		}
		f, err := os.Create(path)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		go func() { time.Sleep(60 * time.Second); pprof.StopCPUProfile(); f.Close() }()
	}
	ctx := context.Background()
	g0 := runtime.NumGoroutine()
	var peers []*p2p.Peer
	var seed string
	start := time.Now()
	startProfile(*startProf)
	for i := 0; i < *n; i++ {
		opts := []p2p.Option{p2p.WithListenAddrs("/ip4/127.0.0.1/udp/0/quic-v1"), p2p.WithDHT(false), p2p.WithProfile(p2p.ProfileLAN), p2p.WithNotice(func(string) {}), p2p.WithOverlay(*ovl), p2p.WithTickSkipping(*tickSkip)}
		if *budget > 0 {
			opts = append(opts, p2p.WithOverlayBudget(*budget))
		}
		if *eagerMin >= 0 || *lazyFanout >= 0 {
			opts = append(opts, p2p.WithEngineConfig(func(c *core.Config) {
				if *eagerMin >= 0 {
					c.EagerMin = *eagerMin
				}
				if *lazyFanout >= 0 {
					c.PlumLazyFanout = *lazyFanout
				}
			}))
		}
		if seed != "" {
			if *contacts == "random" {
				seed = peers[rand.IntN(len(peers))].Addrs()[0].String()
			}
			opts = append(opts, p2p.WithSeeds(seed))
		}
		p, err := p2p.New(ctx, opts...)
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		if seed == "" {
			seed = p.Addrs()[0].String()
		}
		peers = append(peers, p)
		time.Sleep(*gap)
		if len(peers)%25 == 0 {
			fmt.Printf("%5.1fs %d started, CPU %.1f s\n", time.Since(start).Seconds(), len(peers), cpuTime().Seconds())
		}
	}
	fmt.Printf("started %d in %v\n", *n, time.Since(start))
	if *startProf == "" {
		startProfile(*prof)
	}
	for {
		min := *n
		for _, p := range peers {
			a := 0
			for _, m := range p.Members() {
				if m.State == p2p.StateAlive {
					a++
				}
			}
			min = minInt(min, a)
		}
		cmed, cmax := connSpread(peers)
		fmt.Printf("%5.0fs min alive view %d; conns median %d max %d\n", time.Since(start).Seconds(), min, cmed, cmax)
		if *stragglers && min < *n && min >= *n-8 {
			printStragglers(peers)
		}
		if min == *n || time.Since(start) > time.Duration(*wait)*time.Second {
			break
		}
		time.Sleep(5 * time.Second)
	}
	// Idle cost: the process's CPU time over 15 s with no message
	// published, per peer (membership, overlay and repair traffic only).
	if *idleAllocProf != "" {
		// Before the idle CPU is read: writing a profile is not idle work.
		writeProfile(*idleAllocProf+".0", "heap")
	}
	cpu0 := cpuTime()
	idle0 := idleCounters(peers)
	var mem0, mem1 runtime.MemStats
	runtime.ReadMemStats(&mem0)
	udpIn0, udpOut0 := udpDatagrams()
	if *idleProf != "" {
		f, err := os.Create(*idleProf)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		time.Sleep(15 * time.Second)
		pprof.StopCPUProfile()
		f.Close()
	} else {
		time.Sleep(15 * time.Second)
	}
	idle1 := idleCounters(peers)
	cpu1 := cpuTime()
	runtime.ReadMemStats(&mem1)
	udpIn1, udpOut1 := udpDatagrams()
	if udpOut1 > 0 {
		fmt.Printf("idle UDP datagrams per peer per second (the machine's counters): sent %.1f, received %.1f\n",
			float64(udpOut1-udpOut0)/15/float64(len(peers)), float64(udpIn1-udpIn0)/15/float64(len(peers)))
	}
	if *idleAllocProf != "" {
		writeProfile(*idleAllocProf+".1", "heap")
	}
	fmt.Printf("idle collections %d (%.1f s of pauses), allocated %.0f KB/s per peer, heap in use %.0f MB\n", mem1.NumGC-mem0.NumGC,
		float64(mem1.PauseTotalNs-mem0.PauseTotalNs)/1e9, float64(mem1.TotalAlloc-mem0.TotalAlloc)/15/float64(len(peers))/1e3, float64(mem1.HeapAlloc)/1e6)
	fmt.Printf("idle churn per peer per minute:")
	for i, k := range idleCounterNames {
		if i > 0 {
			fmt.Print(",")
		}
		fmt.Printf(" %s %.1f", k, float64(idle1[k]-idle0[k])/float64(len(peers))*4)
	}
	fmt.Println()
	frames0, bytes0, frames1, bytes1 := idle0["frames"], idle0["bytes"], idle1["frames"], idle1["bytes"]
	np := float64(len(peers))
	fmt.Printf("idle per peer: CPU %.2f ms/s, %.1f frames/s, %.0f B/s sent; %.1f ticks/s, %.1f driver wake-ups for them/s\n", float64((cpu1-cpu0).Microseconds())/1e3/15/np,
		float64(frames1-frames0)/15/np, float64(bytes1-bytes0)/15/np,
		float64(idle1["ticks"]-idle0["ticks"])/15/np, float64(idle1["tick wake-ups"]-idle0["tick wake-ups"])/15/np)
	if *tickAB {
		for _, on := range []bool{!*tickSkip, *tickSkip} {
			for _, p := range peers {
				if err := p.SetTickSkipping(context.Background(), on); err != nil {
					log.Fatal(err)
				}
			}
			time.Sleep(2 * time.Second)
			i0 := idleCounters(peers)
			c0 := cpuTime()
			time.Sleep(15 * time.Second)
			c1, i1 := cpuTime(), idleCounters(peers)
			fmt.Printf("idle per peer with tick skipping %v: CPU %.2f ms/s, %.1f frames/s; %.1f ticks/s, %.1f driver wake-ups for them/s; in the group, 15 s: %d probes failed, %d suspicions, %d lag reports\n", on,
				float64((c1-c0).Microseconds())/1e3/15/np, float64(i1["frames"]-i0["frames"])/15/np,
				float64(i1["ticks"]-i0["ticks"])/15/np, float64(i1["tick wake-ups"]-i0["tick wake-ups"])/15/np,
				i1["probes failed"]-i0["probes failed"], i1["suspicions"]-i0["suspicions"], i1["lag reports"]-i0["lag reports"])
		}
	}
	report := func() {
		var conns, nb []int
		for _, p := range peers {
			conns = append(conns, len(p.Host().Network().Peers()))
			nb = append(nb, len(p.Neighbors()))
		}
		slices.Sort(conns)
		slices.Sort(nb)
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		fmt.Printf("conns median %d max %d; neighbours min %d median %d max %d; goroutines/peer %.1f heap/peer %.1f MB\n", conns[len(conns)/2], conns[len(conns)-1], nb[0], nb[len(nb)/2], nb[len(nb)-1],
			float64(runtime.NumGoroutine()-g0)/float64(len(peers)), float64(ms.HeapAlloc)/float64(len(peers))/1e6)
	}
	report()
	if *age > 0 {
		ageAndKill(peers, *age, report)
		return
	}
	if *heapProf != "" {
		writeProfile(*heapProf, "heap")
		writeProfile(*heapProf+".goroutines", "goroutine")
	}
	var os2 p2p.OverlayStats
	var qd, tr uint64
	for _, p := range peers {
		s := p.Stats()
		o := s.Overlay
		qd += s.QueueDropped
		tr += s.ConnsTrimmed
		addCounters(&os2, &o)
	}
	var opened, dFull, dFailed uint64
	ns := noStream(peers)
	var ms p2p.MembershipStats
	var lag p2p.LagStats
	var inDropped uint64
	for _, p := range peers {
		s := p.Stats()
		opened += s.ConnsOpened
		dFull += s.QueueDroppedBy.Full
		dFailed += s.QueueDroppedBy.Failed
		inDropped += s.InDropped
		lag.CtrlWaitOver100ms += s.Lag.CtrlWaitOver100ms
		lag.CtrlWaitOver1s += s.Lag.CtrlWaitOver1s
		lag.CtrlWaitMax = max(lag.CtrlWaitMax, s.Lag.CtrlWaitMax)
		lag.TicksLate += s.Lag.TicksLate
		lag.Overloaded += s.Lag.Overloaded
		m := s.Membership
		ms.Suspicions += m.Suspicions
		ms.Unreachable += m.Unreachable
		ms.Refutations += m.Refutations
		ms.Declared += m.Declared
		ms.ProbesFailed += m.ProbesFailed
		ms.PushPullsSent += m.PushPullsSent
		ms.StateBytesSent += m.StateBytesSent
		ms.UpdatesDropped += m.UpdatesDropped
		ms.DuplicateAccusations += m.DuplicateAccusations
		ms.ProbesInconclusive += m.ProbesInconclusive
		ms.VerdictsHeld += m.VerdictsHeld
		ms.JoinSyncs += m.JoinSyncs
		ms.DigestsSent += m.DigestsSent
		ms.WantsUnsolicited += m.WantsUnsolicited
		ms.StateAnswersLimited += m.StateAnswersLimited
		ms.ViewSyncs += m.ViewSyncs
		ms.ViewSyncsLimited += m.ViewSyncsLimited
	}
	pen := map[string]uint64{}
	npen := 0
	for _, p := range peers {
		for k, v := range p.Penalties() {
			pen[k] += v
		}
		for _, q := range peers {
			if p.Penalized(q.Host().ID()) {
				npen++
			}
		}
	}
	fmt.Printf("driver lag (sum): membership frames waiting > 100 ms %d, > 1 s %d, longest %v; ticks missed %d; overload reports %d; inbound frames dropped at a full inbox %d\n",
		lag.CtrlWaitOver100ms, lag.CtrlWaitOver1s, lag.CtrlWaitMax.Round(time.Millisecond), lag.TicksLate, lag.Overloaded, inDropped)
	fmt.Printf("offences counted (sum): %v; (peer, member) pairs penalized now: %d\n", pen, npen)
	fmt.Printf("queue drops by reason: full %d, no stream %d, stream failed %d\n", dFull, ns.n, dFailed)
	for e, n := range ns.errs {
		fmt.Printf("  last no-stream error at %d peers: %.200s\n", n, e)
	}
	fmt.Printf("membership (sum): suspicions %d (unreachable %d), refutations %d, declared dead %d, probes failed %d, push-pulls %d (%d B), updates dropped %d, duplicate accusations %d, probes inconclusive %d, verdicts held %d, join follow-ups %d; digests %d, wants dropped %d, state answers limited %d; push-pulls started by view sums %d (limited %d)\n",
		ms.Suspicions, ms.Unreachable, ms.Refutations, ms.Declared, ms.ProbesFailed, ms.PushPullsSent, ms.StateBytesSent, ms.UpdatesDropped, ms.DuplicateAccusations, ms.ProbesInconclusive, ms.VerdictsHeld, ms.JoinSyncs,
		ms.DigestsSent, ms.WantsUnsolicited, ms.StateAnswersLimited, ms.ViewSyncs, ms.ViewSyncsLimited)
	fmt.Printf("overlay: %+v\nqueue drops %d trimmed %d; connections opened per peer %.1f (both ends count)\n", os2, qd, tr, float64(opened)/float64(len(peers)))
	if *quick {
		os.Exit(0)
	}
	var got atomic.Int64
	var mu sync.Mutex
	var lats []time.Duration
	for _, p := range peers {
		s, _ := p.Subscribe("t")
		go func() {
			for m := range s.Messages() {
				got.Add(1)
				mu.Lock()
				lats = append(lats, m.Latency)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < *msgs; i++ {
		peers[((i%5)*7)%len(peers)].Publish(ctx, "t", []byte(fmt.Sprint(i)))
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(5 * time.Second)
	mu.Lock()
	slices.Sort(lats)
	fmt.Printf("delivered %d of %d; p50 %v p99 %v max %v\n", got.Load(), *msgs*len(peers), lats[len(lats)/2], lats[len(lats)*99/100], lats[len(lats)-1])
	mu.Unlock()
	var st p2p.Stats
	for _, p := range peers {
		s := p.Stats()
		st.Engine.MessagesSent += s.Engine.MessagesSent
		st.Engine.Duplicates += s.Engine.Duplicates
		st.Engine.PullAnswered += s.Engine.PullAnswered
		st.Engine.IWantAnswered += s.Engine.IWantAnswered
		st.Engine.IWantsSent += s.Engine.IWantsSent
		st.Engine.IHavesSent += s.Engine.IHavesSent
		st.BytesSent += s.BytesSent
		st.QueueDropped += s.QueueDropped
		st.ConnsTrimmed += s.ConnsTrimmed
	}
	fmt.Printf("bodies sent %d (%.2f per delivery), duplicates %d, bytes/delivery %.0f, queue drops %d, trimmed %d\n", st.Engine.MessagesSent, float64(st.Engine.MessagesSent)/float64(got.Load()), st.Engine.Duplicates, float64(st.BytesSent)/float64(got.Load()), st.QueueDropped, st.ConnsTrimmed)
	fmt.Printf("bodies by cause: pull answers %d, IWANT answers %d, pushed %d; keys announced %d, requested %d\n", st.Engine.PullAnswered, st.Engine.IWantAnswered,
		st.Engine.MessagesSent-st.Engine.PullAnswered-st.Engine.IWantAnswered, st.Engine.IHavesSent, st.Engine.IWantsSent)
	report()
	// silent-ish crash: kill 10 %
	for _, p := range peers[len(peers)-len(peers)/10:] {
		p.Kill()
	}
	kt := time.Now()
	surv := peers[:len(peers)-len(peers)/10]
	msum := func() p2p.MembershipStats {
		var t p2p.MembershipStats
		for _, p := range surv {
			s := p.Stats().Membership
			t.ProbesFailed += s.ProbesFailed
			t.Suspicions += s.Suspicions
			t.Unreachable += s.Unreachable
			t.Confirmations += s.Confirmations
			t.Declared += s.Declared
			t.DeadHeldAsSuspicion += s.DeadHeldAsSuspicion
			t.SuspectProbes += s.SuspectProbes
			t.ProbesInconclusive += s.ProbesInconclusive
			t.VerdictsHeld += s.VerdictsHeld
		}
		return t
	}
	m0 := msum()
	// Per victim: when the first survivor and when the last saw it
	// neither alive nor suspect.
	victims := map[string]bool{}
	for _, p := range peers[len(surv):] {
		victims[string(p.ID())] = true
	}
	firstDead := map[string]time.Duration{}
	knownBy := map[string]int{}
	for {
		ok := true
		clear(knownBy)
		for _, p := range surv {
			a := 0
			for _, m := range p.Members() {
				if m.State == p2p.StateAlive || m.State == p2p.StateSuspect {
					a++
				} else if victims[string(m.ID)] {
					knownBy[string(m.ID)]++
					if _, seen := firstDead[string(m.ID)]; !seen {
						firstDead[string(m.ID)] = time.Since(kt)
					}
				}
			}
			if a != len(surv) {
				ok = false
			}
		}
		if ok || time.Since(kt) > time.Minute {
			fmt.Printf("all survivors know after %v (ok=%v)\n", time.Since(kt), ok)
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	var firsts []time.Duration
	for _, d := range firstDead {
		firsts = append(firsts, d)
	}
	slices.Sort(firsts)
	if len(firsts) > 0 {
		fmt.Printf("first survivor to declare a victim failed: min %v median %v max %v (%d of %d victims)\n", firsts[0], firsts[len(firsts)/2], firsts[len(firsts)-1], len(firsts), len(victims))
	}
	m1 := msum()
	fmt.Printf("membership during the kill (survivors, sum): probes failed %d, suspicions %d (unreachable %d), confirmations %d, declared %d, dead held as suspicion %d, suspect probes %d, inconclusive %d, verdicts held %d\n",
		m1.ProbesFailed-m0.ProbesFailed, m1.Suspicions-m0.Suspicions, m1.Unreachable-m0.Unreachable, m1.Confirmations-m0.Confirmations, m1.Declared-m0.Declared,
		m1.DeadHeldAsSuspicion-m0.DeadHeldAsSuspicion, m1.SuspectProbes-m0.SuspectProbes, m1.ProbesInconclusive-m0.ProbesInconclusive, m1.VerdictsHeld-m0.VerdictsHeld)
	report()
}

// idleCounterNames are the churn counters idleCounters sums, in the order
// printed ("frames" and "bytes" are the idle traffic, printed apart).
var idleCounterNames = []string{"connections opened (both ends count)", "neighbour requests", "rejected", "neighbours up", "neighbours down",
	"evictions", "keepalive failures", "shuffles", "join offers", "trimmed", "push-pulls", "of which view-sum exchanges"}

// idleCounters sums, over peers, the counters of an idle group's traffic
// and churn.
func idleCounters(peers []*p2p.Peer) map[string]uint64 {
	c := map[string]uint64{}
	for _, p := range peers {
		s := p.Stats()
		c["frames"] += s.FramesSent
		c["bytes"] += s.BytesSent
		c["connections opened (both ends count)"] += s.ConnsOpened
		c["neighbour requests"] += s.Overlay.NeighborRequests
		c["rejected"] += s.Overlay.NeighborRejected
		c["neighbours up"] += s.Overlay.NeighborUp
		c["neighbours down"] += s.Overlay.NeighborDown
		c["evictions"] += s.Overlay.Evictions
		c["keepalive failures"] += s.Overlay.KeepaliveFailures
		c["shuffles"] += s.Overlay.ShufflesSent
		c["join offers"] += s.Overlay.JoinOffers
		c["trimmed"] += s.ConnsTrimmed
		c["push-pulls"] += s.Membership.PushPullsSent
		c["of which view-sum exchanges"] += s.Membership.ViewSyncs
		c["suspicions"] += s.Membership.Suspicions
		c["probes failed"] += s.Membership.ProbesFailed
		c["lag reports"] += s.Lag.Overloaded
		c["ticks"] += s.Ticks.Run
		c["tick wake-ups"] += s.Ticks.Woken
	}
	return c
}

// writeProfile writes the runtime profile named prof (heap, goroutine) to
// path.
func writeProfile(path, prof string) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.Lookup(prof).WriteTo(f, 0); err != nil {
		log.Fatal(err)
	}
	f.Close()
}

// udpDatagrams reads the machine's UDP datagram counters (Linux's
// /proc/net/snmp; zeros elsewhere): every QUIC packet of the group, acks
// and keepalives included, while nothing else on the machine talks UDP.
func udpDatagrams() (in, out uint64) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, 0
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i := 1; i < len(f) && i < len(names); i++ {
			v, _ := strconv.ParseUint(f[i], 10, 64)
			switch names[i] {
			case "InDatagrams":
				in = v
			case "OutDatagrams":
				out = v
			}
		}
		break
	}
	return in, out
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// addCounters adds every uint64 counter of *src to *dst (structs of
// counters, such as p2p.OverlayStats).
func addCounters[T any](dst, src *T) {
	d, v := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for i := 0; i < d.NumField(); i++ {
		if f := d.Field(i); f.Kind() == reflect.Uint64 && f.CanSet() {
			f.SetUint(f.Uint() + v.Field(i).Uint())
		}
	}
}

// printStragglers lists, for every peer that does not see every member
// alive, the members it lacks: not known at all, or known in another state
// (with the incarnation it holds against the member's own).
func printStragglers(peers []*p2p.Peer) {
	own := map[string]uint64{}
	for _, p := range peers {
		for _, m := range p.Members() {
			if m.Self {
				own[m.ID.String()] = m.Incarnation
			}
		}
	}
	for i, p := range peers {
		held := map[string]p2p.Member{}
		for _, m := range p.Members() {
			held[m.ID.String()] = m
		}
		for id, inc := range own {
			m, ok := held[id]
			switch {
			case !ok:
				fmt.Printf("    peer %d does not know %s (incarnation %d)\n", i, id[len(id)-6:], inc)
			case m.State != p2p.StateAlive:
				fmt.Printf("    peer %d holds %s %s at incarnation %d (its own: %d)\n", i, id[len(id)-6:], m.State, m.Incarnation, inc)
			}
		}
	}
}

// connSpread returns the median and the largest number of peers a peer holds
// a connection to.
func connSpread(peers []*p2p.Peer) (median, largest int) {
	conns := make([]int, 0, len(peers))
	for _, p := range peers {
		conns = append(conns, len(p.Host().Network().Peers()))
	}
	slices.Sort(conns)
	return conns[len(conns)/2], conns[len(conns)-1]
}
