package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/membership/overlay"
	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// result is one run's figures.
type result struct {
	joined, detected       time.Duration // -1: not within the limit
	degMin, degMed, degMax int
	contactMed, contactMax int
	idleFrames, idleBytes  float64
	delivered              float64 // of the deliveries owed to survivors
	p50, p99, max          time.Duration
	bodies, bytes          float64 // per delivery, during the stream
	falseFails             int
	firstMed, firstMax     time.Duration // victims' first declaration anywhere, after the crash
	heapPerNode            float64
	listMed, listMax       int              // live members other than itself in a node's list, after the idle window
	victimHolders          int              // survivors holding a victim alive at the crash (summed over victims)
	memberStats            membership.Stats // sampled-list counters summed over the nodes, at the end
	formation              overlay.Stats    // some overlay counters summed over the nodes when the group had joined (those printed)
	// Plumtree's eager links among live nodes at the end of the run
	// (world.eagerShape).
	in0, in1, outAtMin, outMean, oneWay float64
	// -auth: signature checks by kind, per node per second in the idle
	// window, and per survivor per victim from the crash until every
	// survivor held every victim failed (or the end of the run).
	sigIdle, sigCrash sigRates
	due               dueStats // -nextdue
}

func run(p params) result {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	w := newWorld(p)
	net := w.net
	var r result
	// Join: node 0 first, then joinRate nodes a tick, each through a
	// random node already started.
	net.SetHandler(0, w.nodes[0])
	for i := 1; i < p.n; i++ {
		at := time.Duration(1+(i-1)/p.joinRate)*tick + tick/2
		net.At(at, func() {
			net.SetHandler(i, w.nodes[i])
			w.nodes[i].gn.Join([]core.NodeID{sim.ID(net.Rand().IntN(i))})
			w.nodes[i].arm()
		})
	}
	r.joined = -1
	deadline := p.joinLimit
	if deadline <= 0 {
		deadline = 3 * time.Minute
	}
	for net.Now() < deadline {
		net.Run(net.Now() + time.Second)
		if p.progress && net.Now()%(10*time.Second) == 0 {
			progress(net.Now(), "joining")
		}
		if w.converged(p.sample) {
			r.joined = net.Now()
			break
		}
	}
	for _, nd := range w.nodes {
		st, f := nd.gn.Overlay().Stats(), &r.formation
		f.NeighborUp += st.NeighborUp
		f.NeighborDown += st.NeighborDown
		f.Evictions += st.Evictions
		f.NeighborRequests += st.NeighborRequests
		f.NeighborRejected += st.NeighborRejected
		f.NeighborTimeouts += st.NeighborTimeouts
		f.JoinOffers += st.JoinOffers
	}
	if debug {
		sizes := map[int]int{}
		for _, nd := range w.nodes {
			sizes[nd.gn.Membership().Size()]++
		}
		fmt.Fprintln(os.Stderr, "member list sizes after the join phase (size: nodes):", sizes)
		fmt.Fprintln(os.Stderr, "overlay component sizes:", w.components())
	}
	if p.progress {
		progress(net.Now(), "joined; settling")
	}
	net.Run(net.Now() + p.settle)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	r.heapPerNode = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(p.n)
	if p.memProfile != "" {
		writeHeapProfile(p.memProfile)
	}

	// Idle: 10 s of traffic, and the distinct peers each node sent to.
	w.resetContacts()
	before := net.Total()
	sigs0 := w.sigSum(nil)
	ms0 := w.membershipStats()
	net.Run(net.Now() + 10*time.Second)
	after := net.Total()
	if debug {
		ms1 := w.membershipStats()
		fmt.Fprintf(os.Stderr, "idle 10 s, all nodes: refutations %d, answers %d, updates sent %d, state bytes sent %d, frames sent %d, bytes sent %d\n",
			ms1.Refutations-ms0.Refutations, ms1.AnswersSent-ms0.AnswersSent, ms1.UpdatesSent-ms0.UpdatesSent, ms1.StateBytesSent-ms0.StateBytesSent, ms1.FramesSent-ms0.FramesSent, ms1.BytesSent-ms0.BytesSent)
	}
	r.sigIdle = w.sigSum(nil).minus(sigs0).per(float64(p.n) * 10)
	r.idleFrames = float64(after.FramesSent-before.FramesSent) / float64(p.n) / 10
	r.idleBytes = float64(after.BytesSent-before.BytesSent) / float64(p.n) / 10
	r.contactMed, r.contactMax = w.contactSpread()
	r.degMin, r.degMed, r.degMax = w.degrees()
	var lists []int
	for _, nd := range w.nodes {
		lists = append(lists, nd.gn.Membership().NumLive())
	}
	slices.Sort(lists)
	r.listMed, r.listMax = lists[len(lists)/2], lists[len(lists)-1]

	// The stream, with the crash a quarter of the way in.
	w.got = make([][]bool, p.msgs)
	gap := time.Second / time.Duration(p.rate)
	start := net.Now()
	crashAt := start + time.Duration(p.msgs/4)*gap + gap/2
	var victims []int
	var sigsAtCrash sigCounts
	// What the wave of deaths costs (STACKEXP_DEBUG): membership's
	// counters and the links that came up, from the crash until every
	// survivor holds every victim failed, per survivor.
	var msAtCrash membership.Stats
	var upAtCrash uint64
	linksUp := func() (n uint64) {
		for _, nd := range w.nodes {
			n += nd.gn.Overlay().Stats().NeighborUp
		}
		return n
	}
	printWave := func() {
		if !debug {
			return
		}
		ms, s := w.membershipStats(), float64(p.n-len(victims))
		fmt.Fprintf(os.Stderr, "from the crash to detection, per survivor: membership frames %.1f, bytes %.0f, update sends %.1f, of them verdict batches %.1f; own batches signed %.2f, verdicts signed %.1f, batches applied unchecked %.1f, accusations that changed nothing %.1f; overlay links up %.2f\n",
			float64(ms.FramesSent-msAtCrash.FramesSent)/s, float64(ms.BytesSent-msAtCrash.BytesSent)/s,
			float64(ms.UpdatesSent-msAtCrash.UpdatesSent)/s, float64(ms.UpdatesSentVerdicts-msAtCrash.UpdatesSentVerdicts)/s,
			float64(ms.VerdictBatches-msAtCrash.VerdictBatches)/s, float64(ms.VerdictsSigned-msAtCrash.VerdictsSigned)/s,
			float64(ms.VerdictsDirect-msAtCrash.VerdictsDirect)/s, float64(ms.DuplicateAccusations-msAtCrash.DuplicateAccusations)/s,
			float64(linksUp()-upAtCrash)/s)
	}
	crashChecks := func() sigRates {
		return w.sigSum(w.crashed).minus(sigsAtCrash).per(float64((p.n - len(victims)) * len(victims)))
	}
	net.At(crashAt, func() {
		victims = net.CrashFraction(p.crash)
		defer func() { sigsAtCrash = w.sigSum(w.crashed) }()
		if debug {
			msAtCrash, upAtCrash = w.membershipStats(), linksUp()
		}
		for _, v := range victims {
			for i, nd := range w.nodes {
				if m, ok := nd.gn.Membership().Member(sim.ID(v)); ok && m.State.Live() && net.Up(i) {
					r.victimHolders++
				}
			}
			w.crashed[v] = true
			w.degAtCrash = append(w.degAtCrash, w.nodes[v].gn.Overlay().ActiveLen())
		}
	})
	payload := make([]byte, p.size)
	rng := net.Rand()
	beforeStream := net.Total()
	var bodies0 uint64
	for _, nd := range w.nodes {
		bodies0 += nd.gn.Engine().Stats().Received
	}
	for k := 0; k < p.msgs; k++ {
		net.At(start+time.Duration(k)*gap, func() {
			var o int
			for {
				o = rng.IntN(p.n)
				if net.Up(o) {
					break
				}
			}
			m, err := w.nodes[o].gn.Publish("t", payload)
			if err != nil {
				panic(err)
			}
			w.published[m.Key()] = net.Now()
			w.msgIndex[m.Key()] = k
			w.got[k] = make([]bool, p.n)
			w.got[k][o] = true
			w.nodes[o].arm()
		})
	}
	r.detected = -1
	end := start + time.Duration(p.msgs)*gap
	for net.Now() < crashAt+p.limit || net.Now() < end+10*time.Second {
		net.Run(net.Now() + tick)
		if p.progress && net.Now()%(10*time.Second) == 0 {
			progress(net.Now(), "stream and detection")
		}
		if r.detected < 0 && victims != nil && w.allHoldFailed(victims) {
			r.detected = net.Now() - crashAt
			r.sigCrash = crashChecks()
			printWave()
		}
		if r.detected >= 0 && net.Now() >= end+10*time.Second {
			break
		}
	}
	if debug {
		ms := w.membershipStats()
		fmt.Fprintf(os.Stderr, "membership, whole run, all nodes: bad signatures %d, bumps unverifiable %d, chain links checked %d, refutations %d, suspicions %d, answered %d (accepted %d, stale %d, fell back %d), declared %d, updates sent %d (verdict batches %d), frames sent %d, bytes sent %d\n",
			ms.BadSignatures, ms.BumpsUnverifiable, ms.ChainLinksChecked, ms.Refutations, ms.Suspicions, ms.AnswersSent, ms.AnswersAccepted, ms.AnswersStale, ms.AnswersFellBack, ms.Declared, ms.UpdatesSent, ms.UpdatesSentVerdicts, ms.FramesSent, ms.BytesSent)
	}
	if r.detected < 0 && len(victims) > 0 {
		r.sigCrash = crashChecks()
		if debug {
			w.reportUndetected(victims)
		}
	}
	afterStream := net.Total()
	var bodies1 uint64
	owed, done := 0, 0
	for i, nd := range w.nodes {
		bodies1 += nd.gn.Engine().Stats().Received
		if w.crashed[i] {
			continue
		}
		for k := range w.got {
			owed++
			if w.got[k][i] {
				done++
			} else if debug {
				o, has := -1, false
				for key, idx := range w.msgIndex {
					if idx == k {
						o, _ = sim.Index(key.Origin)
						has = nd.gn.Has(key)
						fmt.Fprintf(os.Stderr, "seq %d published at %v; ", key.Seq, w.published[key])
					}
				}
				st := nd.gn.Engine().Stats()
				fmt.Fprintf(os.Stderr, "has: %v; fifo lost %d late %d started-first %d; ", has, st.FIFOLost, st.FIFOLate, st.FIFOStartedFirst)
				ml := nd.gn.Membership()
				_, knows := ml.Member(sim.ID(o))
				fmt.Fprintf(os.Stderr, "node %d (members %d, degree %d) missed message %d of origin %d (known: %v)\n", i, ml.Size(), nd.gn.Overlay().ActiveLen(), k, o, knows)
			}
		}
	}
	deliveries := float64(len(w.lat))
	r.delivered = float64(done) / float64(max(owed, 1))
	r.bodies = float64(bodies1-bodies0) / deliveries
	r.bytes = float64(afterStream.BytesSent-beforeStream.BytesSent) / deliveries
	slices.Sort(w.lat)
	if len(w.lat) > 0 {
		r.p50, r.p99, r.max = w.lat[len(w.lat)/2], w.lat[len(w.lat)*99/100], w.lat[len(w.lat)-1]
	}
	r.falseFails = w.falseFails
	for _, nd := range w.nodes {
		st := nd.gn.Membership().Stats()
		r.memberStats.SampleSkipped += st.SampleSkipped
		r.memberStats.SampleEvicted += st.SampleEvicted
		r.memberStats.SampleGhosts += st.SampleGhosts
		r.memberStats.SampleGhostsStale += st.SampleGhostsStale
	}
	eagerMin := p.eagerMin
	if eagerMin == 0 {
		eagerMin = p2p.EngineProfile(p2p.ProfileLAN, true).EagerMin
	}
	r.in0, r.in1, r.outAtMin, r.outMean, r.oneWay = w.eagerShape(eagerMin)
	if debug {
		fmt.Fprintln(os.Stderr, "suspicion events about live nodes:", w.falseSuspicions)
		ms := w.membershipStats()
		fmt.Fprintf(os.Stderr, "membership: pings %d, silent %d, suspect %d, updates sent %d, ping-reqs %d, probes answered by frames %d, suspicions raised %d\n",
			ms.PingsSent, ms.SilentProbes, ms.SuspectProbes, ms.UpdatesSent, ms.PingReqsSent, ms.ProbesHeard, ms.Suspicions)
	}
	var first []time.Duration
	for k, v := range victims {
		if debug {
			fmt.Fprintf(os.Stderr, "victim %d degree %d first suspected %v declared %v\n", v, w.degAtCrash[k], w.firstSuspect[v]-crashAt, w.firstFail[v]-crashAt)
		}
		if w.firstFail[v] > 0 {
			first = append(first, w.firstFail[v]-crashAt)
		}
	}
	if len(first) == len(victims) && len(first) > 0 {
		slices.Sort(first)
		r.firstMed, r.firstMax = first[len(first)/2], first[len(first)-1]
	} else {
		r.firstMed, r.firstMax = -1, -1
	}
	r.due = w.due
	return r
}

// writeHeapProfile writes the heap profile to path (after a GC).
func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memprofile:", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "memprofile:", err)
	}
}

// progress prints the simulated time and the heap to stderr (-progress).
func progress(now time.Duration, phase string) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "%s: %v simulated, heap %d MiB\n", phase, now, ms.HeapAlloc>>20)
}
