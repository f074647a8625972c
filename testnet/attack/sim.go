package attack

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	grapevine "github.com/grapevine-p2p/grapevine"
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// The protocol attacks in the deterministic simulator: the same engines,
// guard and hostile frames as on real hosts (protocol.go), with libp2p
// identities and real ed25519 signatures, but in virtual time, so that a
// run of many seeds takes seconds and gives the same figures every time.
//
// Each node runs what a p2p.Peer runs (grapevine.Node with the LAN
// profile, p2p.GuardProfile's guard on the simulator's clock,
// authenticated membership); the harness plays p2p's part around it: it
// drops frames from and to a peer a node penalizes (p2p resets such a
// peer's streams and refuses it) and runs the driver's gap-want and
// tree-ack timers. The hostile member is such a node too (it joined and is
// believed like any member) that also sends hand-made frames (frames.go).

// SimConfig is one protocol attack in the simulator.
type SimConfig struct {
	Kind     ProtoKind
	Honest   int           // honest nodes (at least 3; default 8): node 1 publishes, node 2 a burst for Replay
	Seed     uint64        // keys, latencies, loss and every random choice
	Duration time.Duration // virtual time of the attack while node 1 publishes (default 20 s)
	Rate     int           // messages a second node 1 publishes (default 50, as on real hosts; the spammer 10×)
	Size     int           // payload bytes (default 256)
	Origins  int           // invented origins for OriginFlood (default 2,000)
	Loss     float64       // frame loss of every link
}

func (c *SimConfig) defaults() {
	if c.Honest == 0 {
		c.Honest = 8
	}
	c.Honest = max(c.Honest, 3)
	if c.Duration == 0 {
		c.Duration = 20 * time.Second
	}
	if c.Rate == 0 {
		c.Rate = 50
	}
	if c.Size == 0 {
		c.Size = 256
	}
	if c.Origins == 0 {
		c.Origins = 2000
	}
}

// SimResult is what a simulated run measured over the honest nodes.
type SimResult struct {
	SimConfig
	DeclaredDead    int // failure events about honest members, over all honest nodes
	Suspected       int // suspicion events about honest members (refuted ones included)
	Expected        int // each honest message at each honest node but its origin
	Delivered       int // of those, delivered
	Duplicates      int // deliveries of a message already delivered at that node (any origin)
	AttackerMsgs    int // first deliveries at honest nodes of messages the attacker published or invented
	P99             time.Duration
	Penalizing      int           // honest nodes that penalized the attacker
	PenaltyAfter    time.Duration // attack start to the first penalty of the attacker (0: none)
	HonestPenalized int           // penalties of honest nodes by honest nodes (must be 0)
	Offences        map[string]uint64
	HeapGrowth      uint64 // peak HeapAlloc growth during the attack (whole process), divided by HeapPerPeer
	HostileFrames   int
	Joined          time.Duration // virtual time until every node listed every node alive
}

// HeapPerPeer is the process's heap growth per honest node.
func (r SimResult) HeapPerPeer() uint64 { return r.HeapGrowth / uint64(max(r.Honest, 1)) }

func (r SimResult) String() string {
	pen := "no"
	if r.Penalizing > 0 {
		pen = fmt.Sprintf("yes, %d/%d, after %v", r.Penalizing, r.Honest, r.PenaltyAfter.Round(time.Millisecond))
	}
	return fmt.Sprintf("%-13s seed %d: dead %d (suspicions %d), delivered %d/%d, duplicates %d, attacker's %d, p99 %v, heap %.1f MiB/peer, penalized %s, honest penalized %d, offences %v, %d hostile frames",
		r.Kind, r.Seed, r.DeclaredDead, r.Suspected, r.Delivered, r.Expected, r.Duplicates, r.AttackerMsgs,
		r.P99.Round(100*time.Microsecond), float64(r.HeapPerPeer())/(1<<20), pen, r.HonestPenalized, r.Offences, r.HostileFrames)
}

// simEpoch is the wall-clock time of the simulator's time zero: the
// guard's clock, and the messages' and incarnations' time base.
var simEpoch = time.Unix(1_800_000_000, 0)

// simTick is the LAN profile's tick.
const simTick = 100 * time.Millisecond

type simWorld struct {
	cfg      SimConfig
	group    string
	net      *sim.Network
	nodes    []*simNode
	ids      []core.NodeID
	keys     []crypto.PrivKey
	index    map[core.NodeID]int
	atk      int // the hostile node's index (the last)
	t0       time.Duration
	honestID map[core.NodeID]bool

	published map[core.MsgKey]time.Duration // honest messages and when
	seen      []map[core.MsgKey]bool        // per node
	lat       []time.Duration
	recorded  []*core.Message // what the hostile member delivered (Replay)
	penaltyAt []time.Duration // per honest node: when it penalized the attacker (0: not)
	res       SimResult
	timers    []sim.EngineTimers // per node: the driver's gap-want and tree-ack timers
}

type simNode struct {
	w   *simWorld
	idx int
	gn  *grapevine.Node
}

func (nd *simNode) Send(to core.NodeID, frame []byte) {
	if nd.Unreachable(to) {
		return
	}
	if j, ok := nd.w.index[to]; ok {
		nd.w.net.Endpoint(nd.idx).SendTo(j, frame)
	}
}

// Unreachable implements core.Reachability as p2p's transport does for a
// penalized peer: disconnected and refused, so tree push routes around it.
func (nd *simNode) Unreachable(id core.NodeID) bool { return nd.gn.Guard().Penalized(id) }

func (nd *simNode) Tick() {
	nd.gn.Tick()
	nd.w.arm(nd.idx)
}

func (nd *simNode) Receive(from int, frame []byte) {
	if nd.gn.Guard().Penalized(nd.w.ids[from]) {
		return // p2p resets a penalized peer's streams and refuses it
	}
	_ = nd.gn.Step(nd.w.ids[from], frame) // errors are the layers' refusals, counted and charged
	nd.w.arm(nd.idx)
}

func (nd *simNode) Deliver(m *core.Message) {
	w := nd.w
	k := m.Key()
	if w.seen[nd.idx][k] {
		w.res.Duplicates++
		return
	}
	w.seen[nd.idx][k] = true
	if nd.idx == w.atk {
		if w.cfg.Kind == Replay {
			w.recorded = append(w.recorded, m.Clone())
		}
		return
	}
	if at, ok := w.published[k]; ok {
		if m.Origin != w.ids[nd.idx] {
			w.res.Delivered++
			w.lat = append(w.lat, w.net.Now()-at)
		}
	} else if !w.honestID[m.Origin] {
		w.res.AttackerMsgs++
	}
}

// arm schedules node i's driver timers, as p2p's driver does.
func (w *simWorld) arm(i int) { w.timers[i].Arm(w.net.Endpoint(i), w.nodes[i].gn.Engine()) }

func (w *simWorld) now() time.Time { return simEpoch.Add(w.net.Now()) }

// simKeys returns n ed25519 identities drawn from a seeded stream.
func simKeys(n int, rnd *rand.ChaCha8) ([]crypto.PrivKey, error) {
	keys := make([]crypto.PrivKey, n)
	for i := range keys {
		sk, _, err := crypto.GenerateEd25519Key(rnd)
		if err != nil {
			return nil, err
		}
		keys[i] = sk
	}
	return keys, nil
}

func newSimWorld(cfg SimConfig) (*simWorld, *rand.ChaCha8, error) {
	n := cfg.Honest + 1
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], cfg.Seed)
	rnd := rand.NewChaCha8(seed)
	net, err := sim.New(sim.Config{Nodes: n, Seed: cfg.Seed, TickInterval: simTick, Loss: cfg.Loss,
		TickPhase: sim.RandomPhase, Latency: sim.Uniform{Min: 200 * time.Microsecond, Max: 2 * time.Millisecond}})
	if err != nil {
		return nil, nil, err
	}
	w := &simWorld{cfg: cfg, group: "attack-" + string(cfg.Kind), net: net, nodes: make([]*simNode, n),
		ids: make([]core.NodeID, n), index: map[core.NodeID]int{}, atk: n - 1, honestID: map[core.NodeID]bool{},
		published: map[core.MsgKey]time.Duration{}, seen: make([]map[core.MsgKey]bool, n),
		penaltyAt: make([]time.Duration, n), timers: make([]sim.EngineTimers, n)}
	w.res.SimConfig = cfg
	w.res.Offences = map[string]uint64{}
	if w.keys, err = simKeys(n, rnd); err != nil {
		return nil, nil, err
	}
	for i, sk := range w.keys {
		pid, err := peer.IDFromPrivateKey(sk)
		if err != nil {
			return nil, nil, err
		}
		w.ids[i] = p2p.NodeID(pid)
		w.index[w.ids[i]] = i
		w.seen[i] = map[core.MsgKey]bool{}
		w.timers[i].GapAskWait, w.timers[i].TreeAckWait = p2p.DriverWaits(p2p.ProfileLAN)
		if i != w.atk {
			w.honestID[w.ids[i]] = true
		}
	}
	for i := range w.nodes {
		nd := &simNode{w: w, idx: i}
		if nd.gn, err = grapevine.NewNode(w.nodeConfig(nd)); err != nil {
			return nil, nil, err
		}
		w.nodes[i] = nd
	}
	return w, rnd, nil
}

// nodeConfig is what a p2p.Peer of the LAN profile runs, on the simulator.
func (w *simWorld) nodeConfig(nd *simNode) grapevine.Config {
	i, sk := nd.idx, w.keys[nd.idx]
	cfg := grapevine.Config{ID: w.ids[i], Transport: nd, App: nd, Seed: w.cfg.Seed*1000 + uint64(i)}
	mc := p2p.MembershipProfile(p2p.ProfileLAN)
	mc.Signer = p2p.MembershipSigner(sk, w.group)
	mc.Verifier = p2p.MembershipVerifier(w.group)
	mc.Incarnation = uint64(simEpoch.UnixMilli())
	cfg.Membership = mc
	g := p2p.GuardProfile(w.group)
	g.Now = w.now
	if w.cfg.Kind == Replay {
		// A seen window short enough to pass in a run, as on real hosts.
		g.ReplayWindow, g.ClockSkew = replayWindow, replaySkew
	}
	if i != w.atk {
		g.OnOffence = func(from core.NodeID, o core.Offence) { w.res.Offences[o.String()]++ }
		g.OnPenalized = func(id core.NodeID, _ time.Time) {
			switch {
			case id == w.ids[w.atk] && w.penaltyAt[i] == 0:
				w.penaltyAt[i] = max(w.net.Now()-w.t0, 1)
			case w.honestID[id]:
				w.res.HonestPenalized++
			}
		}
		cfg.Events = membership.EventFunc(func(e membership.Event) {
			if !w.honestID[e.Member.ID] {
				return
			}
			switch e.Kind {
			case membership.EventFail:
				w.res.DeclaredDead++
			case membership.EventSuspect:
				w.res.Suspected++
			}
		})
	}
	cfg.Guard = &g
	gc := p2p.EngineProfile(p2p.ProfileLAN, false)
	gc.Signer = p2p.MessageSigner(sk, w.group)
	gc.FirstSeq = 1
	if w.cfg.Kind == Replay {
		gc.SeenTTL, gc.StoreTTL = 15, 15
	}
	p2p.CoverReplayWindow(&gc, g.ReplayWindow, g.ClockSkew, simTick)
	cfg.Gossip = gc
	return cfg
}

// converged reports whether every node lists every node alive.
func (w *simWorld) converged() bool {
	for _, nd := range w.nodes {
		if nd.gn.Membership().Size() != len(w.nodes) {
			return false
		}
		for _, m := range nd.gn.Members() {
			if m.State != membership.StateAlive {
				return false
			}
		}
	}
	return true
}

// every runs fn at t0+start and then every gap until the attack ends.
func (w *simWorld) every(start, gap time.Duration, fn func()) {
	end := w.t0 + w.cfg.Duration
	var step func()
	step = func() {
		if w.net.Now() >= end {
			return
		}
		fn()
		w.net.After(gap, step)
	}
	w.net.At(w.t0+start, step)
}

// sendHostile sends frame from the hostile node to every honest node.
func (w *simWorld) sendHostile(frame []byte) {
	ep := w.net.Endpoint(w.atk)
	for j := 0; j < w.atk; j++ {
		ep.SendTo(j, frame)
		w.res.HostileFrames++
	}
}

// publish has node i publish one message now (honest messages recorded).
func (w *simWorld) publish(i int) {
	m, err := w.nodes[i].gn.Publish("t", make([]byte, w.cfg.Size), core.WithTimestamp(w.now().UnixNano()))
	if err == nil && i != w.atk {
		w.published[m.Key()] = w.net.Now()
	}
	w.arm(i)
}

// RunSim runs one protocol attack in the simulator.
func RunSim(cfg SimConfig) (SimResult, error) {
	cfg.defaults()
	if cfg.Kind == Replay {
		cfg.Duration = max(cfg.Duration, 3500*time.Millisecond)
	}
	w, rnd, err := newSimWorld(cfg)
	if err != nil {
		return SimResult{}, err
	}
	net := w.net
	// Join: node 0 first, then one node a tick through node 0.
	net.SetHandler(0, w.nodes[0])
	for i := 1; i < len(w.nodes); i++ {
		net.At(time.Duration(i)*simTick+simTick/2, func() {
			net.SetHandler(i, w.nodes[i])
			w.nodes[i].gn.Join([]core.NodeID{w.ids[0]})
		})
	}
	if !net.RunUntil(w.converged, 60*time.Second) {
		return w.res, fmt.Errorf("%s seed %d: the group did not form within 60 s", cfg.Kind, cfg.Seed)
	}
	w.res.Joined = net.Now()
	net.RunFor(2 * time.Second) // settle
	w.t0 = net.Now()

	var flood [][]byte
	var crossGroup []recordedFrame
	switch cfg.Kind {
	case OriginFlood:
		if flood, err = inventedOrigins(cfg.Origins, cfg.Size, w.group, w.now().UnixNano(), rnd); err != nil {
			return w.res, err
		}
	case CrossGroup:
		// Genuine messages of node 1's identity, signed for another group.
		sign := p2p.MessageSigner(w.keys[1], w.group+"-b")
		var msgs []*core.Message
		for s := uint64(1); s <= 64; s++ {
			m := &core.Message{Origin: w.ids[1], Seq: s, Topic: "t", Timestamp: w.now().UnixNano(), Payload: make([]byte, cfg.Size)}
			if m.Auth, err = sign.Sign(m); err != nil {
				return w.res, err
			}
			msgs = append(msgs, m)
		}
		crossGroup = messageFrames(msgs)
	}

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0, heapPeak := ms.HeapAlloc, ms.HeapAlloc
	sampleHeap := func() {
		runtime.ReadMemStats(&ms)
		heapPeak = max(heapPeak, ms.HeapAlloc)
	}

	// The honest traffic: node 1 throughout, node 2 a burst of 32 at the
	// start for Replay (then silent: its messages age out of the window).
	w.every(0, time.Second/time.Duration(cfg.Rate), func() { w.publish(1) })
	if cfg.Kind == Replay {
		net.At(w.t0, func() {
			for k := 0; k < 32; k++ {
				w.publish(2)
			}
		})
	}
	victims := w.ids[:w.atk]
	atkNode := w.nodes[w.atk].gn
	switch cfg.Kind {
	case ForgedDead, IncOverflow, Sybil:
		sign := p2p.MembershipSigner(w.keys[w.atk], w.group)
		w.every(0, 50*time.Millisecond, func() {
			f, _ := accusationFrame(cfg.Kind, sign, w.ids[w.atk], victims, func(id core.NodeID) uint64 {
				m, _ := atkNode.Membership().Member(id)
				return m.Incarnation
			})
			w.sendHostile(f)
		})
	case Replay:
		w.every(0, 250*time.Millisecond, func() {
			for _, f := range messageFrames(w.recorded) {
				w.sendHostile(f.frame)
			}
		})
	case CrossGroup:
		w.every(0, 250*time.Millisecond, func() {
			for _, f := range crossGroup {
				w.sendHostile(f.frame)
			}
		})
	case OriginFlood:
		gap := cfg.Duration / 2 / time.Duration(max(len(flood), 1))
		k := 0
		w.every(0, gap, func() {
			w.sendHostile(flood[k%len(flood)])
			k++
		})
	case KeyBomb:
		bomb := keyBomb(w.ids[w.atk], core.DefaultLimits().MaxKeys+1)
		w.every(0, 100*time.Millisecond, func() { w.sendHostile(bomb) })
	case RelayFill:
		seq := uint64(1 << 40)
		w.every(0, 200*time.Millisecond, func() {
			w.sendHostile(relayFillFrame(seq, victims))
			seq += 256
		})
	case InvalidSig:
		seq := uint64(1 << 40)
		w.every(0, 50*time.Millisecond, func() {
			w.sendHostile(badSigFrame(victims, seq, w.now().UnixNano(), 64))
			seq += badSigPerFrame
		})
	case PublishSpam:
		w.every(0, time.Second/time.Duration(10*cfg.Rate), func() { w.publish(w.atk) })
	}

	// Run the attack, then drain; a run whose attacker should be
	// penalized goes on (at most 10 s) until one honest node has.
	end := w.t0 + cfg.Duration + 3*time.Second
	for net.Now() < end || (ExpectPenalty(ProtoConfig{Kind: cfg.Kind}) && w.firstPenalty() == 0 && net.Now() < end+10*time.Second) {
		net.RunFor(time.Second)
		sampleHeap()
	}
	w.finish(heapPeak - heap0)
	return w.res, nil
}

func (w *simWorld) firstPenalty() time.Duration {
	var first time.Duration
	for _, at := range w.penaltyAt[:w.atk] {
		if at > 0 && (first == 0 || at < first) {
			first = at
		}
	}
	return first
}

func (w *simWorld) finish(heap uint64) {
	r := &w.res
	r.HeapGrowth = heap
	r.Expected = len(w.published) * (w.cfg.Honest - 1)
	for _, at := range w.penaltyAt[:w.atk] {
		if at > 0 {
			r.Penalizing++
		}
	}
	r.PenaltyAfter = w.firstPenalty()
	slices.Sort(w.lat)
	if len(w.lat) > 0 {
		r.P99 = w.lat[min(len(w.lat)-1, len(w.lat)*99/100)]
	}
}

// SimSummary is one attack over several seeds.
type SimSummary struct {
	Kind                                ProtoKind
	Seeds                               int
	DeclaredDead, Suspected             int
	Delivered, Expected, Duplicates     int
	AttackerMsgs                        int
	P99Median, P99Max                   time.Duration
	HeapPerPeerMax                      uint64
	PenalizingMin                       int // fewest honest nodes that penalized the attacker in one run
	PenaltyAfterMedian, PenaltyAfterMax time.Duration
	HonestPenalized                     int
	Offences                            map[string]uint64 // summed over seeds
}

// SummarizeSim sums and takes medians over runs of one attack.
func SummarizeSim(runs []SimResult) SimSummary {
	s := SimSummary{Offences: map[string]uint64{}, PenalizingMin: -1}
	var p99s, pens []time.Duration
	for _, r := range runs {
		s.Kind = r.Kind
		s.Seeds++
		s.DeclaredDead += r.DeclaredDead
		s.Suspected += r.Suspected
		s.Delivered += r.Delivered
		s.Expected += r.Expected
		s.Duplicates += r.Duplicates
		s.AttackerMsgs += r.AttackerMsgs
		s.HonestPenalized += r.HonestPenalized
		s.HeapPerPeerMax = max(s.HeapPerPeerMax, r.HeapPerPeer())
		if s.PenalizingMin < 0 || r.Penalizing < s.PenalizingMin {
			s.PenalizingMin = r.Penalizing
		}
		p99s = append(p99s, r.P99)
		if r.PenaltyAfter > 0 {
			pens = append(pens, r.PenaltyAfter)
		}
		for k, v := range r.Offences {
			s.Offences[k] += v
		}
	}
	s.P99Median, s.P99Max = medianMax(p99s)
	s.PenaltyAfterMedian, s.PenaltyAfterMax = medianMax(pens)
	return s
}

func medianMax(d []time.Duration) (time.Duration, time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)-1]
}

func (s SimSummary) String() string {
	pen := "no"
	if s.PenaltyAfterMax > 0 {
		pen = fmt.Sprintf("at least %d per run, after %v median (max %v)", s.PenalizingMin,
			s.PenaltyAfterMedian.Round(time.Millisecond), s.PenaltyAfterMax.Round(time.Millisecond))
	}
	return fmt.Sprintf("%-13s %d seeds: dead %d (suspicions %d), delivered %d/%d, duplicates %d, attacker's %d, p99 %v median (max %v), heap ≤ %.1f MiB/peer, penalized %s, honest penalized %d, offences %v",
		s.Kind, s.Seeds, s.DeclaredDead, s.Suspected, s.Delivered, s.Expected, s.Duplicates, s.AttackerMsgs,
		s.P99Median.Round(100*time.Microsecond), s.P99Max.Round(100*time.Microsecond), float64(s.HeapPerPeerMax)/(1<<20),
		pen, s.HonestPenalized, s.Offences)
}
