package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// GossipConfig configures a population of core.Engine nodes on a Network.
type GossipConfig struct {
	// Engine is the template every node's engine is built from; ID,
	// Sampler, Transport, App and Rand are filled in per node (Seed is
	// ignored: each node's randomness derives from the network's seed).
	// Validator, Signer and Piggyback are shared by all nodes if set.
	Engine core.Config
	// Synchronous enforces the round-synchronous model of the analyses
	// (Karp et al.; Pittel): a pull request is answered with what the
	// peer held at the start of the round, and what is pushed in a round
	// is pushed by nodes informed before it. The adapter delivers pull
	// requests (digest records) sent during a tick after the link latency
	// but holds pushes sent during a tick for an extra half tick
	// interval, so every pull request of a round is answered before any
	// of the round's pushes lands. It needs link latency below a quarter of
	// the tick interval and Aligned ticks, and EagerPush off for the
	// classic round counts.
	Synchronous bool
	// OnDeliver, if set, is called for every delivery to an application,
	// with the node, the message (the engine's copy: do not modify) and
	// the virtual time.
	OnDeliver func(node int, m *core.Message, at time.Duration)
	// Nodes limits which nodes run an engine (nil: all of them); the
	// others have no Handler, so frames to them are dropped.
	Nodes []int
}

// Gossip runs one unchanged core.Engine per node of a Network.
type Gossip struct {
	net   *Network
	cfg   GossipConfig
	ids   []core.NodeID // shared by every node's sampler
	nodes []*GossipNode // nil where no engine runs
	half  time.Duration
}

// GossipNode is one simulated gossip node: the Handler the network calls,
// and the engine's Transport, Application and PeerSampler, in one small
// struct (nothing in it grows with the population).
type GossipNode struct {
	g      *Gossip
	eng    *core.Engine
	rng    *rand.Rand
	idx    int32
	inTick bool
}

// NewGossip builds the engines and installs them as the network's handlers.
func NewGossip(net *Network, cfg GossipConfig) (*Gossip, error) {
	g := &Gossip{
		net:   net,
		cfg:   cfg,
		ids:   IDs(net.Len()),
		nodes: make([]*GossipNode, net.Len()),
		half:  net.Config().TickInterval / 2,
	}
	if cfg.Synchronous && net.Config().TickPhase != Aligned {
		return nil, fmt.Errorf("%w: Synchronous gossip needs Aligned ticks", ErrBadConfig)
	}
	add := func(i int) error {
		if g.nodes[i] != nil {
			return nil
		}
		nd := &GossipNode{g: g, idx: int32(i), rng: net.NodeRand(i)}
		ec := cfg.Engine
		ec.ID = g.ids[i]
		ec.Sampler = nd
		ec.Transport = nd
		ec.App = nd
		ec.Rand = nd.rng
		eng, err := core.New(ec)
		if err != nil {
			return err
		}
		nd.eng = eng
		g.nodes[i] = nd
		net.SetHandler(i, nd)
		return nil
	}
	if cfg.Nodes == nil {
		for i := 0; i < net.Len(); i++ {
			if err := add(i); err != nil {
				return nil, err
			}
		}
	} else {
		for _, i := range cfg.Nodes {
			if i < 0 || i >= net.Len() {
				return nil, fmt.Errorf("%w: node %d out of range", ErrBadConfig, i)
			}
			if err := add(i); err != nil {
				return nil, err
			}
		}
	}
	return g, nil
}

// Network returns the network the gossip runs on.
func (g *Gossip) Network() *Network { return g.net }

// Node returns node i's gossip node (nil if it runs no engine).
func (g *Gossip) Node(i int) *GossipNode { return g.nodes[i] }

// Engine returns node i's engine (nil if it runs none).
func (g *Gossip) Engine(i int) *core.Engine {
	if g.nodes[i] == nil {
		return nil
	}
	return g.nodes[i].eng
}

// Publish publishes a message at node i now, with the virtual time as its
// timestamp.
func (g *Gossip) Publish(i int, topic string, payload []byte, priority uint8) (*core.Message, error) {
	nd := g.nodes[i]
	if nd == nil {
		return nil, fmt.Errorf("grapevine/sim: node %d runs no engine", i)
	}
	if !g.net.Up(i) {
		return nil, fmt.Errorf("grapevine/sim: node %d is down", i)
	}
	return nd.eng.Publish(topic, payload, core.WithPriority(priority), core.WithTimestamp(int64(g.net.Now())))
}

// Stats returns the sum of all engines' counters.
func (g *Gossip) Stats() core.Stats {
	var t core.Stats
	for _, nd := range g.nodes {
		if nd != nil {
			addStats(&t, nd.eng.Stats())
		}
	}
	return t
}

// Tick implements Handler.
func (nd *GossipNode) Tick() {
	nd.inTick = true
	nd.eng.Tick()
	nd.inTick = false
}

// Receive implements Handler. Frames that do not decode are counted in the
// engine's Stats.DecodeErrors.
func (nd *GossipNode) Receive(from int, frame []byte) {
	_ = nd.eng.Step(nd.g.ids[from], frame)
}

// Engine returns the node's engine.
func (nd *GossipNode) Engine() *core.Engine { return nd.eng }

// Deliver implements core.Application.
func (nd *GossipNode) Deliver(m *core.Message) {
	if f := nd.g.cfg.OnDeliver; f != nil {
		f(int(nd.idx), m, nd.g.net.now)
	}
}

// Sample implements core.PeerSampler: k distinct nodes other than this one,
// uniformly, from the shared ID slice.
func (nd *GossipNode) Sample(dst []core.NodeID, k int) []core.NodeID {
	ids, self := nd.g.ids, int(nd.idx)
	return core.SampleDistinct(dst, k, len(ids)-1, nd.rng, func(i int) core.NodeID {
		if i >= self {
			i++
		}
		return ids[i]
	})
}

// Size implements core.PeerSampler.
func (nd *GossipNode) Size() int { return len(nd.g.ids) }

// Send implements core.Transport.
func (nd *GossipNode) Send(to core.NodeID, frame []byte) {
	i, ok := Index(to)
	if !ok || i >= len(nd.g.ids) {
		i = -1
	}
	n := nd.g.net
	if !nd.g.cfg.Synchronous || !nd.inTick || i < 0 {
		n.send(int(nd.idx), i, frame, 0)
		return
	}
	pull, push, split := splitDigest(frame)
	if !split {
		if hasDigest(frame) {
			n.send(int(nd.idx), i, frame, 0)
		} else {
			n.send(int(nd.idx), i, frame, nd.g.half)
		}
		return
	}
	n.send(int(nd.idx), i, pull, 0)
	n.send(int(nd.idx), i, push, nd.g.half)
}

// hasDigest reports whether a well-formed frame holds a digest record.
func hasDigest(frame []byte) bool {
	found := false
	walkRecords(frame, func(typ uint8, _ []byte) {
		if typ == core.RecDigest {
			found = true
		}
	})
	return found
}

// splitDigest splits a frame holding both digest and other records into a
// frame of the digest records and one of the rest. split is false if the
// frame holds only one kind (or does not parse).
func splitDigest(frame []byte) (pull, push []byte, split bool) {
	nd, other := 0, 0
	if !walkRecords(frame, func(typ uint8, _ []byte) {
		if typ == core.RecDigest {
			nd++
		} else {
			other++
		}
	}) || nd == 0 || other == 0 {
		return nil, nil, false
	}
	pull, push = core.NewFrame(nil), core.NewFrame(nil)
	walkRecords(frame, func(typ uint8, rec []byte) {
		if typ == core.RecDigest {
			pull = append(pull, rec...)
		} else {
			push = append(push, rec...)
		}
	})
	return pull, push, true
}

// walkRecords calls fn with each record's type and full encoding (type,
// length, body). It reports false if the frame is malformed.
func walkRecords(frame []byte, fn func(typ uint8, rec []byte)) bool {
	if len(frame) < 1 || frame[0] != core.WireVersion {
		return false
	}
	b := frame[1:]
	for len(b) > 0 {
		typ := b[0]
		var l uint64
		var s uint
		j := 1
		for ; ; j++ {
			if j >= len(b) || j > 10 {
				return false
			}
			c := b[j]
			l |= uint64(c&0x7f) << s
			s += 7
			if c < 0x80 {
				j++
				break
			}
		}
		if l > uint64(len(b)-j) {
			return false
		}
		end := j + int(l)
		fn(typ, b[:end])
		b = b[end:]
	}
	return true
}

func addStats(t *core.Stats, s core.Stats) {
	t.Published += s.Published
	t.Delivered += s.Delivered
	t.Received += s.Received
	t.Duplicates += s.Duplicates
	t.Invalid += s.Invalid
	t.TooLarge += s.TooLarge
	t.InboundDropped += s.InboundDropped
	t.DecodeErrors += s.DecodeErrors
	t.FramesSent += s.FramesSent
	t.BytesSent += s.BytesSent
	t.FramesIn += s.FramesIn
	t.BytesIn += s.BytesIn
	t.MessagesSent += s.MessagesSent
	t.PayloadSent += s.PayloadSent
	t.IHavesSent += s.IHavesSent
	t.IWantsSent += s.IWantsSent
	t.DigestsSent += s.DigestsSent
	t.PullAnswered += s.PullAnswered
	t.IWantAnswered += s.IWantAnswered
	t.PeerBudgetDrops += s.PeerBudgetDrops
	t.StoreEvicted += s.StoreEvicted
	t.StoreExpired += s.StoreExpired
	t.OriginsEvicted += s.OriginsEvicted
	t.OriginsExpired += s.OriginsExpired
	t.AboveOverflow += s.AboveOverflow
	t.GapsAbandoned += s.GapsAbandoned
	t.WantsDropped += s.WantsDropped
	t.WantsExpired += s.WantsExpired
	t.FIFOLost += s.FIFOLost
	t.FIFOLate += s.FIFOLate
	t.HeldOverflow += s.HeldOverflow
}
