package core

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The tests of NextDue drive a testNet themselves (rather than with round
// and settle) so that NextDue is read after every Tick and every input of
// every node, and they wrap every hook an engine calls (Transport, App and
// its LossReporter and LateReceiver, Penalizer, ServiceScore, Piggybacker
// and OriginVoucher, the sampler's Sample) to see each node's outputs tick
// by tick.

// ndWatch checks NextDue's promise: each reading d at tick a says no output
// before tick a+d while no input comes; the readings since the last input
// all hold, so the latest tick any of them names is the binding one.
type ndWatch struct {
	t       testing.TB
	name    string
	tn      *testNet
	probe   bool   // read NextDue (off: the same run without it, for purity)
	clock   uint64 // ticks run by the live nodes
	inTick  int    // the node whose Tick is running (-1: none)
	promise []uint64
	d, at   []int    // the reading that set promise
	lastIn  []uint64 // tick of the node's last input
	checked int      // outputs of ticks checked
	log     []string // outputs, for comparing runs
}

func (w *ndWatch) out(i int, what string) {
	if w.inTick != i {
		return
	}
	w.checked++
	e := w.tn.nodes[i]
	if w.probe && e.Ticks() < w.promise[i] {
		w.t.Fatalf("%s: node %d (%s) output %s during tick %d, but NextDue read %d at tick %d (no output before tick %d; last input at tick %d)",
			w.name, i, e.ID(), what, e.Ticks(), w.d[i], w.at[i], w.promise[i], w.lastIn[i])
	}
	if len(w.log) < 1<<16 {
		w.log = append(w.log, fmt.Sprintf("%d@%d:%s", i, e.Ticks(), what))
	}
}

// read takes node i's NextDue; input says an input came since the last.
func (w *ndWatch) read(i int, input bool) {
	e := w.tn.nodes[i]
	if input {
		w.lastIn[i] = e.Ticks()
	}
	if !w.probe {
		return
	}
	d := e.NextDue()
	if d < 1 {
		w.t.Fatalf("%s: node %d: NextDue %d at tick %d", w.name, i, d, e.Ticks())
	}
	due := e.Ticks() + uint64(d)
	if input || due > w.promise[i] {
		w.promise[i], w.d[i], w.at[i] = due, d, int(e.Ticks())
	}
}

// ndTransport reports sends; it keeps the harness transport's Reachability.
type ndTransport struct {
	inner *netTransport
	w     *ndWatch
	i     int
}

func (tr *ndTransport) Send(to NodeID, frame []byte) {
	tr.w.out(tr.i, "Send to "+string(to))
	tr.inner.Send(to, frame)
}
func (tr *ndTransport) Unreachable(id NodeID) bool { return tr.inner.Unreachable(id) }

// ndScoreTransport adds a ServiceScore: a member is unserving after three
// unserved requests in a row. Unserving is a read; the reports are hooks.
type ndScoreTransport struct {
	ndTransport
	unserved map[NodeID]int
}

func (tr *ndScoreTransport) Unserving(id NodeID) bool { return tr.unserved[id] >= 3 }
func (tr *ndScoreTransport) Unserved(id NodeID) {
	tr.w.out(tr.i, "Unserved("+string(id)+")")
	tr.unserved[id]++
}
func (tr *ndScoreTransport) Served(id NodeID) {
	tr.w.out(tr.i, "Served("+string(id)+")")
	tr.unserved[id] = 0
}

type ndApp struct {
	inner *recorder
	w     *ndWatch
	i     int
}

func (a *ndApp) Deliver(m *Message) {
	a.w.out(a.i, fmt.Sprintf("Deliver(%s/%d)", m.Origin, m.Seq))
	a.inner.Deliver(m)
}
func (a *ndApp) Lost(o NodeID, from, to uint64) {
	a.w.out(a.i, fmt.Sprintf("Lost(%s %d-%d)", o, from, to))
	a.inner.Lost(o, from, to)
}
func (a *ndApp) Late(m *Message, _ bool) { a.w.out(a.i, fmt.Sprintf("Late(%s/%d)", m.Origin, m.Seq)) }

type ndPiggy struct {
	w *ndWatch
	i int
}

func (p *ndPiggy) Piggyback(to NodeID, f []byte, _ int) []byte {
	p.w.out(p.i, "Piggyback to "+string(to))
	return f
}
func (p *ndPiggy) Vouch(to NodeID, _ []NodeID, f []byte, _ int) []byte {
	p.w.out(p.i, "Vouch to "+string(to))
	return f
}

// ndSampler and ndNbrSampler report Sample (it draws from the sampler's
// randomness) and keep their sampler's optional interface.
type ndSampler struct {
	inner *StaticSampler
	w     *ndWatch
	i     int
}

func (s *ndSampler) Sample(dst []NodeID, k int) []NodeID {
	s.w.out(s.i, "Sample")
	return s.inner.Sample(dst, k)
}
func (s *ndSampler) Size() int                         { return s.inner.Size() }
func (s *ndSampler) PeersVersion() uint64              { return s.inner.PeersVersion() }
func (s *ndSampler) AppendPeers(dst []NodeID) []NodeID { return s.inner.AppendPeers(dst) }

type ndNbrSampler struct {
	inner *nbrSampler
	w     *ndWatch
	i     int
}

func (s *ndNbrSampler) Sample(dst []NodeID, k int) []NodeID {
	s.w.out(s.i, "Sample")
	return s.inner.Sample(dst, k)
}
func (s *ndNbrSampler) Size() int                             { return s.inner.Size() }
func (s *ndNbrSampler) NeighborsVersion() uint64              { return s.inner.NeighborsVersion() }
func (s *ndNbrSampler) AppendNeighbors(dst []NodeID) []NodeID { return s.inner.AppendNeighbors(dst) }

// ndGate is a Validator and OriginGate that learns of one origin only at a
// given tick of the network's clock: until then its messages are held.
type ndGate struct {
	w      *ndWatch
	origin NodeID
	from   uint64
}

func (g *ndGate) Validate(NodeID, *Message) error { return nil }
func (g *ndGate) OriginKnown(_ NodeID, m *Message) bool {
	return m.Origin != g.origin || g.w.clock >= g.from
}

// ndScenario is one configuration of the property test.
type ndScenario struct {
	name    string
	n       int
	tweak   func(i int, c *Config)
	score   bool // transports implement ServiceScore
	hooks   bool // Penalizer, Piggybacker and a late-learning OriginGate
	plum    bool // Plumtree over a circulant neighbour graph
	ticks   int
	publish int     // publishes stop after this tick; idle afterwards
	loss    float64 // frame loss from tick 40 until publish (0: 0.1, negative: none)
}

// p2pProfile is what package p2p's tuneEngine sets (p2p/profile.go, LAN),
// with overlay its Plumtree settings: a copy, since p2p imports this
// package; stackexp -nextdue (TestNextDue) checks the real profiles.
func p2pProfile(c *Config, overlay bool) {
	c.Mode = PushPull
	c.EagerPush = true
	c.TreeFanout = 6
	c.Fanout = 3
	c.LazyThreshold = 1
	c.LazyBodyFanout = 1
	c.IWantDelay = 1
	c.GapWantDelay = 1
	c.Rounds = 1
	c.RoundTicks = 2
	c.PullEvery = 5
	c.PullMinAge = 2
	c.PullIdleMax = 8
	c.MaxRoundMessages = 32
	c.MaxRoundBytes = 128 << 10
	c.FIFO = true
	c.FIFOStart = 2
	c.TreeAckTicks = 50
	c.TreeAckProbeTicks = 50
	c.FastWantRetries = 2
	c.IWantTimeout = 5
	if overlay {
		c.Plumtree = true
		c.IWantDelay = 2
		c.PlumLazyFanout = 4
		c.PlumRoundsAfterLoss = 50
		c.PlumAnnounceDelayCalls = 2
		c.IWantDelayCalls = 3
		c.WantRTT = true
	}
}

// shortLives makes stores, seen-state, gaps and FIFO waits end within a
// test run.
func shortLives(c *Config) {
	c.StoreTTL = 50
	c.SeenTTL = 110
	c.GapTimeout = 25
	c.FIFOTimeout = 12
}

func ndScenarios() []ndScenario {
	return []ndScenario{
		{name: "default", n: 14, ticks: 260, publish: 120},
		{name: "default-fifo-backoff", n: 14, ticks: 400, publish: 150, score: true, hooks: true, tweak: func(i int, c *Config) {
			shortLives(c)
			c.FIFO, c.FIFOStart = true, 3
			c.RoundTicks, c.PullEvery, c.PullIdleMax = 3, 2, 4
			c.Policy = Random
			c.LazyThreshold = 100
			c.IWantDelay, c.GapWantDelay = 1, 1
		}},
		{name: "p2p-tree", n: 16, ticks: 400, publish: 150, score: true, hooks: true, tweak: func(i int, c *Config) {
			p2pProfile(c, false)
		}},
		{name: "p2p-tree-short", n: 16, ticks: 450, publish: 150, score: true, hooks: true, tweak: func(i int, c *Config) {
			p2pProfile(c, false)
			shortLives(c)
		}},
		{name: "p2p-overlay", n: 16, ticks: 450, publish: 150, plum: true, score: true, hooks: true, tweak: func(i int, c *Config) {
			p2pProfile(c, true)
			shortLives(c)
		}},
		{name: "plumtree-plain", n: 14, ticks: 300, publish: 120, plum: true, tweak: func(i int, c *Config) {
			c.LazyThreshold, c.IWantDelay, c.Rounds = 1, 1, 2
			c.PlumRoundsAfterLoss = 20
			c.PlumRepair = true
		}},
		{name: "plum-quiet", n: 14, ticks: 300, publish: 200, plum: true, loss: -1, tweak: func(i int, c *Config) {
			// Quiet rounds with hot messages and deferred announcements
			// that wait across ticks (nodes calling ResendUnanswered
			// once a tick), when a neighbour leaves.
			c.LazyThreshold, c.IWantDelay, c.Rounds, c.RoundTicks = 1, 2, 3, 2
			c.PlumRoundsAfterLoss = 4
			c.PlumAnnounceDelayCalls = 2
			c.IWantDelayCalls = 3
		}},
		{name: "pull", n: 12, ticks: 400, publish: 150, score: true, hooks: true, tweak: func(i int, c *Config) {
			shortLives(c)
			c.Mode = Pull
			c.PullIdleMax = 8
			c.FIFO, c.FIFOStart = true, 2
			c.RoundTicks, c.PullEvery = 2, 2
		}},
		{name: "fifo-lossy", n: 12, ticks: 300, publish: 150, loss: 0.3, score: true, tweak: func(i int, c *Config) {
			// Messages leave the store before pull can repair them, so
			// FIFO gaps are given up and reported lost.
			c.FIFO = true
			c.StoreTTL, c.FIFOTimeout, c.GapTimeout, c.SeenTTL = 4, 6, 10, 40
			c.Rounds = 1
			c.PullIdleMax = 4
			c.RoundTicks = 2
		}},
		{name: "push", n: 14, ticks: 300, publish: 150, hooks: true, tweak: func(i int, c *Config) {
			shortLives(c)
			c.Mode = Push
			c.Rounds = 3
			c.LazyThreshold = 100
			c.IWantDelay, c.GapWantDelay = 1, 2
			c.FIFO = true
			c.Policy = Priority
		}},
	}
}

// ndRun runs scenario sc with NextDue read (probe) or not, and returns the
// watch. Publishes come from random live nodes until sc.publish, a tenth of
// the frames are lost between ticks 40 and sc.publish, the last node
// crashes at tick 90 (it stays in every view; under Plumtree its
// neighbours drop it at tick 120, which they notice only when something
// reads their neighbour list, not by an input), and odd nodes call
// ResendUnanswered twice between ticks while AwaitingAnswers (even ones
// never do, as adapters without a clock finer than a tick), every third
// AskGaps while GapsWaiting. Nodes 3 mod 4 call ResendUnanswered only once
// a tick.
func ndRun(t testing.TB, sc ndScenario, seed uint64, probe bool) (*ndWatch, *testNet) {
	w := &ndWatch{t: t, name: fmt.Sprintf("%s seed %d", sc.name, seed), probe: probe, inTick: -1,
		promise: make([]uint64, sc.n), d: make([]int, sc.n), at: make([]int, sc.n), lastIn: make([]uint64, sc.n)}
	gated := nodeName(sc.n / 2) // its origin is learnt late by the others
	tn := newTestNet(t, sc.n, seed, func(i int, c *Config) {
		if sc.plum {
			c.Plumtree = true
			c.Sampler = &nbrSampler{peers: circulantNeighbours(i, sc.n, []int{1, 2, 5}), rng: c.Rand, ver: 1, n: sc.n}
		}
		if sc.tweak != nil {
			sc.tweak(i, c)
		}
		tr := ndTransport{inner: c.Transport.(*netTransport), w: w, i: i}
		if sc.score {
			c.Transport = &ndScoreTransport{ndTransport: tr, unserved: map[NodeID]int{}}
		} else {
			c.Transport = &tr
		}
		c.App = &ndApp{inner: c.App.(*recorder), w: w, i: i}
		switch s := c.Sampler.(type) {
		case *StaticSampler:
			c.Sampler = &ndSampler{inner: s, w: w, i: i}
		case *nbrSampler:
			c.Sampler = &ndNbrSampler{inner: s, w: w, i: i}
		}
		if sc.hooks {
			c.Penalizer = PenalizerFunc(func(from NodeID, o Offence) { w.out(i, "Penalize("+string(from)+", "+o.String()+")") })
			c.Piggyback = &ndPiggy{w: w, i: i}
			c.Validator = &ndGate{w: w, origin: gated, from: 45}
			c.HoldUnknownTicks = 6
		}
	})
	w.tn = tn
	for i := range tn.nodes {
		w.read(i, true)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	crashed := sc.n - 1
	for tick := 1; tick <= sc.ticks; tick++ {
		w.clock = uint64(tick)
		tn.loss = 0
		if tick >= 40 && tick < sc.publish {
			tn.loss = max(cmp.Or(sc.loss, 0.1), 0)
		}
		if tick == 90 {
			tn.down[crashed] = true
		}
		if tick == 120 && sc.plum {
			for _, e := range tn.nodes {
				s := e.cfg.Sampler.(*ndNbrSampler).inner
				if i := slices.Index(s.peers, nodeName(crashed)); i >= 0 {
					s.peers = slices.Delete(s.peers, i, i+1)
					s.ver++
				}
			}
		}
		for i, e := range tn.nodes {
			if tn.down[i] {
				continue
			}
			w.inTick = i
			e.Tick()
			w.inTick = -1
			w.read(i, false)
		}
		ndDeliver(w)
		if tick < sc.publish {
			for k := 0; k < 2; k++ {
				if rng.IntN(3) != 0 {
					continue
				}
				i := rng.IntN(sc.n)
				if tn.down[i] {
					continue
				}
				size := []int{0, 10, 300, 3000}[rng.IntN(4)]
				if _, err := tn.nodes[i].Publish("t", make([]byte, size)); err != nil {
					t.Fatal(err)
				}
				w.read(i, true)
				ndDeliver(w)
			}
		}
		for i, e := range tn.nodes {
			if tn.down[i] {
				continue
			}
			for call := 0; call < 2-i/2%2 && i%2 == 1 && e.AwaitingAnswers(); call++ {
				e.ResendUnanswered()
				w.read(i, true)
				ndDeliver(w)
			}
			if i%3 == 0 && e.GapsWaiting() {
				e.AskGaps()
				w.read(i, true)
				ndDeliver(w)
			}
		}
	}
	return w, tn
}

// ndDeliver delivers the queued frames and what they cause, reading NextDue
// after each input (testNet.settle without the reading).
func ndDeliver(w *ndWatch) {
	tn := w.tn
	for len(tn.queue) > 0 {
		q := tn.queue
		tn.queue = nil
		for _, p := range q {
			if tn.down[p.to] || tn.down[p.from] {
				continue
			}
			if tn.loss > 0 && tn.rng.Float64() < tn.loss {
				continue
			}
			if err := tn.nodes[p.to].Step(tn.nodes[p.from].ID(), p.frame); err != nil {
				w.t.Fatalf("node %d: Step: %v", p.to, err)
			}
			w.read(p.to, true)
		}
	}
}

// TestNextDueNeverLate: in every scenario no node outputs anything during a
// tick before the one its NextDue readings since its last input named.
func TestNextDueNeverLate(t *testing.T) {
	for _, sc := range ndScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 2; seed++ {
				w, tn := ndRun(t, sc, seed, true)
				var deliv, lost, held int
				for i, a := range tn.apps {
					deliv += len(a.got)
					lost += len(a.lost)
					held += int(tn.nodes[i].HoldStats().Held)
				}
				if w.checked == 0 || deliv == 0 {
					t.Fatalf("seed %d: %d tick outputs checked, %d deliveries: the run exercised nothing", seed, w.checked, deliv)
				}
				t.Logf("seed %d: %d tick outputs checked; %d deliveries, %d losses reported, %d held for an unknown origin", seed, w.checked, deliv, lost, held)
			}
		})
	}
}

// TestNextDuePure: reading NextDue changes nothing: a run that reads it
// after every call outputs exactly what the same run without it does, and a
// reading allocates nothing.
func TestNextDuePure(t *testing.T) {
	for _, sc := range ndScenarios() {
		with, tw := ndRun(t, sc, 3, true)
		without, to := ndRun(t, sc, 3, false)
		if len(with.log) != len(without.log) {
			t.Fatalf("%s: %d tick outputs with NextDue read, %d without", sc.name, len(with.log), len(without.log))
		}
		for i := range with.log {
			if with.log[i] != without.log[i] {
				t.Fatalf("%s: tick output %d is %s with NextDue read, %s without", sc.name, i, with.log[i], without.log[i])
			}
		}
		for i := range tw.nodes {
			if tw.nodes[i].Stats() != to.nodes[i].Stats() {
				t.Fatalf("%s: node %d's stats differ with NextDue read", sc.name, i)
			}
		}
		e := tw.nodes[0]
		if a := testing.AllocsPerRun(100, func() { e.NextDue() }); a != 0 {
			t.Fatalf("%s: NextDue allocates %.1f times", sc.name, a)
		}
	}
}

// ndSkip counts, over ticks [from, to), the wake-ups of simulated
// drivers: each wakes for a tick when the tick its last NextDue reading
// named comes, and for every input, and reads NextDue at each wake.
// avg is the ticks per tick wake-up: the average skip.
type ndSkip struct {
	from, to   int
	tickWakes  int
	inputWakes int
	nodeTicks  int
}

func (s *ndSkip) avg() float64 { return float64(s.nodeTicks) / float64(max(s.tickWakes, 1)) }

// ndMeasure runs the p2p profile (overlay or not) on n nodes: a stream of
// one message a second (every 10 ticks, from rotating publishers) for
// streamTicks, then idleTicks of nothing. It measures the average skip
// over the second half of the stream and the last window idle ticks.
func ndMeasure(t *testing.T, overlay bool, n, streamTicks, idleTicks, window int) (stream, idle ndSkip) {
	tn := newTestNet(t, n, 1, func(i int, c *Config) {
		if overlay {
			c.Sampler = &nbrSampler{peers: circulantNeighbours(i, n, []int{1, 2, 5}), rng: c.Rand, ver: 1, n: n}
		}
		p2pProfile(c, overlay)
	})
	stream = ndSkip{from: streamTicks / 2, to: streamTicks}
	idle = ndSkip{from: streamTicks + idleTicks - window, to: streamTicks + idleTicks}
	wake := make([]uint64, n) // the tick each driver wakes for next
	tick := 0
	measure := func(i int, input bool) {
		e := tn.nodes[i]
		for _, s := range []*ndSkip{&stream, &idle} {
			if tick >= s.from && tick < s.to {
				if input {
					s.inputWakes++
				} else {
					s.tickWakes++
				}
			}
		}
		wake[i] = e.Ticks() + uint64(e.NextDue())
	}
	deliver := func() {
		for len(tn.queue) > 0 {
			q := tn.queue
			tn.queue = nil
			for _, p := range q {
				if err := tn.nodes[p.to].Step(tn.nodes[p.from].ID(), p.frame); err != nil {
					t.Fatal(err)
				}
				measure(p.to, true)
			}
		}
	}
	for tick = 1; tick <= streamTicks+idleTicks; tick++ {
		for i, e := range tn.nodes {
			e.Tick()
			for _, s := range []*ndSkip{&stream, &idle} {
				if tick >= s.from && tick < s.to {
					s.nodeTicks++
				}
			}
			if e.Ticks() >= wake[i] {
				measure(i, false)
			}
		}
		deliver()
		if tick < streamTicks && tick%10 == 0 {
			i := (tick / 10) % n
			if _, err := tn.nodes[i].Publish("t", []byte("one a second")); err != nil {
				t.Fatal(err)
			}
			measure(i, true)
			deliver()
		}
		if overlay {
			for i, e := range tn.nodes {
				for call := 0; call < 3 && e.AwaitingAnswers(); call++ {
					e.ResendUnanswered()
					measure(i, true)
					deliver()
				}
			}
		}
	}
	return stream, idle
}

// TestNextDueSkipsIdleTicks: with p2p's profiles (20 members, with and
// without the overlay) an idle member's driver wakes for a tick far less
// often than every tick, and still skips ticks while a message a second
// flows. Idle is 200 to 400 ticks after the last message, while the
// origins are still tracked (SeenTTL 600), and 900 to 1,200 ticks after it,
// once the others have forgotten each member's origin: a member no longer
// lists its own origin then (forgottenByOthers), which the others would
// take for news (digestReveals: no state, no tombstone) and pull every
// period for good (an average skip of 11.8 ticks before that change).
func TestNextDueSkipsIdleTicks(t *testing.T) {
	for _, overlay := range []bool{false, true} {
		stream, idle := ndMeasure(t, overlay, 20, 300, 400, 200)
		_, late := ndMeasure(t, overlay, 20, 300, 1200, 300)
		perTick := func(s ndSkip) float64 { return float64(s.inputWakes) / float64(s.nodeTicks) }
		t.Logf("overlay %v: average skip %.2f ticks streaming (%.3f input wake-ups per member and tick), %.2f idle (%.3f), %.2f idle after SeenTTL (%.3f)",
			overlay, stream.avg(), perTick(stream), idle.avg(), perTick(idle), late.avg(), perTick(late))
		if late.avg() < 30 {
			t.Errorf("overlay %v: idle drivers after SeenTTL wake for a tick every %.2f ticks on average, want at least 30", overlay, late.avg())
		}
		if idle.avg() < 30 {
			t.Errorf("overlay %v: idle drivers wake for a tick every %.2f ticks on average, want at least 30", overlay, idle.avg())
		}
		if stream.avg() < 3 {
			t.Errorf("overlay %v: streaming drivers wake for a tick every %.2f ticks on average, want at least 3", overlay, stream.avg())
		}
	}
}

// ndCountTransport counts the frames sent.
type ndCountTransport struct{ sent int }

func (c *ndCountTransport) Send(NodeID, []byte) { c.sent++ }

// TestNextDueQuietRoundsNeighbourLeft: Plumtree's quiet rounds with a hot
// message are not quiet for NextDue while a deferred announcement waits
// across a tick: Tick's flushAnnounces reads the neighbour set, and a
// neighbour gone meanwhile (no input tells the engine) counts as loss,
// so the round announces the hot message.
func TestNextDueQuietRoundsNeighbourLeft(t *testing.T) {
	tr := &ndCountTransport{}
	rng := rand.New(rand.NewPCG(1, 1))
	s := &nbrSampler{peers: []NodeID{"b", "c", "d"}, rng: rng, ver: 1, n: 4}
	c := DefaultConfig()
	c.ID, c.Rand, c.Sampler, c.Transport = "a", rng, s, tr
	c.Plumtree, c.Rounds, c.LazyThreshold = true, 3, 1
	c.PlumRoundsAfterLoss, c.PlumAnnounceDelayCalls = 2, 2
	c.Mode, c.PullIdleMax, c.PullEvery = PushPull, 8, 50
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	e.StepFrame("b", &Frame{Prune: true}) // b lazy: a's announcements to it are deferred
	for i := 0; i < 3; i++ {
		e.Tick()
	}
	if _, err := e.Publish("t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	e.ResendUnanswered() // one call of the two the announcement waits for
	if len(e.plum.announce) != 1 || !e.plumQuiet() {
		t.Fatalf("setup: %d announcements waiting, quiet %v; want 1 and quiet rounds", len(e.plum.announce), e.plumQuiet())
	}
	d := e.NextDue()
	s.peers, s.ver = []NodeID{"b", "c"}, 2 // d left; nothing tells the engine
	tr.sent = 0
	e.Tick()
	if tr.sent > 0 && d > 1 {
		t.Fatalf("NextDue %d, but the next Tick sent %d frames (a neighbour left: the round was not quiet)", d, tr.sent)
	}
	if tr.sent == 0 {
		t.Fatalf("the round after a neighbour left sent nothing: the test no longer covers the case")
	}
}

// TestNextDueManyOrigins: beyond nextDueOriginScan origins NextDue does not
// look at them one by one, and is still never late: FIFO gaps of 300
// origins are given up (Lost, then deliveries) and, with the idle pull
// backoff, the origins expire, which ends the backoff. Pull mode, so that
// no push round is due at the same ticks.
func TestNextDueManyOrigins(t *testing.T) {
	for _, fifo := range []bool{true, false} {
		tr := &ndCountTransport{}
		e, app := newLoneEngine(t, func(c *Config) {
			c.Transport = tr
			c.FIFO, c.FIFOTimeout = fifo, 3
			c.Mode, c.RoundTicks, c.PullEvery, c.PullIdleMax = Pull, 2, 5, 8
			c.StoreTTL, c.SeenTTL, c.GapTimeout = 10, 30, 12
		})
		const origins = nextDueOriginScan + 44
		for k := 0; k < origins; k++ {
			o := NodeID(fmt.Sprintf("o%03d", k))
			for _, seq := range []uint64{1, 3} { // 2 missing: held behind it under FIFO
				if err := e.Step("p", msgFrame(o, seq)); err != nil {
					t.Fatal(err)
				}
			}
			if k%50 == 0 {
				e.Tick() // spread their times a little
			}
		}
		promise := e.Ticks() + uint64(e.NextDue())
		outputs, quiet := 0, 0
		for i := 0; i < 200; i++ {
			sent, got, lost := tr.sent, len(app.got), len(app.lost)
			e.Tick()
			if tr.sent != sent || len(app.got) != got || len(app.lost) != lost {
				outputs++
				if e.Ticks() < promise {
					t.Fatalf("FIFO %v: output during tick %d, before tick %d that NextDue named", fifo, e.Ticks(), promise)
				}
			} else {
				quiet++
			}
			promise = max(promise, e.Ticks()+uint64(e.NextDue()))
		}
		if outputs == 0 || len(e.originList) > 1 || fifo && len(app.lost) < origins {
			t.Fatalf("FIFO %v: %d ticks with output, %d origins left, %d losses: the test covers nothing", fifo, outputs, len(e.originList), len(app.lost))
		}
		t.Logf("FIFO %v: %d ticks with output, %d quiet", fifo, outputs, quiet)
	}
}
