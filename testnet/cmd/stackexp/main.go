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
// Frames are not signed here (no Validator, membership unauthenticated), so
// the run measures the protocol, not the CPU of signatures; the driver's
// timers (gap wants after 10 ms, tree-ack resends every 10 ms) are timers
// on the simulator.
//
//	go run ./testnet/cmd/stackexp                  # n = 1,000, 10 % crash
//	go run ./testnet/cmd/stackexp -n 200,1000,2000 -loss 0.01
//
// Runs are deterministic: the same flags give the same table.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	grapevine "github.com/grapevine-p2p/grapevine"
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

const tick = 100 * time.Millisecond

// debug (STACKEXP_DEBUG set) prints, to stderr, the member-list sizes after
// the join phase and each victim's active degree, first suspicion and first
// declaration.
var debug = os.Getenv("STACKEXP_DEBUG") != ""

// Driver timers of the LAN profile (p2p/profile.go gapAskWait, treeAckWait).
const (
	gapAskWait  = 10 * time.Millisecond
	treeAckWait = 10 * time.Millisecond
)

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
	suspMax    float64 // membership.Config.SuspicionMaxTimeoutMult; 0 keeps the profile's
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
	flag.IntVar(&p.eagerMin, "eager-min", 0, "fewest eager Plumtree links per node (0: the profile's)")
	flag.Parse()
	fmt.Println("| n | crash | loss | joined | degree min/med/max | peers contacted / 10 s (med/max) | idle frames/node/s | idle B/node/s | delivered | p50 | p99 | max | bodies/delivery | B/delivery | first declared (med/max) | all hold all victims failed | false failures | heap/node | wall |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range ints(*ns) {
		p.n = n
		start := time.Now()
		r := run(p)
		fmt.Printf("| %d | %.0f %% | %.0f %% | %s | %d/%d/%d | %d/%d | %.1f | %.0f | %.3f %% | %s | %s | %s | %.2f | %.0f | %s / %s | %s | %d | %.0f KiB | %.0f s |\n",
			n, 100*p.crash, 100*p.loss, dur(r.joined), r.degMin, r.degMed, r.degMax, r.contactMed, r.contactMax,
			r.idleFrames, r.idleBytes, 100*r.delivered, ms(r.p50), ms(r.p99), ms(r.max), r.bodies, r.bytes,
			dur(r.firstMed), dur(r.firstMax), dur(r.detected), r.falseFails, r.heapPerNode/1024, time.Since(start).Seconds())
	}
}

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
}

// node is one full stack on the simulator.
type node struct {
	w        *world
	idx      int
	gn       *grapevine.Node
	gapArmed bool
	ackArmed bool
}

// world is the population and what the run records.
type world struct {
	net        *sim.Network
	nodes      []*node
	contacts   []map[int]struct{} // distinct peers each node sent to in the current window
	published  map[core.MsgKey]time.Duration
	msgIndex   map[core.MsgKey]int
	got        [][]bool // [message][node]
	lat        []time.Duration
	falseFails int
	// falseSuspicions: live nodes suspected (events at every observer)
	falseSuspicions int
	crashed         []bool
	firstFail       []time.Duration // when a victim was first declared failed anywhere
	degAtCrash      []int
	// firstSuspect: when a victim was first suspected anywhere
	firstSuspect []time.Duration
}

// sender records the peers a node sends to, then sends.
type sender struct {
	w   *world
	idx int
	ep  *sim.Endpoint
}

func (s *sender) Send(to core.NodeID, frame []byte) {
	if j, ok := sim.Index(to); ok {
		s.w.contacts[s.idx][j] = struct{}{}
	}
	s.ep.Send(to, frame)
}

func (nd *node) Tick() {
	nd.gn.Tick()
	nd.arm()
}

func (nd *node) Receive(from int, frame []byte) {
	_ = nd.gn.Step(sim.ID(from), frame) // malformed frames cannot occur here; errors are the layers' own refusals
	nd.arm()
}

func (nd *node) Deliver(m *core.Message) {
	w := nd.w
	i, ok := w.msgIndex[m.Key()]
	if !ok {
		return
	}
	if w.got[i][nd.idx] {
		panic(fmt.Sprintf("node %d delivered message %d twice", nd.idx, i))
	}
	w.got[i][nd.idx] = true
	w.lat = append(w.lat, w.net.Now()-w.published[m.Key()])
}

// arm schedules the driver's timers, as p2p's driver does: gap wants are
// asked gapAskWait after they appear, and unanswered tree bodies and
// IWANTs are resent every treeAckWait while any await an answer.
func (nd *node) arm() {
	ep := nd.w.net.Endpoint(nd.idx)
	e := nd.gn.Engine()
	if !nd.gapArmed && e.GapsWaiting() {
		nd.gapArmed = true
		ep.After(gapAskWait, func() {
			nd.gapArmed = false
			nd.gn.Engine().AskGaps()
			nd.arm()
		})
	}
	if !nd.ackArmed && e.AwaitingAnswers() {
		nd.ackArmed = true
		ep.After(treeAckWait, func() {
			nd.ackArmed = false
			nd.gn.Engine().ResendUnanswered()
			nd.arm()
		})
	}
}

func newWorld(p params) *world {
	net, err := sim.New(sim.Config{
		Nodes: p.n, Seed: p.seed, TickInterval: tick, Loss: p.loss, TickPhase: sim.RandomPhase,
		Latency: sim.Uniform{Min: p.latMin, Max: p.latMax},
	})
	if err != nil {
		panic(err)
	}
	w := &world{net: net, nodes: make([]*node, p.n), contacts: make([]map[int]struct{}, p.n),
		published: make(map[core.MsgKey]time.Duration), msgIndex: make(map[core.MsgKey]int), crashed: make([]bool, p.n),
		firstFail: make([]time.Duration, p.n), firstSuspect: make([]time.Duration, p.n)}
	for i := range w.nodes {
		w.contacts[i] = make(map[int]struct{})
		nd := &node{w: w, idx: i}
		cfg := grapevine.Config{
			ID: sim.ID(i), Transport: &sender{w: w, idx: i, ep: net.Endpoint(i)}, App: nd, Seed: p.seed,
			Membership: p2p.MembershipProfile(p2p.ProfileLAN),
			Gossip:     p2p.EngineProfile(p2p.ProfileLAN, true),
		}
		cfg.Gossip.FirstSeq = 1
		if p.suspMax > 0 {
			cfg.Membership.SuspicionMaxTimeoutMult = p.suspMax
		}
		if p.eagerMin > 0 {
			cfg.Gossip.EagerMin = p.eagerMin
		}
		oc := p2p.OverlayProfile(0)
		cfg.Overlay = &oc
		cfg.Events = membership.EventFunc(func(e membership.Event) {
			j, ok := sim.Index(e.Member.ID)
			if e.Kind == membership.EventSuspect && ok && !w.crashed[j] {
				w.falseSuspicions++
			}
			if e.Kind == membership.EventSuspect && ok && w.crashed[j] && w.firstSuspect[j] == 0 {
				w.firstSuspect[j] = net.Now()
			}
			if e.Kind != membership.EventFail {
				return
			}
			switch {
			case !ok:
			case !w.crashed[j]:
				w.falseFails++
			case w.firstFail[j] == 0:
				w.firstFail[j] = net.Now()
			}
		})
		if nd.gn, err = grapevine.NewNode(cfg); err != nil {
			panic(err)
		}
		w.nodes[i] = nd
	}
	return w
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
		})
	}
	r.joined = -1
	deadline := 3 * time.Minute
	for net.Now() < deadline {
		net.Run(net.Now() + time.Second)
		if w.converged() {
			r.joined = net.Now()
			break
		}
	}
	if debug {
		sizes := map[int]int{}
		for _, nd := range w.nodes {
			sizes[nd.gn.Membership().Size()]++
		}
		fmt.Fprintln(os.Stderr, "member list sizes after the join phase (size: nodes):", sizes)
		fmt.Fprintln(os.Stderr, "overlay component sizes:", w.components())
	}
	net.Run(net.Now() + p.settle)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	r.heapPerNode = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(p.n)

	// Idle: 10 s of traffic, and the distinct peers each node sent to.
	w.resetContacts()
	before := net.Total()
	net.Run(net.Now() + 10*time.Second)
	after := net.Total()
	r.idleFrames = float64(after.FramesSent-before.FramesSent) / float64(p.n) / 10
	r.idleBytes = float64(after.BytesSent-before.BytesSent) / float64(p.n) / 10
	r.contactMed, r.contactMax = w.contactSpread()
	r.degMin, r.degMed, r.degMax = w.degrees()

	// The stream, with the crash a quarter of the way in.
	w.got = make([][]bool, p.msgs)
	gap := time.Second / time.Duration(p.rate)
	start := net.Now()
	crashAt := start + time.Duration(p.msgs/4)*gap + gap/2
	var victims []int
	net.At(crashAt, func() {
		victims = net.CrashFraction(p.crash)
		for _, v := range victims {
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
		if r.detected < 0 && victims != nil && w.allHoldFailed(victims) {
			r.detected = net.Now() - crashAt
		}
		if r.detected >= 0 && net.Now() >= end+10*time.Second {
			break
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
	if debug {
		fmt.Fprintln(os.Stderr, "suspicion events about live nodes:", w.falseSuspicions)
		var ms membership.Stats
		for _, nd := range w.nodes {
			st := nd.gn.Membership().Stats()
			ms.PingsSent += st.PingsSent
			ms.SuspectProbes += st.SuspectProbes
			ms.SilentProbes += st.SilentProbes
			ms.UpdatesSent += st.UpdatesSent
		}
		fmt.Fprintf(os.Stderr, "membership: pings %d, silent %d, suspect %d, updates sent %d\n", ms.PingsSent, ms.SilentProbes, ms.SuspectProbes, ms.UpdatesSent)
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
	return r
}

// converged reports whether every node lists every node alive.
func (w *world) converged() bool {
	n := len(w.nodes)
	for _, nd := range w.nodes {
		if nd.gn.Membership().Size() != n {
			return false
		}
	}
	for _, nd := range w.nodes {
		for _, m := range nd.gn.Members() {
			if m.State != membership.StateAlive {
				return false
			}
		}
	}
	return true
}

// allHoldFailed reports whether every survivor holds every victim dead (or
// has dropped it from its list).
func (w *world) allHoldFailed(victims []int) bool {
	for i, nd := range w.nodes {
		if w.crashed[i] {
			continue
		}
		ml := nd.gn.Membership()
		for _, v := range victims {
			if m, ok := ml.Member(sim.ID(v)); ok && m.State.Live() {
				return false
			}
		}
	}
	return true
}

func (w *world) resetContacts() {
	for _, c := range w.contacts {
		clear(c)
	}
}

// contactSpread returns the median and largest number of distinct peers a
// live node sent to since resetContacts.
func (w *world) contactSpread() (int, int) {
	var c []int
	for i, m := range w.contacts {
		if w.net.Up(i) {
			c = append(c, len(m))
		}
	}
	slices.Sort(c)
	return c[len(c)/2], c[len(c)-1]
}

// degrees returns the smallest, median and largest active view.
func (w *world) degrees() (int, int, int) {
	var d []int
	for i, nd := range w.nodes {
		if w.net.Up(i) {
			d = append(d, nd.gn.Overlay().ActiveLen())
		}
	}
	slices.Sort(d)
	if debug {
		low := 0
		for i, nd := range w.nodes {
			ov := nd.gn.Overlay()
			if w.net.Up(i) && ov.ActiveLen() < 8 {
				low++
				if low <= 5 {
					st := ov.Stats()
					fmt.Fprintf(os.Stderr, "node %d: active %d passive %d, requests %d accepted-by-it %d rejected-by-it %d timeouts %d, up %d down %d evicted %d failures %d rejected-ids %d\n",
						i, ov.ActiveLen(), ov.PassiveLen(), st.NeighborRequests, st.NeighborAccepted, st.NeighborRejected, st.NeighborTimeouts, st.NeighborUp, st.NeighborDown, st.Evictions, st.Failures, st.Rejected)
				}
			}
		}
		fmt.Fprintln(os.Stderr, "nodes below 8 neighbours:", low)
	}
	return d[0], d[len(d)/2], d[len(d)-1]
}

// components returns the sizes of the live nodes' overlay components.
func (w *world) components() []int {
	seen := make([]bool, len(w.nodes))
	var sizes []int
	var stack []int
	var buf []core.NodeID
	for s := range w.nodes {
		if seen[s] || !w.net.Up(s) {
			continue
		}
		seen[s] = true
		stack = append(stack[:0], s)
		size := 0
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			for _, id := range w.nodes[i].gn.Overlay().Active(buf[:0]) {
				if j, ok := sim.Index(id); ok && !seen[j] && w.net.Up(j) {
					seen[j] = true
					stack = append(stack, j)
				}
			}
		}
		sizes = append(sizes, size)
	}
	return sizes
}

func dur(d time.Duration) string {
	if d < 0 {
		return "not within limit"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad integer:", f)
			os.Exit(2)
		}
		out = append(out, v)
	}
	return out
}
