package overlay

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// The NextDue tests run the harness's clusters with every node wrapped in
// a dueNode: after every Tick and every input it asks NextDue, and every
// output during a Tick (a frame to the transport, a call of OnUp, OnDown,
// RandomPeer or Accept) is checked against every promise made since the
// node's last input, as a driver that sleeps through the quiet ticks and
// runs them late relies on.

// dueWatch collects what the dueNodes of one run saw.
type dueWatch struct {
	t     testing.TB
	name  string
	nodes []*dueNode
	rng   *rand.Rand // the test's own draws (RandomPeer)
	c     *cluster
	skip  bool // never call NextDue (TestNextDuePure)

	violations  int
	tickOutputs int // outputs during Tick
	longDue     int // of which named exactly more than one tick before
	calls       int // NextDue calls

	measure      bool  // collect the averages below
	sumD, nD     int64 // NextDue after Tick
	dueTicks     int64 // ticks the due tick was reached in (a timer wake-up)
	quietTicks   int64 // ticks with neither an input since the last tick nor the due tick
	liveTickSeen int64
}

type dueNode struct {
	w      *dueWatch
	i      int
	ids    []core.NodeID
	ov     *Overlay
	due    int64 // no output during a Tick before this tick (the latest promise since the last input)
	at     int64 // the tick that promise was made at
	d      int   // and NextDue's answer then
	inTick bool
	input  bool // an input since the last Tick
}

// recompute records NextDue's promise. The driver asks after an input and
// when it wakes, not while it sleeps, so every promise made since the last
// input binds: after a Tick the latest due tick of those is kept.
func (n *dueNode) recompute(input bool) int {
	if n.w.skip {
		return 0
	}
	d := n.ov.NextDue()
	n.w.calls++
	if d < 1 || d > nextDueNever {
		n.w.t.Fatalf("%s: node %s: NextDue() = %d at tick %d, want within [1, %d]", n.w.name, n.ov.ID(), d, n.ov.Now(), nextDueNever)
	}
	if due := n.ov.Now() + int64(d); input || due > n.due {
		n.d, n.at, n.due = d, n.ov.Now(), due
	}
	return d
}

// output checks one output against the promise: only a Tick's output can
// break it (an input may always act).
func (n *dueNode) output(what func() string) {
	if !n.inTick {
		return
	}
	w := n.w
	w.tickOutputs++
	now := n.ov.Now()
	if now == n.due && now-n.at > 1 {
		w.longDue++
	}
	if now < n.due {
		w.violations++
		if w.violations <= 5 {
			w.t.Errorf("%s: node %s made an output during tick %d: %s; but NextDue() = %d at tick %d promised none before tick %d, with no input since (%v)",
				w.name, n.ov.ID(), now, what(), n.d, n.at, n.due, n.ov)
		}
	}
}

// Tick implements sim.Handler.
func (n *dueNode) Tick() {
	w := n.w
	if w.measure {
		w.liveTickSeen++
		switch {
		case n.ov.Now()+1 >= n.due:
			w.dueTicks++
		case !n.input:
			w.quietTicks++
		}
	}
	n.inTick = true
	n.ov.Tick()
	n.inTick = false
	n.input = false
	d := n.recompute(false)
	if w.measure {
		w.sumD += int64(d)
		w.nD++
	}
}

// Receive implements sim.Handler.
func (n *dueNode) Receive(from int, frame []byte) {
	n.do(func(ov *Overlay) {
		if err := ov.Step(n.ids[from], frame); err != nil {
			panic(fmt.Sprintf("node %s: frame from %d: %v", ov.ID(), from, err))
		}
	})
}

// do hands the overlay an input (a method call) and records the new promise.
func (n *dueNode) do(f func(*Overlay)) {
	f(n.ov)
	n.input = true
	n.recompute(true)
}

type dueTransport struct {
	n     *dueNode
	inner core.Transport
}

func (t dueTransport) Send(to core.NodeID, frame []byte) {
	t.n.output(func() string { return fmt.Sprintf("a frame to %s [%s]", to, describeFrame(frame)) })
	t.inner.Send(to, frame)
}

func describeFrame(frame []byte) string {
	f, err := core.DecodeFrame(frame, core.DefaultLimits())
	if err != nil {
		return err.Error()
	}
	names := map[uint8]string{RecJoin: "JOIN", RecForwardJoin: "FORWARD_JOIN", RecNeighbor: "NEIGHBOR",
		RecNeighborReply: "NEIGHBOR_REPLY", RecDisconnect: "DISCONNECT", RecShuffle: "SHUFFLE",
		RecShuffleReply: "SHUFFLE_REPLY", RecKeepalive: "KEEPALIVE", RecSplice: "SPLICE"}
	var s []string
	for _, r := range f.Records {
		s = append(s, fmt.Sprintf("%s %x", names[r.Type], r.Body))
	}
	return strings.Join(s, ", ")
}

// p2pProfile is p2p.OverlayProfile(0) (p2p/overlay.go; that package
// imports this one), with the hooks the root package adds
// (node_overlay.go): a size estimate, random members, an Accept. A copy;
// stackexp -nextdue (TestNextDue) checks the real profiles.
func p2pProfile(cfg *Config) {
	cfg.FailTicks = 300
	cfg.KeepaliveTicks = 100
	cfg.ShuffleTicks = 300
	cfg.ShuffleReplyToNeighbors = true
	cfg.LowPriorityPending = 1
	cfg.FillBackoffMax = 600
	cfg.RequestTimeout = 30
	cfg.RefillJitterTicks = 10
	cfg.ActiveSlack = cfg.ActiveMax / 4
	cfg.JoinWalks = max(1, (cfg.ActiveMax-cfg.ActiveSlack)/2)
}

type dueScenario struct {
	name   string
	n      int
	seed   uint64
	loss   float64
	rounds int // churn rounds of roundTicks
	quiet  int // ticks without churn at the end
	// roundTicks is the length of a churn round
	roundTicks int
	// tweak sets the configuration; w.c is set before the first tick.
	tweak func(cfg *Config, w *dueWatch)
	// skip: never call NextDue (TestNextDuePure)
	skip bool
	// noUpDown: leave OnUp and OnDown unset (a failure then shows only
	// through what fill does after it)
	noUpDown bool
}

// runDue runs a scenario: nodes join 10 a tick through random earlier
// nodes; then, each round, a node crashes (node 1 for good in the first
// round), a crashed one may come back with its stale view, a member the
// others learn is down is reported to them (PeerDown), a node reports lag,
// other layers' traffic is reported (Heard), and once a node leaves and
// later joins again. Every tick and input goes through a dueNode.
func runDue(t testing.TB, sc dueScenario) *dueWatch {
	w := &dueWatch{t: t, name: sc.name, rng: rand.New(rand.NewPCG(sc.seed, 0xd0e)), skip: sc.skip}
	ids := sim.IDs(sc.n)
	w.nodes = make([]*dueNode, sc.n)
	for i := range w.nodes {
		w.nodes[i] = &dueNode{w: w, i: i, ids: ids}
	}
	c := newCluster(t, sc.n, sc.seed, sc.loss, func(cfg *Config) {
		i, _ := sim.Index(cfg.ID)
		dn := w.nodes[i]
		if sc.tweak != nil {
			sc.tweak(cfg, w)
		}
		cfg.Transport = dueTransport{n: dn, inner: cfg.Transport}
		if !sc.noUpDown {
			cfg.OnUp = func(id core.NodeID) { dn.output(func() string { return fmt.Sprintf("OnUp(%s)", id) }) }
			cfg.OnDown = func(id core.NodeID, why Reason) {
				dn.output(func() string { return fmt.Sprintf("OnDown(%s, %v)", id, why) })
			}
		}
		if rp := cfg.RandomPeer; rp != nil {
			cfg.RandomPeer = func() core.NodeID {
				id := rp()
				dn.output(func() string { return fmt.Sprintf("RandomPeer() = %s", id) })
				return id
			}
		}
		if acc := cfg.Accept; acc != nil {
			cfg.Accept = func(id core.NodeID) bool {
				dn.output(func() string { return fmt.Sprintf("Accept(%s)", id) })
				return acc(id)
			}
		}
	})
	w.c = c
	for i, dn := range w.nodes {
		dn.ov = c.nodes[i]
		dn.recompute(true)
	}

	// Joins.
	c.net.SetHandler(0, w.nodes[0])
	for i := 1; i < sc.n; i++ {
		at := 1 + (i-1)/10
		c.net.At(time.Duration(at)*tick+tick/2, func() {
			c.net.SetHandler(i, w.nodes[i])
			contact := c.ids[w.rng.IntN(i)]
			w.nodes[i].do(func(ov *Overlay) { ov.Join(contact) })
		})
	}
	c.runTicks(1 + sc.n/10 + 20)

	// Churn.
	var down []int
	var declared []core.NodeID
	left := -1
	for round := 0; round < sc.rounds; round++ {
		victim := 1
		if round > 0 {
			victim = 2 + w.rng.IntN(sc.n-2)
		}
		if c.alive(victim) && victim != left {
			c.net.Crash(victim)
			if round > 0 {
				down = append(down, victim)
			}
			declared = append(declared, c.ids[victim])
		}
		if len(down) > 2 && w.rng.IntN(2) == 0 {
			j := w.rng.IntN(len(down))
			c.net.Recover(down[j])
			declared = slices.DeleteFunc(declared, func(id core.NodeID) bool { return id == c.ids[down[j]] })
			down = slices.Delete(down, j, j+1)
		}
		live := func() *dueNode {
			for {
				if i := w.rng.IntN(sc.n); c.alive(i) {
					return w.nodes[i]
				}
			}
		}
		// SWIM's declaration of an earlier victim reaches a few members.
		if len(declared) > 1 {
			id := declared[w.rng.IntN(len(declared)-1)]
			for k := 0; k < 5; k++ {
				live().do(func(ov *Overlay) { ov.PeerDown(id) })
			}
		}
		lag := live()
		lag.do(func(ov *Overlay) { ov.ReportLag(ov.cfg.KeepaliveTicks) })
		for k := 0; k < 5; k++ {
			n := live()
			if a := n.ov.Active(nil); len(a) > 0 {
				id := a[w.rng.IntN(len(a))]
				n.do(func(ov *Overlay) { ov.Heard(id) })
			}
		}
		switch round {
		case sc.rounds / 3:
			left = 2 + w.rng.IntN(sc.n-2)
			if c.alive(left) {
				w.nodes[left].do(func(ov *Overlay) { ov.Leave() })
			}
		case 2 * sc.rounds / 3:
			if c.alive(left) {
				contact := c.ids[0]
				w.nodes[left].do(func(ov *Overlay) { ov.Join(contact) })
			}
		}
		c.runTicks(sc.roundTicks)
	}
	c.runTicks(sc.quiet)
	return w
}

func dueScenarios() []dueScenario {
	return []dueScenario{
		{name: "default", n: 60, seed: 1, loss: 0.02, rounds: 40, roundTicks: 15, quiet: 200},
		{name: "default-bare", n: 40, seed: 4, loss: 0.05, rounds: 30, roundTicks: 10, quiet: 100, noUpDown: true},
		{
			// Random links, a refill jitter, slack, and a size estimate
			// that flaps between 2 and 50 (targets 10 and 12) with no input
			// to the overlay.
			name: "hooks", n: 60, seed: 2, loss: 0.02, rounds: 40, roundTicks: 15, quiet: 300,
			tweak: func(cfg *Config, w *dueWatch) {
				cfg.ActiveSlack = 4
				cfg.RandomLinkTicks = 60
				cfg.RefillJitterTicks = 5
				self := cfg.ID
				cfg.RandomPeer = func() core.NodeID {
					if id := sim.ID(w.rng.IntN(len(w.nodes))); id != self {
						return id
					}
					return ""
				}
				cfg.Accept = func(core.NodeID) bool { return true }
				cfg.SizeEstimate = func() int {
					if w.c == nil || (w.c.net.Now()/tick/37)%2 == 0 {
						return 2
					}
					return 50
				}
			},
		},
		{
			// The p2p adapter's configuration, with the root package's
			// hooks: long keepalives, shuffles and backoffs, random links.
			name: "p2p", n: 60, seed: 3, loss: 0.02, rounds: 60, roundTicks: 60, quiet: 2000,
			tweak: func(cfg *Config, w *dueWatch) {
				p2pProfile(cfg)
				self := cfg.ID
				cfg.RandomPeer = func() core.NodeID {
					if id := sim.ID(w.rng.IntN(len(w.nodes))); id != self {
						return id
					}
					return ""
				}
				cfg.Accept = func(core.NodeID) bool { return true }
				cfg.SizeEstimate = func() int {
					if w.c == nil {
						return len(w.nodes)
					}
					live := 0
					for i := range w.nodes {
						if w.c.alive(i) {
							live++
						}
					}
					return live
				}
			},
		},
	}
}

// TestNextDueNeverLate: no node acts during a Tick before the tick
// NextDue named, with no input in between, under joins, loss, churn, lag,
// PeerDown, Leave and a node crashed for good.
func TestNextDueNeverLate(t *testing.T) {
	for _, sc := range dueScenarios() {
		for seed := sc.seed; seed < sc.seed+30; seed += 10 {
			sc := sc
			sc.seed = seed
			sc.name = fmt.Sprintf("%s/seed%d", sc.name, seed)
			t.Run(sc.name, func(t *testing.T) {
				w := runDue(t, sc)
				t.Logf("%s: %d NextDue calls, %d outputs during ticks (%d named exactly more than one tick before), %d too early",
					sc.name, w.calls, w.tickOutputs, w.longDue, w.violations)
				if w.violations > 0 {
					t.Fatalf("%d outputs before the tick NextDue named", w.violations)
				}
				if w.tickOutputs < 1000 || w.longDue < 100 {
					t.Fatalf("the run exercised too little: %d outputs during ticks, %d named more than one tick before", w.tickOutputs, w.longDue)
				}
			})
		}
	}
}

// TestNextDueIdle: in a settled idle cluster with the p2p adapter's
// configuration, NextDue lets a node sleep through most ticks.
func TestNextDueIdle(t *testing.T) {
	sc := dueScenarios()[3]
	sc.name, sc.loss, sc.rounds, sc.quiet = "p2p-idle", 0, 0, 3000
	w := runDue(t, sc)
	w.measure = true
	w.c.runTicks(2000)
	if w.violations > 0 {
		t.Fatalf("%d outputs before the tick NextDue named", w.violations)
	}
	mean := float64(w.sumD) / float64(w.nD)
	t.Logf("idle, p2p profile, n = %d: mean NextDue after a tick %.1f; of %d node ticks %.1f %% reach the due tick, %.1f %% have an input before them, %.1f %% are quiet",
		sc.n, mean, w.liveTickSeen, 100*float64(w.dueTicks)/float64(w.liveTickSeen),
		100*float64(w.liveTickSeen-w.dueTicks-w.quietTicks)/float64(w.liveTickSeen),
		100*float64(w.quietTicks)/float64(w.liveTickSeen))
	// Measured 19.4 (18-20 over seeds 1-4, n = 60 and 100): keepalive
	// pings, about one per 15 ticks per node, set nearly every due tick.
	if mean < 14 {
		t.Fatalf("mean NextDue %.1f in an idle cluster, want at least 14", mean)
	}
}

// TestNextDuePure: NextDue changes nothing (no state, no random draw): a
// run whose nodes call it after every Tick and input ends in the same
// views, counters and random streams as the same run without it; and it
// allocates nothing.
func TestNextDuePure(t *testing.T) {
	state := func(c *cluster) []string {
		var out []string
		for _, ov := range c.nodes {
			out = append(out, fmt.Sprint(ov.Active(nil), ov.Passive(nil), ov.Stats(), ov.rng.Uint64()))
		}
		return out
	}
	sc := dueScenarios()[2]
	sc.rounds = 10
	w := runDue(t, sc)
	sc.skip = true
	plain := runDue(t, sc)
	if plain.calls != 0 || w.calls == 0 {
		t.Fatalf("NextDue calls: %d with, %d without", w.calls, plain.calls)
	}
	if !slices.Equal(state(w.c), state(plain.c)) {
		t.Fatal("calling NextDue changed the run")
	}
	for _, ov := range w.c.nodes[:10] {
		if allocs := testing.AllocsPerRun(100, func() { ov.NextDue() }); allocs != 0 {
			t.Fatalf("NextDue allocates %.0f times", allocs)
		}
	}
}

// TestNextDueNoCandidate: a node short of neighbours with nothing to ask
// (an empty passive view, no RandomPeer) only brings its SHUFFLE forward
// (shuffleSoon): NextDue names that SHUFFLE's tick, not every tick, and is
// never late, whether the backoff (nextFill, as a rejection would leave it)
// or RequestTimeout after the last SHUFFLE decides that tick.
func TestNextDueNoCandidate(t *testing.T) {
	net := newMemnet()
	slow := func(c *Config) {
		c.ActiveMin, c.KeepaliveTicks, c.FailTicks, c.RequestTimeout = 1, 100, 400, 10
	}
	a := net.add(t, "a", slow)
	net.add(t, "b", slow)
	a.Join("b")
	net.run(t)
	net.down["b"] = true // b's answers never come: a keeps its one neighbour until it fails
	if a.PassiveLen() != 0 || a.ActiveLen() != 1 {
		t.Fatalf("%v: want one neighbour and an empty passive view", a)
	}
	promised, since, long := int64(0), int64(0), 0
	for k := 0; a.ActiveLen() > 0; {
		// Every promise since the last input binds (the driver sleeps).
		if due := a.Now() + int64(a.NextDue()); due > promised {
			promised, since = due, a.Now()
		}
		sent := len(net.log)
		a.Tick()
		net.run(t)
		if len(net.log) == sent {
			continue
		}
		f := describeFrame(net.log[sent].frame)
		if a.Now() < promised {
			t.Fatalf("tick %d: a sent %s before the tick NextDue named, %d", a.Now(), f, promised)
		}
		if !strings.HasPrefix(f, "SHUFFLE") {
			continue
		}
		if a.Now() == promised && a.Now()-since > 1 {
			long++
		}
		// A backoff (as a rejection leaves it) that outlasts the SHUFFLE
		// already brought forward: at its end fill brings the next one
		// forward, to the tick after it or to RequestTimeout after the
		// last SHUFFLE, whichever is later.
		if a.nextFill <= a.Now() {
			k++
			a.nextFill = a.Now() + []int64{15, 25}[k%2]
			promised = 0
		}
	}
	if long < 10 {
		t.Fatalf("NextDue named %d early SHUFFLEs more than a tick ahead, want at least 10", long)
	}
}
