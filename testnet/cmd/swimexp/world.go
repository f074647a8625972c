package main

import (
	"time"

	grapevine "github.com/grapevine-p2p/grapevine"
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// tick is the membership tick (100 ms in every profile); period the
// protocol period of the LAN profile.
const (
	tick   = 100 * time.Millisecond
	period = time.Second
)

// world is a population of memberlists (or grapevine.Nodes) on a simulated
// network.
type world struct {
	net     *sim.Network
	nodes   []*swimNode
	lim     core.Limits
	mcfg    func(i int, c *membership.Config)
	gossip  bool
	onEvent func(obs int, e membership.Event)
	onMsg   func(node int, m *core.Message)
	errs    int
	boot    bool
	// sendHook, if set before the nodes are made, sees every frame a
	// member hands to its transport (-trace hashes them).
	sendHook func(from int, to core.NodeID, frame []byte)
}

// hookTransport passes frames to the world's sendHook, then to the network.
type hookTransport struct {
	w   *world
	idx int
	ep  *sim.Endpoint
}

func (h *hookTransport) Send(to core.NodeID, frame []byte) {
	h.w.sendHook(h.idx, to, frame)
	h.ep.Send(to, frame)
}

type swimNode struct {
	w    *world
	idx  int
	ml   *membership.Memberlist
	gn   *grapevine.Node
	slow time.Duration // inbound processing delay (a CPU-starved member)
}

func (s *swimNode) Tick() {
	if s.gn != nil {
		s.gn.Tick()
		return
	}
	s.ml.Tick()
}

func (s *swimNode) Receive(from int, frame []byte) {
	if s.slow > 0 {
		s.w.net.Endpoint(s.idx).After(s.slow, func() { s.process(from, frame) })
		return
	}
	s.process(from, frame)
}

func (s *swimNode) process(from int, frame []byte) {
	if s.gn != nil {
		if err := s.gn.Step(sim.ID(from), frame); err != nil {
			s.w.errs++
		}
		return
	}
	f, err := core.DecodeFrame(frame, s.w.lim)
	if err != nil {
		s.w.errs++
		return
	}
	if s.ml.Step(sim.ID(from), f) != nil {
		s.w.errs++
	}
}

func (s *swimNode) Deliver(m *core.Message) {
	if s.w.onMsg != nil {
		s.w.onMsg(s.idx, m)
	}
}

type worldConfig struct {
	N        int // members at the start
	Capacity int // network size (≥ N; churn adds nodes)
	Seed     uint64
	Loss     float64
	Latency  sim.Latency
	Member   func(i int, c *membership.Config)
	Gossip   bool // run grapevine.Node (gossip over membership) instead of bare memberlists
	SendHook func(from int, to core.NodeID, frame []byte)
}

func newWorld(wc worldConfig) *world {
	if wc.Capacity < wc.N {
		wc.Capacity = wc.N
	}
	if wc.Latency == nil {
		wc.Latency = sim.Uniform{Min: time.Millisecond, Max: 10 * time.Millisecond}
	}
	net, err := sim.New(sim.Config{Nodes: wc.Capacity, Seed: wc.Seed, TickInterval: tick, Latency: wc.Latency, Loss: wc.Loss})
	if err != nil {
		panic(err)
	}
	w := &world{net: net, nodes: make([]*swimNode, wc.Capacity), lim: core.DefaultLimits(), mcfg: wc.Member, gossip: wc.Gossip, sendHook: wc.SendHook}
	seed := wc.Seed
	for i := 0; i < wc.N; i++ {
		w.add(i, seed)
	}
	// Start converged: every member receives one full-state exchange
	// listing the whole group alive (as after a join), so experiments
	// measure the steady state rather than the bootstrap.
	members := make([]membership.Member, wc.N)
	for i := range members {
		members[i] = membership.Member{ID: sim.ID(i), State: membership.StateAlive}
	}
	frames := membership.StateFrames(members, 60<<10)
	w.boot = true
	for i := 0; i < wc.N; i++ {
		for _, f := range frames {
			w.nodes[i].process(i, f)
		}
	}
	w.boot = false
	return w
}

// add creates node i (not joined) and installs it on the network.
func (w *world) add(i int, seed uint64) *swimNode {
	nd := &swimNode{w: w, idx: i}
	mc := membership.DefaultLANConfig()
	if w.mcfg != nil {
		w.mcfg(i, &mc)
	}
	mc.ID = sim.ID(i)
	mc.Transport = w.net.Endpoint(i)
	if w.sendHook != nil {
		mc.Transport = &hookTransport{w: w, idx: i, ep: w.net.Endpoint(i)}
	}
	mc.Seed = seed
	idx := i
	mc.Events = membership.EventFunc(func(e membership.Event) {
		if !w.boot && w.onEvent != nil {
			w.onEvent(idx, e)
		}
	})
	if w.gossip {
		gc := grapevine.DefaultConfig()
		gc.ID, gc.Transport, gc.App, gc.Events, gc.Seed = mc.ID, mc.Transport, nd, mc.Events, seed
		gc.Membership = mc
		n, err := grapevine.NewNode(gc)
		if err != nil {
			panic(err)
		}
		nd.gn, nd.ml = n, n.Membership()
	} else {
		ml, err := membership.New(mc)
		if err != nil {
			panic(err)
		}
		nd.ml = ml
	}
	w.nodes[i] = nd
	w.net.SetHandler(i, nd)
	return nd
}

// upMembers returns the indices of nodes that are up and have not left.
func (w *world) upMembers() []int {
	var out []int
	for i, nd := range w.nodes {
		if nd != nil && w.net.Up(i) && !nd.ml.Left() {
			out = append(out, i)
		}
	}
	return out
}

// converged reports whether every up member sees exactly the up members as
// alive (and nothing else as live).
func (w *world) converged() bool {
	up := w.upMembers()
	for _, i := range up {
		ml := w.nodes[i].ml
		if ml.Size() != len(up) {
			return false
		}
	}
	inUp := make([]bool, len(w.nodes))
	for _, i := range up {
		inUp[i] = true
	}
	for _, i := range up {
		for _, m := range w.nodes[i].ml.Members() {
			j, ok := sim.Index(m.ID)
			if !ok || !inUp[j] || m.State != membership.StateAlive {
				return false
			}
		}
	}
	return true
}

// periods converts a duration to protocol periods.
func periods(d time.Duration) float64 { return float64(d) / float64(period) }

// lifeguard selects the profile as it is (on) or plain SWIM as published
// (off): no Lifeguard, no repair, no fallback or out-of-turn probes, and
// memberlist's pre-Lifeguard suspicion multiplier of 4.
func lifeguard(on bool) func(int, *membership.Config) {
	return func(_ int, c *membership.Config) {
		if !on {
			c.Lifeguard, c.Repair, c.FallbackProbe, c.ProbeSuspects = false, false, false, false
			c.SuspicionMult = 4
		}
	}
}

func onOff(b bool) string {
	if b {
		return "Lifeguard + repair"
	}
	return "plain SWIM"
}
