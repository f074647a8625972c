package main

import (
	"fmt"
	"os"
	"slices"
	"time"

	grapevine "github.com/grapevine-p2p/grapevine"
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// node is one full stack on the simulator.
type node struct {
	w      *world
	idx    int
	gn     *grapevine.Node
	timers sim.EngineTimers
	sigs   sigCounts // signature checks by kind (-auth)
	due    dueCheck  // grapevine.Node.NextDue's answers checked (next_due.go)
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
	due          dueStats // NextDue checked (-nextdue; next_due.go)
}

// sender records the peers a node sends to, then sends.
type sender struct {
	w   *world
	idx int
	ep  *sim.Endpoint
}

func (s *sender) Send(to core.NodeID, frame []byte) {
	s.w.nodes[s.idx].due.output("frame")
	if j, ok := sim.Index(to); ok {
		s.w.contacts[s.idx][j] = struct{}{}
	}
	s.ep.Send(to, frame)
}

func (nd *node) Tick() {
	nd.due.tick(nd)
	nd.arm()
}

func (nd *node) Receive(from int, frame []byte) {
	_ = nd.gn.Step(sim.ID(from), frame) // malformed frames cannot occur here; errors are the layers' own refusals
	nd.arm()
}

func (nd *node) Deliver(m *core.Message) {
	w := nd.w
	nd.due.output("delivery")
	i, ok := w.msgIndex[m.Key()]
	if !ok {
		return
	}
	if w.got[i][nd.idx] {
		panic(fmt.Sprintf("node %d delivered message %d twice", nd.idx, i))
	}
	w.got[i][nd.idx] = true
	d := w.net.Now() - w.published[m.Key()]
	w.lat = append(w.lat, d)
	if debug && d > 500*time.Millisecond {
		o, _ := sim.Index(m.Origin)
		st := nd.gn.Engine().Stats()
		fmt.Fprintf(os.Stderr, "slow delivery: %v, message %d (origin %d, up %v) at node %d (degree %d, members %d); node's IWANTs sent %d, digests %d, fifo late %d\n",
			d, i, o, w.net.Up(o), nd.idx, nd.gn.Overlay().ActiveLen(), nd.gn.Membership().Size(), st.IWantsSent, st.DigestsSent, st.FIFOLate)
	}
}

// arm schedules the driver's timers, as p2p's driver does, after any
// input, and notes when the node next acts (next_due.go).
func (nd *node) arm() {
	nd.timers.Arm(nd.w.net.Endpoint(nd.idx), nd.gn.Engine())
	nd.due.note(nd)
}

func newWorld(p params) *world {
	// STACKEXP_TRACE prints each suspicion and failure of a live node as
	// an observer learns it (time, subject, observer, sender).
	trace := os.Getenv("STACKEXP_TRACE") != ""
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
		nd.due.on = p.nextDue
		nd.timers.GapAskWait, nd.timers.TreeAckWait = p2p.DriverWaits(p2p.ProfileLAN)
		nd.timers.Fired = func() { nd.due.note(nd) }
		cfg := grapevine.Config{
			ID: sim.ID(i), Transport: &sender{w: w, idx: i, ep: net.Endpoint(i)}, App: nd, Seed: p.seed,
			Membership: p2p.MembershipProfile(p2p.ProfileLAN),
			Gossip:     p2p.EngineProfile(p2p.ProfileLAN, true),
		}
		cfg.Gossip.FirstSeq = 1
		cfg.Membership.MemberSample = p.sample
		if p.auth {
			authenticate(&cfg.Membership, cfg.ID, &nd.sigs)
		}
		if p.reliable != nil {
			cfg.Membership.ReliableLinks = *p.reliable
		}
		if p.heard != nil {
			cfg.Membership.HeardAnswersProbe = *p.heard
		}
		if p.local != nil {
			cfg.Membership.LocalAccusations = *p.local
		}
		if p.chains != nil {
			cfg.Membership.AliveChains = *p.chains
		}
		if p.batch != nil {
			cfg.Membership.BatchVerdicts = *p.batch
		}
		if p.ask != nil {
			cfg.Membership.AskVerdicts = *p.ask
		}
		if p.answer != nil {
			cfg.Membership.AnswerAccusers = *p.answer
		}
		if p.direct != nil {
			cfg.Membership.DirectVerdicts = *p.direct
		}
		if p.suspMax > 0 {
			cfg.Membership.SuspicionMaxTimeoutMult = p.suspMax
		}
		if p.gossipInt > 0 {
			cfg.Membership.GossipInterval = p.gossipInt
		}
		if p.eagerMin > 0 {
			cfg.Gossip.EagerMin = p.eagerMin
		}
		cfg.Gossip.PlumRepair = p.plumRepair
		if p.iwantCalls != nil {
			cfg.Gossip.IWantDelayCalls = *p.iwantCalls
		}
		if p.afterLoss != nil {
			cfg.Gossip.PlumRoundsAfterLoss = *p.afterLoss
		}
		if p.plumLazy != nil {
			cfg.Gossip.PlumLazyFanout = *p.plumLazy
		}
		if p.announce != nil {
			cfg.Gossip.PlumAnnounceDelayCalls = *p.announce
		}
		cfg.Gossip.EagerMinPlusShare = p.eagerPlus
		oc := p2p.OverlayProfile(0)
		cfg.Overlay = &oc
		cfg.Events = membership.EventFunc(func(e membership.Event) {
			nd.due.output("event")
			j, ok := sim.Index(e.Member.ID)
			if e.Kind == membership.EventSuspect && ok && !w.crashed[j] {
				w.falseSuspicions++
				if trace {
					fi, _ := sim.Index(e.From)
					fmt.Fprintf(os.Stderr, "TRACE %v suspect %d at %d from %d inc %d\n", net.Now(), j, nd.idx, fi, e.Member.Incarnation)
				}
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
				if trace {
					fi, _ := sim.Index(e.From)
					fmt.Fprintf(os.Stderr, "TRACE %v false fail of %d at %d from %d inc %d\n", net.Now(), j, nd.idx, fi, e.Member.Incarnation)
				}
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

// converged reports whether every node lists every node alive, or with
// sampled member lists (sample > 0) whether the overlay is one component
// and all but a thousandth of the nodes hold each of their neighbours
// alive: the overlay's links change all the time (shuffles, replacements),
// and a link made in the last few milliseconds is not known yet at both
// ends, so at 100,000 nodes a few always lack one (at 5,000, 0 to 4 nodes
// at any instant in the seconds before all held all).
func (w *world) converged(sample int) bool {
	if sample > 0 {
		lacking, states := w.unknownNeighbors()
		comps := len(w.components())
		if debug {
			fmt.Fprintf(os.Stderr, "%v: nodes lacking a neighbour %d %v; overlay components %d\n", w.net.Now(), lacking, states, comps)
		}
		return lacking <= len(w.nodes)/1000 && comps == 1
	}
	n := len(w.nodes)
	if debug && w.net.Now()%(10*time.Second) == 0 {
		short, missing, suspect := 0, 0, 0
		for _, nd := range w.nodes {
			if d := n - nd.gn.Membership().Size(); d > 0 {
				short++
				missing += d
			}
			for _, m := range nd.gn.Members() {
				if m.State != membership.StateAlive {
					suspect++
				}
			}
		}
		fmt.Fprintf(os.Stderr, "%v: nodes short of the group %d (members missing %d), entries not alive %d\n", w.net.Now(), short, missing, suspect)
		if short > 0 && short <= 3 {
			for i, nd := range w.nodes {
				ml := nd.gn.Membership()
				if ml.Size() == n {
					continue
				}
				var lack []string
				for j := range w.nodes {
					m, ok := ml.Member(sim.ID(j))
					if !ok {
						lack = append(lack, fmt.Sprintf("%d:none", j))
					} else if m.State != membership.StateAlive {
						lack = append(lack, fmt.Sprintf("%d:%v", j, m.State))
					}
				}
				fmt.Fprintf(os.Stderr, "  node %d lacks %v; neighbours %d; stats %+v\n", i, lack, nd.gn.Overlay().ActiveLen(), ml.Stats())
			}
		}
	}
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

// unknownNeighbors counts the nodes that do not hold every neighbour alive,
// and what they hold instead (by state; "unknown" for no entry).
func (w *world) unknownNeighbors() (int, map[string]int) {
	var buf []core.NodeID
	n, states := 0, map[string]int{}
	for _, nd := range w.nodes {
		buf = nd.gn.Overlay().Active(buf[:0])
		ml := nd.gn.Membership()
		bad := false
		for _, id := range buf {
			m, ok := ml.Member(id)
			switch {
			case !ok:
				states["unknown"]++
			case m.State != membership.StateAlive:
				states[m.State.String()]++
			default:
				continue
			}
			bad = true
		}
		if bad {
			n++
		}
	}
	return n, states
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

// membershipStats sums the nodes' membership counters that
// STACKEXP_DEBUG reports.
func (w *world) membershipStats() (sum membership.Stats) {
	for _, nd := range w.nodes {
		st := nd.gn.Membership().Stats()
		sum.Refutations += st.Refutations
		sum.UpdatesSent += st.UpdatesSent
		sum.UpdatesSentVerdicts += st.UpdatesSentVerdicts
		sum.StateBytesSent += st.StateBytesSent
		sum.FramesSent += st.FramesSent
		sum.BytesSent += st.BytesSent
		sum.BadSignatures += st.BadSignatures
		sum.BumpsUnverifiable += st.BumpsUnverifiable
		sum.ChainLinksChecked += st.ChainLinksChecked
		sum.Suspicions += st.Suspicions
		sum.Declared += st.Declared
		sum.PingsSent += st.PingsSent
		sum.SuspectProbes += st.SuspectProbes
		sum.SilentProbes += st.SilentProbes
		sum.PingReqsSent += st.PingReqsSent
		sum.ProbesHeard += st.ProbesHeard
		sum.AnswersSent += st.AnswersSent
		sum.AnswersAccepted += st.AnswersAccepted
		sum.AnswersFellBack += st.AnswersFellBack
		sum.AnswersStale += st.AnswersStale
		sum.VerdictBatches += st.VerdictBatches
		sum.VerdictsSigned += st.VerdictsSigned
		sum.VerdictsDirect += st.VerdictsDirect
		sum.DuplicateAccusations += st.DuplicateAccusations
	}
	return sum
}

// reportUndetected prints, for each victim some survivor still holds
// live, how many do and in which state (STACKEXP_DEBUG).
func (w *world) reportUndetected(victims []int) {
	for _, v := range victims {
		held := map[membership.State]int{}
		for i, nd := range w.nodes {
			if w.crashed[i] {
				continue
			}
			if m, ok := nd.gn.Membership().Member(sim.ID(v)); ok && m.State.Live() {
				held[m.State]++
			}
		}
		if len(held) > 0 {
			fmt.Fprintf(os.Stderr, "victim %d still held live by survivors: %v\n", v, held)
		}
	}
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

// eagerShape describes Plumtree's eager links among the live nodes: the
// share of nodes that receive eagerly from no and from exactly one live
// neighbour, the share whose outgoing eager links number exactly eagerMin,
// the mean number of outgoing eager links, and the share of eager links
// whose reverse is lazy (one-way links).
func (w *world) eagerShape(eagerMin int) (in0, in1, outAtMin, outMean, oneWay float64) {
	in := make([]int, len(w.nodes))
	eager := make(map[[2]int]bool)
	live, outs, atMin := 0, 0, 0
	var buf []core.NodeID
	for i, nd := range w.nodes {
		if !w.net.Up(i) {
			continue
		}
		live++
		buf = nd.gn.Engine().AppendPlumEager(buf[:0])
		out := 0
		for _, id := range buf {
			if j, ok := sim.Index(id); ok && w.net.Up(j) {
				in[j]++
				out++
				eager[[2]int{i, j}] = true
			}
		}
		outs += out
		if out == eagerMin {
			atMin++
		}
	}
	z, one, ow := 0, 0, 0
	for i := range w.nodes {
		if !w.net.Up(i) {
			continue
		}
		switch in[i] {
		case 0:
			z++
		case 1:
			one++
		}
	}
	for l := range eager {
		if !eager[[2]int{l[1], l[0]}] {
			ow++
		}
	}
	l := float64(max(live, 1))
	return float64(z) / l, float64(one) / l, float64(atMin) / l, float64(outs) / l, float64(ow) / float64(max(len(eager), 1))
}
