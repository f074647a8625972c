// Package compare runs the classic multicast protocols of package baselines
// and core's gossip (push, pull, push-pull) in the same simulated network
// (testnet/sim) under the same scenarios, and measures delivery time,
// delivery fraction and message load. testnet/cmd/baselines turns the
// results into docs/experiments/baselines.md.
//
// # Workload
//
// Node 0 (sim.ID(0), "0") is the only source: it publishes Messages
// messages of Payload bytes, one every Interval. Node 0 never crashes.
//
// # Network
//
// Every node gets a random position in the unit square (from the seed);
// the one-way latency of a link is MinLatency plus (MaxLatency −
// MinLatency) times the distance over √2, the same for every frame of the
// link (a fixed topology, as SRM's distance estimates assume). Loss is
// independent per frame. The baselines tick every Tick (10 ms), SRM every
// SRMTick (1 ms: its request and repair timers are multiples of link
// delays of 5-50 ms, and a coarser clock would fire many timers in the same
// tick, defeating suppression); the gossip
// engines run one round per GossipRound (100 ms) with eager push, so a push
// crosses the group at hop latency.
//
// # Metrics
//
// For each message: the time from its publication until 99 % and 100 % of
// the live nodes (those not crashed at the end of the run) delivered it.
// A run reports the worst message (the stream is delivered to 99 % within
// T99). Delivered is the fraction of (live node, message) pairs delivered.
// Frames per node is the total frames handed to the network up to the last
// delivery of the run, divided by the number of live nodes; Max node is the
// most any one node had sent by then. A multicast to m members counts m
// frames (see package baselines).
package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/baselines"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// Protocols, in table order.
var Protocols = []string{"centralized", "tree", "srm", "rmtp", "push", "pull", "push-pull"}

// Scenario is one fault setting.
type Scenario struct {
	Name  string
	Loss  float64 // per-frame loss probability
	Crash float64 // fraction of nodes crashed at the start (never the source)
	// CrashInternal crashes the tree's first internal node (the root's
	// first child, whose subtree holds about 1/k of the nodes) when the
	// middle message of the stream is published — in every protocol, so
	// the same node fails everywhere.
	CrashInternal bool
}

// Scenarios, in table order.
var Scenarios = []Scenario{
	{Name: "no faults"},
	{Name: "10% loss", Loss: 0.10},
	{Name: "50% loss", Loss: 0.50},
	{Name: "10% crashed", Crash: 0.10},
	{Name: "50% crashed", Crash: 0.50},
	{Name: "internal node crash", CrashInternal: true},
}

// Params are the parameters of one run.
type Params struct {
	Protocol string
	Scenario Scenario
	N        int
	Seed     uint64

	Messages int
	Interval time.Duration
	Payload  int

	Tick        time.Duration // baselines' tick
	SRMTick     time.Duration // SRM's tick: its timers scale with link delays, so finer
	GossipRound time.Duration // gossip engines' round
	MinLatency  time.Duration
	MaxLatency  time.Duration

	// A run stops when every live node has every message, when no
	// delivery happened for Quiet, or Horizon after the last publication
	// (plus, for the centralized sender, the time its uplink needs).
	Quiet   time.Duration
	Horizon time.Duration

	// Protocol settings (defaults from the packages if zero).
	Arity        int // tree
	SendsPerTick int // centralized
	Fanout       int // gossip
	// SRMD sets SRM's D1 = D2; 0 means max(1, log10 n).
	SRMD float64
}

// DefaultParams returns the parameters the table uses.
func DefaultParams() Params {
	return Params{
		Messages: 10, Interval: 50 * time.Millisecond, Payload: 64,
		Tick: 10 * time.Millisecond, SRMTick: time.Millisecond, GossipRound: 100 * time.Millisecond,
		MinLatency: 5 * time.Millisecond, MaxLatency: 50 * time.Millisecond,
		Quiet: 5 * time.Second, Horizon: 30 * time.Second,
		Arity: 4, SendsPerTick: 100, Fanout: 3,
	}
}

// Point is one sample of a delivery curve.
type Point struct {
	At       time.Duration // since the first publication
	Fraction float64       // of (live node, message) pairs delivered
}

// Result is the outcome of one run.
type Result struct {
	Params
	Live      int
	T99, T100 time.Duration // worst message; -1 if never reached
	Delivered float64
	// FramesPerNode is the frames all nodes had sent when the last
	// delivery of the run happened, over the live nodes; MaxNode the most
	// one node had sent by then. Counting to the last delivery rather than
	// to the end of the run keeps the periodic traffic of a run that never
	// completes (heartbeats, statuses, pull requests while waiting for the
	// quiet period) from inflating its figures. FramesTotal counts every
	// frame of the run.
	FramesPerNode float64
	MaxNode       uint64
	FramesTotal   uint64
	Duration      time.Duration // virtual time simulated
	Events        uint64
	Curve         []Point         // delivered fraction over time, rising; the last point is the end of the run
	Stats         baselines.Stats // summed over nodes (baselines only)
	Gossip        core.Stats      // summed over nodes (gossip only)
}

// coords is the latency model: fixed per link, from positions in the unit
// square.
type coords struct {
	x, y     []float32
	min, max time.Duration
}

func (c *coords) latency(a, b int) time.Duration {
	dx, dy := float64(c.x[a]-c.x[b]), float64(c.y[a]-c.y[b])
	d := math.Sqrt(dx*dx+dy*dy) / math.Sqrt2
	return c.min + time.Duration(d*float64(c.max-c.min))
}

// Delay implements sim.Latency.
func (c *coords) Delay(_ *rand.Rand, a, b int) time.Duration { return c.latency(a, b) }

// tracker records deliveries.
type tracker struct {
	n, m      int
	when      []time.Duration // n·m, -1 if not delivered
	excluded  []bool          // crashed nodes (not counted)
	target    int             // deliveries needed for completion
	count     int
	lastAt    time.Duration
	published []time.Duration

	epoch     uint64 // deliveries so far
	frames    []uint64
	snap      []uint64
	snapEpoch []uint64
}

func (t *tracker) deliver(node int, seq uint64, at time.Duration) {
	if seq < 1 || int(seq) > t.m {
		return
	}
	i := node*t.m + int(seq) - 1
	if t.when[i] >= 0 {
		return
	}
	t.when[i] = at
	if !t.excluded[node] {
		t.count++
		t.lastAt = at
		t.epoch++
	}
}

// sent counts a frame sent by node; the counts as they stood at the last
// delivery are kept too (see Result.FramesPerNode).
func (t *tracker) sent(node int) {
	if t.snapEpoch[node] != t.epoch {
		t.snap[node] = t.frames[node]
		t.snapEpoch[node] = t.epoch
	}
	t.frames[node]++
}

// framesAtLastDelivery returns what node had sent when the last delivery
// happened.
func (t *tracker) framesAtLastDelivery(node int) uint64 {
	if t.snapEpoch[node] == t.epoch {
		return t.snap[node]
	}
	return t.frames[node]
}

type app struct {
	t    *tracker
	node int
	net  *sim.Network
}

func (a *app) Deliver(m *core.Message) { a.t.deliver(a.node, m.Seq, a.net.Now()) }

// node is a baseline protocol node.
type node interface {
	Tick()
	Step(from core.NodeID, frame []byte) error
	Stats() baselines.Stats
}

type handler struct {
	nd  node
	ids []core.NodeID
}

func (h *handler) Tick() { h.nd.Tick() }
func (h *handler) Receive(from int, frame []byte) {
	_ = h.nd.Step(h.ids[from], frame) // malformed input is counted in the node's stats
}

// Run performs one run.
func Run(p Params) (*Result, error) {
	if !slices.Contains(Protocols, p.Protocol) {
		return nil, fmt.Errorf("compare: unknown protocol %q", p.Protocol)
	}
	if p.N < 3 || p.Messages < 1 {
		return nil, fmt.Errorf("compare: need at least 3 nodes and 1 message")
	}
	gossip := p.Protocol == "push" || p.Protocol == "pull" || p.Protocol == "push-pull"
	tick := p.Tick
	if gossip {
		tick = p.GossipRound
	} else if p.Protocol == "srm" {
		tick = p.SRMTick
	}
	// Positions come from their own stream so that every protocol of a
	// seed sees the same topology.
	c := &coords{x: make([]float32, p.N), y: make([]float32, p.N), min: p.MinLatency, max: p.MaxLatency}
	prng := newRand(p.Seed, 1)
	for i := range c.x {
		c.x[i], c.y[i] = prng.Float32(), prng.Float32()
	}
	net, err := sim.New(sim.Config{Nodes: p.N, Seed: p.Seed, TickInterval: tick, Latency: c, Loss: p.Scenario.Loss})
	if err != nil {
		return nil, err
	}
	ids := sim.IDs(p.N)
	tr := &tracker{n: p.N, m: p.Messages, when: make([]time.Duration, p.N*p.Messages), excluded: make([]bool, p.N)}
	for i := range tr.when {
		tr.when[i] = -1
	}
	tr.frames, tr.snap, tr.snapEpoch = make([]uint64, p.N), make([]uint64, p.N), make([]uint64, p.N)
	for i := range tr.snapEpoch {
		tr.snapEpoch[i] = math.MaxUint64
	}
	net.Tap = func(ev sim.Event) {
		if ev.Kind == sim.EvSend {
			tr.sent(ev.From)
		}
	}
	group, err := baselines.NewGroup(ids)
	if err != nil {
		return nil, err
	}
	victim := -1
	if p.Scenario.CrashInternal {
		victim, _ = sim.Index(baselines.TreeMember(group, ids[0], 1))
	}
	// Crashes at the start: chosen by the network's seeded source, so the
	// same nodes fail for every protocol of a seed.
	if p.Scenario.Crash > 0 {
		for _, i := range net.CrashFraction(p.Scenario.Crash, 0) {
			tr.excluded[i] = true
		}
	}
	if victim >= 0 {
		tr.excluded[victim] = true
	}
	live := 0
	for _, x := range tr.excluded {
		if !x {
			live++
		}
	}
	tr.target = live * p.Messages

	var publish func() error
	var nodes []node
	var gsp *sim.Gossip
	if gossip {
		ec := core.DefaultConfig()
		ec.Mode, _ = core.ParseMode(p.Protocol)
		ec.Fanout = p.Fanout
		gsp, err = sim.NewGossip(net, sim.GossipConfig{Engine: ec, OnDeliver: func(i int, m *core.Message, at time.Duration) {
			tr.deliver(i, m.Seq, at)
		}})
		if err != nil {
			return nil, err
		}
		payload := make([]byte, p.Payload)
		publish = func() error { _, err := gsp.Publish(0, "t", payload, 0); return err }
	} else {
		nodes, publish, err = buildBaseline(p, net, ids, group, c, tr)
		if err != nil {
			return nil, err
		}
	}

	// The stream.
	var pubErr error
	for k := 0; k < p.Messages; k++ {
		at := time.Duration(k) * p.Interval
		net.At(at, func() {
			if victim >= 0 && k == p.Messages/2 {
				net.Crash(victim)
			}
			tr.published = append(tr.published, net.Now())
			if err := publish(); err != nil && pubErr == nil {
				pubErr = err
			}
		})
	}
	lastPub := time.Duration(p.Messages-1) * p.Interval
	limit := lastPub + p.Horizon
	if p.Protocol == "centralized" {
		rate := float64(p.SendsPerTick) / p.Tick.Seconds()
		limit += time.Duration(1.5 * float64(p.N*p.Messages) / rate * float64(time.Second))
	}
	// Stop when nothing was delivered for Quiet.
	var watch func()
	lastCount := -1
	lastChange := time.Duration(0)
	watch = func() {
		if tr.count != lastCount {
			lastCount, lastChange = tr.count, net.Now()
		} else if net.Now() > lastPub && net.Now()-lastChange >= p.Quiet {
			net.Stop()
			return
		}
		net.After(p.Quiet/10, watch)
	}
	net.At(0, watch)
	net.RunUntil(func() bool { return len(tr.published) == p.Messages && tr.count >= tr.target }, limit)
	if pubErr != nil {
		return nil, pubErr
	}

	res := &Result{Params: p, Live: live, Duration: net.Now(), Events: net.Processed()}
	res.T99, res.T100 = -1, -1
	worst99, worst100 := time.Duration(0), time.Duration(0)
	ok99, ok100 := true, true
	times := make([]time.Duration, 0, live)
	var all []time.Duration
	for k := 0; k < p.Messages; k++ {
		times = times[:0]
		for i := 0; i < p.N; i++ {
			if !tr.excluded[i] {
				if w := tr.when[i*p.Messages+k]; w >= 0 {
					times = append(times, w)
				}
			}
		}
		slices.Sort(times)
		pub := time.Duration(k) * p.Interval
		if k < len(tr.published) {
			pub = tr.published[k]
		}
		need99 := int(math.Ceil(0.99 * float64(live)))
		if len(times) >= need99 {
			worst99 = max(worst99, times[need99-1]-pub)
		} else {
			ok99 = false
		}
		if len(times) == live {
			worst100 = max(worst100, times[live-1]-pub)
		} else {
			ok100 = false
		}
		all = append(all, times...)
	}
	if ok99 {
		res.T99 = worst99
	}
	if ok100 {
		res.T100 = worst100
	}
	res.Delivered = float64(len(all)) / float64(tr.target)
	var total uint64
	for i := 0; i < p.N; i++ {
		s := tr.framesAtLastDelivery(i)
		total += s
		res.MaxNode = max(res.MaxNode, s)
		res.FramesTotal += net.Counters(i).FramesSent
	}
	res.FramesPerNode = float64(total) / float64(live)
	// Delivery curve: the instants at which the delivered fraction
	// passed each 1/200 of what was delivered in the end (exact at every
	// time scale), and the end of the run.
	slices.Sort(all)
	const samples = 200
	for s := 1; s <= samples && len(all) > 0; s++ {
		i := (len(all)*s+samples-1)/samples - 1
		pt := Point{At: all[i], Fraction: float64(i+1) / float64(tr.target)}
		if len(res.Curve) == 0 || res.Curve[len(res.Curve)-1] != pt {
			res.Curve = append(res.Curve, pt)
		}
	}
	res.Curve = append(res.Curve, Point{At: res.Duration, Fraction: res.Delivered})
	for _, nd := range nodes {
		res.Stats = addStats(res.Stats, nd.Stats())
	}
	if gsp != nil {
		res.Gossip = gsp.Stats()
	}
	return res, nil
}
