package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// Handler is one simulated node's protocol: the simulator calls Tick every
// tick interval of virtual time and Receive for every frame that reaches the
// node. Both run on the simulator's single goroutine, one call at a time;
// they may send (through the node's Endpoint) and schedule timers, but must
// not block. A crashed node gets neither call.
type Handler interface {
	Tick()
	Receive(from int, frame []byte)
}

// Config configures a Network.
type Config struct {
	// Nodes is the population size; nodes are numbered 0..Nodes-1.
	Nodes int
	// Seed seeds every random choice the network makes (latency, loss,
	// tick phases, crash selection). The same seed and the same calls give
	// the same run, bit for bit.
	Seed uint64
	// TickInterval is the virtual time between two Tick calls of a node
	// (the gossip round length). 0 disables ticks.
	TickInterval time.Duration
	// TickPhase places each node's first tick. Aligned (the default) ticks
	// every node at TickInterval, 2·TickInterval, ...: the round-synchronous
	// model of the analyses. RandomPhase offsets each node uniformly in
	// [0, TickInterval), as unsynchronised real clocks are.
	TickPhase Phase
	// Latency is the one-way delay of a frame: one sent at t arrives at
	// t+Latency (plus any extra delay the sender asks for). nil means 0.
	// See Fixed, Uniform, Normal, LogNormal and PerLink.
	Latency Latency
	// Loss is the probability that a frame is lost, on every link.
	// Per-node and per-link rates can be added with SetNodeLoss/SetLinkLoss.
	Loss float64
}

// Phase selects how node ticks are placed in time.
type Phase uint8

const (
	// Aligned ticks all nodes at the same instants (round-synchronous).
	Aligned Phase = iota
	// RandomPhase gives each node a random offset within the interval.
	RandomPhase
)

// Counters are one node's traffic counters. Sent counts what the node handed
// to the network (lost frames included); Recv what reached it.
type Counters struct {
	FramesSent, BytesSent uint64
	FramesRecv, BytesRecv uint64
	// Dropped counts frames sent by this node that never arrived, by
	// cause.
	DroppedLoss, DroppedPartition, DroppedCrash uint64
}

// Add returns the sum of two Counters.
func (c Counters) Add(o Counters) Counters {
	c.FramesSent += o.FramesSent
	c.BytesSent += o.BytesSent
	c.FramesRecv += o.FramesRecv
	c.BytesRecv += o.BytesRecv
	c.DroppedLoss += o.DroppedLoss
	c.DroppedPartition += o.DroppedPartition
	c.DroppedCrash += o.DroppedCrash
	return c
}

// EventKind says what happened to a frame, for a Tap.
type EventKind uint8

// Frame events reported to a Tap.
const (
	EvSend           EventKind = iota // handed to the network
	EvDeliver                         // handed to the receiver's Handler
	EvDropLoss                        // lost to the loss rate
	EvDropPartition                   // blocked by a partition
	EvDropCrash                       // receiver was down on arrival
	EvDropNoHandler                   // receiver has no Handler
	EvDropBadAddress                  // destination not a node of this network
	numEventKinds
)

func (k EventKind) String() string {
	return [...]string{"send", "deliver", "drop-loss", "drop-partition", "drop-crash", "drop-no-handler", "drop-bad-address"}[k]
}

// Event is one frame event, reported to the Tap if one is set.
type Event struct {
	Kind     EventKind
	At       time.Duration
	From, To int
	Size     int
}

// Network is a discrete-event simulation of Nodes nodes behind a network
// with latency, loss, crashes and partitions, in virtual time.
//
// A Network is not safe for concurrent use; it runs on the goroutine that
// calls Run (or Step).
type Network struct {
	cfg  Config
	rng  *rand.Rand
	now  time.Duration
	seq  uint64
	q    queue
	stop bool

	handlers []Handler
	eps      []Endpoint
	up       []bool
	group    []int32 // partition group per node; nil: no partition
	counters []Counters
	nodeLoss []float64 // nil unless SetNodeLoss was called
	linkLoss map[[2]int32]float64
	tickIvl  []time.Duration // nil unless SetTickInterval was called
	ticking  []bool
	custom   []bool // nodes with their own tick interval; nil: none

	batchScheduled bool

	// Tap, if set, is called for every frame event.
	Tap func(Event)

	processed  uint64
	sentFrames uint64 // frames handed to the network by live nodes
}

// Errors.
var (
	ErrBadConfig = errors.New("grapevine/sim: invalid config")
)

// New returns a network of cfg.Nodes nodes, all up, none with a Handler yet.
func New(cfg Config) (*Network, error) {
	if cfg.Nodes < 1 || cfg.Nodes > MaxNodes {
		return nil, fmt.Errorf("%w: Nodes must be in [1, %d], got %d", ErrBadConfig, MaxNodes, cfg.Nodes)
	}
	if cfg.TickInterval < 0 {
		return nil, fmt.Errorf("%w: negative TickInterval", ErrBadConfig)
	}
	if cfg.Loss < 0 || cfg.Loss > 1 || cfg.Loss != cfg.Loss {
		return nil, fmt.Errorf("%w: Loss must be in [0, 1], got %v", ErrBadConfig, cfg.Loss)
	}
	if cfg.TickPhase > RandomPhase {
		return nil, fmt.Errorf("%w: unknown TickPhase %d", ErrBadConfig, cfg.TickPhase)
	}
	if cfg.Latency == nil {
		cfg.Latency = Fixed(0)
	}
	n := &Network{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x6772617065766e65)),
		handlers: make([]Handler, cfg.Nodes),
		eps:      make([]Endpoint, cfg.Nodes),
		up:       make([]bool, cfg.Nodes),
		counters: make([]Counters, cfg.Nodes),
		ticking:  make([]bool, cfg.Nodes),
	}
	for i := range n.eps {
		n.eps[i] = Endpoint{net: n, idx: int32(i)}
		n.up[i] = true
	}
	return n, nil
}

// Len returns the number of nodes.
func (n *Network) Len() int { return n.cfg.Nodes }

// Config returns the network's configuration.
func (n *Network) Config() Config { return n.cfg }

// Now returns the current virtual time.
func (n *Network) Now() time.Duration { return n.now }

// Rand returns the network's random source. Handlers and experiments may
// draw from it (on the simulator's goroutine) to stay reproducible; give
// each node its own source (NodeRand) when per-node streams must not
// depend on one another.
func (n *Network) Rand() *rand.Rand { return n.rng }

// NodeRand returns a new random source for node i derived from the
// network's seed and i alone.
func (n *Network) NodeRand(i int) *rand.Rand {
	return rand.New(rand.NewPCG(n.cfg.Seed^0x9e3779b97f4a7c15, uint64(i)+1))
}

// Endpoint returns node i's endpoint (its way to send and set timers).
func (n *Network) Endpoint(i int) *Endpoint { return &n.eps[i] }

// Counters returns node i's traffic counters.
func (n *Network) Counters(i int) Counters { return n.counters[i] }

// Total returns the sum of all nodes' counters.
func (n *Network) Total() Counters {
	var t Counters
	for i := range n.counters {
		t = t.Add(n.counters[i])
	}
	return t
}

// Processed returns how many events the network has processed.
func (n *Network) Processed() uint64 { return n.processed }

// Pending returns how many events are scheduled.
func (n *Network) Pending() int { return len(n.q) }

// SetHandler installs node i's Handler and, if the network ticks, starts
// its ticks: with Aligned phase at the next multiple of its tick interval,
// with RandomPhase after a random offset within one interval. Installing a
// new Handler later replaces the old one and keeps the tick schedule.
func (n *Network) SetHandler(i int, h Handler) {
	n.handlers[i] = h
	if h == nil || n.ticking[i] {
		return
	}
	ivl := n.interval(i)
	if ivl <= 0 {
		return
	}
	n.ticking[i] = true
	if n.inBatch(i) {
		if !n.batchScheduled {
			n.batchScheduled = true
			n.push(event{at: (n.now/ivl + 1) * ivl, kind: evTickAll, to: -1})
		}
		return
	}
	first := (n.now/ivl + 1) * ivl
	if n.cfg.TickPhase == RandomPhase {
		first = n.now + time.Duration(n.rng.Int64N(int64(ivl))) + 1
	}
	n.push(event{at: first, kind: evTick, to: int32(i)})
}

// inBatch reports whether node i ticks with the population's shared aligned
// schedule (one event per instant for all such nodes) rather than its own.
func (n *Network) inBatch(i int) bool {
	return n.cfg.TickPhase == Aligned && n.cfg.TickInterval > 0 && (n.custom == nil || !n.custom[i])
}

// tickAll ticks every node on the shared aligned schedule, in index order.
func (n *Network) tickAll() {
	for i, h := range n.handlers {
		if h != nil && n.ticking[i] && n.up[i] && (n.custom == nil || !n.custom[i]) {
			h.Tick()
		}
	}
	n.push(event{at: n.now + n.cfg.TickInterval, kind: evTickAll, to: -1})
}

// Handler returns node i's Handler.
func (n *Network) Handler(i int) Handler { return n.handlers[i] }

// SetTickInterval gives node i its own tick interval (0 stops its ticks).
// The node leaves the shared schedule; if it is already ticking, its next
// tick comes d from now.
func (n *Network) SetTickInterval(i int, d time.Duration) {
	if n.tickIvl == nil {
		n.tickIvl = make([]time.Duration, n.cfg.Nodes)
		for j := range n.tickIvl {
			n.tickIvl[j] = n.cfg.TickInterval
		}
		n.custom = make([]bool, n.cfg.Nodes)
	}
	n.tickIvl[i] = max(d, 0)
	wasBatch := !n.custom[i] && n.cfg.TickPhase == Aligned && n.cfg.TickInterval > 0
	n.custom[i] = true
	switch {
	case n.ticking[i] && wasBatch && d > 0:
		n.push(event{at: n.now + d, kind: evTick, to: int32(i)})
	case n.ticking[i] && wasBatch:
		n.ticking[i] = false
	case !n.ticking[i] && n.handlers[i] != nil && d > 0:
		n.ticking[i] = true
		n.push(event{at: n.now + d, kind: evTick, to: int32(i)})
	}
}

func (n *Network) interval(i int) time.Duration {
	if n.tickIvl != nil {
		return n.tickIvl[i]
	}
	return n.cfg.TickInterval
}

// ---- faults ----

// Up reports whether node i is running (not crashed).
func (n *Network) Up(i int) bool { return n.up[i] }

// Crash stops node i now: it gets no more ticks, timers or frames, and what
// it sends is ignored, until Recover. Frames in flight to it are lost when
// they arrive. Its Handler keeps its state (a crash-recover model; install
// a fresh Handler with SetHandler to model a restart with amnesia).
func (n *Network) Crash(i int) { n.up[i] = false }

// Recover restarts node i after a crash.
func (n *Network) Recover(i int) { n.up[i] = true }

// CrashAt crashes node i at virtual time t.
func (n *Network) CrashAt(t time.Duration, i int) { n.At(t, func() { n.Crash(i) }) }

// RecoverAt recovers node i at virtual time t.
func (n *Network) RecoverAt(t time.Duration, i int) { n.At(t, func() { n.Recover(i) }) }

// CrashFraction crashes round(frac·Nodes) nodes chosen uniformly at random
// among those up (never the ones listed in keep) and returns them, sorted.
func (n *Network) CrashFraction(frac float64, keep ...int) []int {
	cand := make([]int, 0, n.cfg.Nodes)
	for i := 0; i < n.cfg.Nodes; i++ {
		if n.up[i] && !contains(keep, i) {
			cand = append(cand, i)
		}
	}
	k := int(frac*float64(n.cfg.Nodes) + 0.5)
	k = max(0, min(k, len(cand)))
	for i := 0; i < k; i++ { // partial Fisher-Yates
		j := i + n.rng.IntN(len(cand)-i)
		cand[i], cand[j] = cand[j], cand[i]
	}
	out := cand[:k]
	sortInts(out)
	for _, i := range out {
		n.Crash(i)
	}
	return out
}

// CrashFractionAt schedules CrashFraction at virtual time t; done, if not
// nil, receives the crashed nodes.
func (n *Network) CrashFractionAt(t time.Duration, frac float64, done func([]int), keep ...int) {
	n.At(t, func() {
		c := n.CrashFraction(frac, keep...)
		if done != nil {
			done(c)
		}
	})
}

// Partition splits the network: each listed group can talk only within
// itself; nodes not listed form one more group together. Frames already in
// flight across the new boundary are lost when they arrive.
func (n *Network) Partition(groups ...[]int) {
	g := make([]int32, n.cfg.Nodes) // unlisted: group 0
	for gi, grp := range groups {
		for _, i := range grp {
			g[i] = int32(gi + 1)
		}
	}
	n.group = g
}

// Heal removes any partition.
func (n *Network) Heal() { n.group = nil }

// PartitionAt partitions at virtual time t.
func (n *Network) PartitionAt(t time.Duration, groups ...[]int) {
	n.At(t, func() { n.Partition(groups...) })
}

// HealAt heals at virtual time t.
func (n *Network) HealAt(t time.Duration) { n.At(t, n.Heal) }

// Connected reports whether a frame from a to b would cross no partition.
func (n *Network) Connected(a, b int) bool { return n.group == nil || n.group[a] == n.group[b] }

// SetLoss changes the global loss rate.
func (n *Network) SetLoss(p float64) { n.cfg.Loss = clamp01(p) }

// SetNodeLoss sets an extra loss rate on every frame node i sends or
// receives (independent of the global and per-link rates).
func (n *Network) SetNodeLoss(i int, p float64) {
	if n.nodeLoss == nil {
		n.nodeLoss = make([]float64, n.cfg.Nodes)
	}
	n.nodeLoss[i] = clamp01(p)
}

// SetLinkLoss sets an extra loss rate on frames from a to b (one
// direction).
func (n *Network) SetLinkLoss(a, b int, p float64) {
	if n.linkLoss == nil {
		n.linkLoss = make(map[[2]int32]float64)
	}
	n.linkLoss[[2]int32{int32(a), int32(b)}] = clamp01(p)
}

// lost draws whether a frame from a to b is lost.
func (n *Network) lost(a, b int) bool {
	keep := 1 - n.cfg.Loss
	if n.nodeLoss != nil {
		keep *= (1 - n.nodeLoss[a]) * (1 - n.nodeLoss[b])
	}
	if n.linkLoss != nil {
		keep *= 1 - n.linkLoss[[2]int32{int32(a), int32(b)}]
	}
	if keep >= 1 {
		return false
	}
	return n.rng.Float64() >= keep
}

// ---- scheduling ----

// At runs fn at virtual time t (now, if t is in the past), after everything
// already scheduled for t.
func (n *Network) At(t time.Duration, fn func()) {
	if t < n.now {
		t = n.now
	}
	n.push(event{at: t, kind: evFunc, fn: fn, to: -1})
}

// After runs fn after virtual duration d.
func (n *Network) After(d time.Duration, fn func()) { n.At(n.now+d, fn) }

// Stop makes the running Run or RunUntil return after the current event.
func (n *Network) Stop() { n.stop = true }

// Step processes the next event. It returns false if none is left.
func (n *Network) Step() bool {
	if len(n.q) == 0 {
		return false
	}
	ev := n.pop()
	n.now = ev.at
	n.processed++
	switch ev.kind {
	case evTick:
		i := int(ev.to)
		if ivl := n.interval(i); ivl > 0 {
			n.push(event{at: n.now + ivl, kind: evTick, to: ev.to})
		} else {
			n.ticking[i] = false
		}
		if n.up[i] && n.handlers[i] != nil {
			n.handlers[i].Tick()
		}
	case evTickAll:
		n.tickAll()
	case evFrame:
		n.arrive(ev)
	case evFunc:
		ev.fn()
	case evTimer:
		if n.up[ev.to] {
			ev.fn()
		}
	}
	return true
}

// Run processes events until virtual time passes until (events at until
// included), Stop is called, or no event is left. It returns the number of
// events processed.
func (n *Network) Run(until time.Duration) uint64 {
	start := n.processed
	n.stop = false
	for !n.stop && len(n.q) > 0 && n.q[0].at <= until {
		n.Step()
	}
	if !n.stop && n.now < until {
		n.now = until
	}
	return n.processed - start
}

// RunFor runs for virtual duration d from now.
func (n *Network) RunFor(d time.Duration) uint64 { return n.Run(n.now + d) }

// RunUntil processes events until done returns true, virtual time would
// pass limit, Stop is called, or no event is left. done is checked before
// the first event and after all the events of each instant. It reports
// whether done returned true.
func (n *Network) RunUntil(done func() bool, limit time.Duration) bool {
	n.stop = false
	if done() {
		return true
	}
	for !n.stop && len(n.q) > 0 && n.q[0].at <= limit {
		t := n.q[0].at
		for len(n.q) > 0 && n.q[0].at == t && !n.stop {
			n.Step()
		}
		if done() {
			return true
		}
	}
	return false
}

// ---- frames ----

func (n *Network) send(from, to int, frame []byte, extra time.Duration) {
	if !n.up[from] {
		return // a crashed node sends nothing
	}
	n.sentFrames++
	c := &n.counters[from]
	c.FramesSent++
	c.BytesSent += uint64(len(frame))
	if n.Tap != nil {
		n.Tap(Event{Kind: EvSend, At: n.now, From: from, To: to, Size: len(frame)})
	}
	if to < 0 || to >= n.cfg.Nodes {
		n.drop(EvDropBadAddress, from, to, len(frame))
		return
	}
	if !n.Connected(from, to) {
		c.DroppedPartition++
		n.drop(EvDropPartition, from, to, len(frame))
		return
	}
	if n.lost(from, to) {
		c.DroppedLoss++
		n.drop(EvDropLoss, from, to, len(frame))
		return
	}
	d := n.cfg.Latency.Delay(n.rng, from, to)
	if d < 0 {
		d = 0
	}
	n.push(event{at: n.now + d + max(extra, 0), kind: evFrame, from: int32(from), to: int32(to), frame: frame})
}

func (n *Network) arrive(ev event) {
	from, to := int(ev.from), int(ev.to)
	switch {
	case !n.Connected(from, to):
		n.counters[from].DroppedPartition++
		n.drop(EvDropPartition, from, to, len(ev.frame))
		return
	case !n.up[to]:
		n.counters[from].DroppedCrash++
		n.drop(EvDropCrash, from, to, len(ev.frame))
		return
	case n.handlers[to] == nil:
		n.counters[from].DroppedCrash++
		n.drop(EvDropNoHandler, from, to, len(ev.frame))
		return
	}
	c := &n.counters[to]
	c.FramesRecv++
	c.BytesRecv += uint64(len(ev.frame))
	if n.Tap != nil {
		n.Tap(Event{Kind: EvDeliver, At: n.now, From: from, To: to, Size: len(ev.frame)})
	}
	n.handlers[to].Receive(from, ev.frame)
}

func (n *Network) drop(k EventKind, from, to, size int) {
	if n.Tap != nil {
		n.Tap(Event{Kind: k, At: n.now, From: from, To: to, Size: size})
	}
}

// ---- endpoints ----

// Endpoint is one node's attachment to the network: it sends frames and
// sets timers on behalf of the node. It implements core.Transport.
type Endpoint struct {
	net *Network
	idx int32
}

// Index returns the node's index.
func (e *Endpoint) Index() int { return int(e.idx) }

// Network returns the network the endpoint belongs to.
func (e *Endpoint) Network() *Network { return e.net }

// SendTo sends frame to node to. The network keeps the slice until it is
// delivered: the caller must not modify it afterwards.
func (e *Endpoint) SendTo(to int, frame []byte) { e.net.send(int(e.idx), to, frame, 0) }

// Send implements core.Transport: to must be an ID made by ID. Frames to
// any other ID are counted as sent and dropped (EvDropBadAddress).
func (e *Endpoint) Send(to core.NodeID, frame []byte) {
	i, ok := Index(to)
	if !ok || i >= e.net.cfg.Nodes {
		i = -1
	}
	e.net.send(int(e.idx), i, frame, 0)
}

// SendAfter sends frame to node to with extra delay added to the link
// latency (a sender-side queue, or a protocol phase).
func (e *Endpoint) SendAfter(to int, frame []byte, extra time.Duration) {
	e.net.send(int(e.idx), to, frame, extra)
}

// After runs fn after virtual duration d, unless the node is down then.
func (e *Endpoint) After(d time.Duration, fn func()) {
	e.net.push(event{at: e.net.now + max(d, 0), kind: evTimer, to: e.idx, fn: fn})
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func clamp01(p float64) float64 {
	if !(p > 0) {
		return 0
	}
	if p > 1 {
		return 1
	}
	return p
}
