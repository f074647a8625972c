package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// -trace runs a fixed set of deterministic multi-message gossip runs through
// the simulator and prints a SHA-256 digest of every frame sent (sender,
// receiver, bytes), every delivery and loss report, every Publish result
// and every engine's final counters: two builds whose digests agree
// behaved identically, bit for bit. It is the gossip counterpart of
// swimexp -trace, for changes to core/ (and testnet/sim) that must not
// alter behaviour.
//
//	go run ./testnet/cmd/sim -trace [-seed 1]
//
// The scenarios together exercise push-pull with eager push, push only
// without eager push (independent targets, Random policy), pull only
// (Priority policy, several ticks per round), tree push with lazy repair
// (IHAVE/IWANT, IWantDelay, Reachability), FIFO delivery with hold-back and
// skipped gaps, store, origin, digest, want, inbound and per-peer byte
// limits, signing, validation, piggybacking, recycled frame buffers,
// KeepFrames, origins starting above sequence number 1, undecodable
// frames, loss, crashes and a recovery, and the simulator's own gossip
// adapter (sim.Gossip, Synchronous; there the frames hashed are those
// delivered, since the adapter sends through the network directly, and lost
// ones count only in the final network counters).

// traceScenario is one run of the trace.
type traceScenario struct {
	name      string
	n         int
	origins   int           // nodes 0..origins-1 publish
	perOrigin int           // messages each origin publishes
	spacing   time.Duration // between two publications (round-robin over origins)
	dur       time.Duration // virtual time run
	loss      float64
	phase     sim.Phase
	latency   sim.Latency
	crash     []int // nodes crashed at evenly spaced times in the first half
	recover   bool  // the first crashed node recovers at 3/4 of dur
	sizes     []int // payload sizes drawn from
	extras    bool  // signer, validator, piggyback, frame buffers, reachability, odd FirstSeqs
	lister    bool  // the sampler lists its peers (tree push)
	adapter   bool  // run through sim.Gossip instead of the trace's own nodes
	engine    func(c *core.Config)
}

func traceScenarios() []traceScenario {
	lat := sim.Uniform{Min: 5 * time.Millisecond, Max: 40 * time.Millisecond}
	return []traceScenario{
		{
			name: "push-pull fifo limits", n: 150, origins: 30, perOrigin: 8, spacing: 37 * time.Millisecond,
			dur: 60 * time.Second, loss: 0.1, phase: sim.RandomPhase, latency: lat, crash: []int{3, 77, 140}, recover: true,
			sizes: []int{0, 16, 64, 300, 700, 1500}, extras: true,
			engine: func(c *core.Config) {
				c.Mode = core.PushPull
				c.FIFO, c.FIFOTimeout, c.MaxHeld = true, 6, 4
				c.LazyThreshold = 512
				c.MaxRoundMessages, c.MaxRoundBytes = 8, 4000
				c.MaxPeerBytesPerRound = 6000
				c.MaxInboundPerPeerPerRound = 5
				c.MaxStoreMessages, c.MaxStoreBytes, c.StoreTTL = 150, 100<<10, 20
				c.SeenTTL, c.MaxOrigins = 20, 28
				c.MaxAbove, c.GapTimeout = 6, 10
				c.MaxDigestOrigins, c.MaxDigestAbove = 12, 8
				c.MaxPendingWants = 8
				c.MaxFrameSize = c.MaxMessageSize + 1024
			},
		},
		{
			name: "push random independent", n: 120, origins: 12, perOrigin: 10, spacing: 90 * time.Millisecond,
			dur: 40 * time.Second, loss: 0.05, phase: sim.Aligned, latency: sim.Fixed(10 * time.Millisecond), crash: []int{5, 60},
			sizes: []int{8, 100, 900, 3000},
			engine: func(c *core.Config) {
				c.Mode = core.Push
				c.Policy = core.Random
				c.EagerPush, c.DistinctTargets = false, false
				c.Fanout, c.Rounds = 2, 6
				c.LazyThreshold, c.LazyBodyFanout = 1000, 1
				c.MaxRoundMessages = 5
				c.StoreTTL, c.SeenTTL = 10, 10
			},
		},
		{
			name: "pull priority keepframes", n: 100, origins: 10, perOrigin: 10, spacing: 110 * time.Millisecond,
			dur: 50 * time.Second, loss: 0.1, phase: sim.RandomPhase, latency: lat, crash: []int{9},
			sizes: []int{1, 50, 400},
			engine: func(c *core.Config) {
				c.Mode = core.Pull
				c.Policy = core.Priority
				c.PullFanout, c.PullEvery, c.RoundTicks = 2, 2, 2
				c.MaxRoundMessages = 6
				c.KeepFrames = true
				c.FIFO = true
			},
		},
		{
			name: "tree lazy repair", n: 160, origins: 16, perOrigin: 8, spacing: 70 * time.Millisecond,
			dur: 50 * time.Second, loss: 0.08, phase: sim.RandomPhase, latency: lat, crash: []int{1, 50, 99, 151}, recover: true,
			sizes: []int{32, 600, 2500, 9000}, extras: true, lister: true,
			engine: func(c *core.Config) {
				c.TreeFanout = 4
				c.IWantDelay, c.IWantTimeout = 2, 2
				c.LazyThreshold, c.LazyBodyFanout = 256, 0
				c.FIFO, c.FIFOTimeout = true, 8
				c.MaxPendingWants = 64
			},
		},
		{
			name: "sim.Gossip synchronous", n: 200, origins: 8, perOrigin: 6, spacing: 130 * time.Millisecond,
			dur: 30 * time.Second, loss: 0.1, phase: sim.Aligned, latency: sim.Fixed(10 * time.Millisecond), crash: []int{7, 100},
			sizes: []int{64, 3000}, adapter: true,
			engine: func(c *core.Config) {
				c.EagerPush = false
				c.Policy = core.Recent
			},
		},
	}
}

// traceTotals are a scenario's counts, printed beside its digest.
type traceTotals struct {
	frames, bytes, deliveries, lost, publishErrs int
	engines                                      core.Stats // summed over the nodes
}

// addStats adds every counter of s to t.
func addStats(t *core.Stats, s core.Stats) {
	tv, sv := reflect.ValueOf(t).Elem(), reflect.ValueOf(s)
	for i := 0; i < tv.NumField(); i++ {
		tv.Field(i).SetUint(tv.Field(i).Uint() + sv.Field(i).Uint())
	}
}

// nonZero lists the non-zero counters of s.
func nonZero(s core.Stats) string {
	var b strings.Builder
	v := reflect.ValueOf(s)
	for i := 0; i < v.NumField(); i++ {
		if x := v.Field(i).Uint(); x != 0 {
			fmt.Fprintf(&b, " %s=%d", v.Type().Field(i).Name, x)
		}
	}
	return b.String()
}

func runTrace(seed uint64, verbose bool, stdout io.Writer) error {
	start := time.Now()
	all := sha256.New()
	fmt.Fprintf(stdout, "gossip trace seed=%d\n", seed)
	var sum traceTotals
	for _, sc := range traceScenarios() {
		h := sha256.New()
		t, err := runTraceScenario(sc, seed, io.MultiWriter(h, all))
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		fmt.Fprintf(stdout, "  %-26s n=%-3d digest %x  frames %d, bytes %d, deliveries %d, lost %d, publish errors %d\n",
			sc.name, sc.n, h.Sum(nil), t.frames, t.bytes, t.deliveries, t.lost, t.publishErrs)
		if verbose {
			fmt.Fprintf(stdout, "    engines:%s\n", nonZero(t.engines))
		}
		sum.frames += t.frames
		sum.bytes += t.bytes
		sum.deliveries += t.deliveries
		sum.lost += t.lost
		sum.publishErrs += t.publishErrs
	}
	fmt.Fprintf(stdout, "digest %x\n", all.Sum(nil))
	fmt.Fprintf(stdout, "frames %d, bytes %d, deliveries %d, lost %d, publish errors %d; wall %v\n",
		sum.frames, sum.bytes, sum.deliveries, sum.lost, sum.publishErrs, time.Since(start).Round(time.Millisecond))
	return nil
}

// traceWorld is one scenario's population on one network.
type traceWorld struct {
	net    *sim.Network
	ids    []core.NodeID
	nodes  []*traceNode
	h      io.Writer
	t      *traceTotals
	buf    []byte
	gone   []bool // crashed members the listers have dropped
	goneV  uint64
	reject byte // payload first byte the validator rejects
}

func (w *traceWorld) frame(from int, to core.NodeID, frame []byte) {
	b := binary.AppendVarint(w.buf[:0], int64(w.net.Now()))
	b = binary.AppendVarint(b, int64(from))
	b = wire.AppendString(b, string(to))
	b = wire.AppendBytes(b, frame)
	w.h.Write(b)
	w.buf = b[:0]
	w.t.frames++
	w.t.bytes += len(frame)
}

func (w *traceWorld) deliver(node int, m *core.Message, at time.Duration) {
	b := append(w.buf[:0], 'D')
	b = binary.AppendVarint(b, int64(at))
	b = binary.AppendVarint(b, int64(node))
	b = wire.AppendString(b, string(m.Origin))
	b = binary.AppendUvarint(b, m.Seq)
	b = wire.AppendString(b, m.Topic)
	b = append(b, m.Priority)
	b = binary.AppendVarint(b, m.Timestamp)
	b = wire.AppendBytes(b, m.Payload)
	b = wire.AppendBytes(b, m.Auth)
	w.h.Write(b)
	w.buf = b[:0]
	w.t.deliveries++
}

func (w *traceWorld) note(format string, a ...any) {
	fmt.Fprintf(w.h, format, a...)
}

// traceNode is one node of the trace's own adapter: simulator Handler,
// Transport, Application (with LossReporter), PeerSampler, Signer,
// Validator and Piggybacker in one.
type traceNode struct {
	w   *traceWorld
	idx int
	eng *core.Engine
	rng *rand.Rand
	ep  *sim.Endpoint
}

func (nd *traceNode) Tick()                          { nd.eng.Tick() }
func (nd *traceNode) Receive(from int, frame []byte) { _ = nd.eng.Step(nd.w.ids[from], frame) }

func (nd *traceNode) Send(to core.NodeID, frame []byte) {
	nd.w.frame(nd.idx, to, frame)
	nd.ep.Send(to, frame)
}

func (nd *traceNode) Deliver(m *core.Message) { nd.w.deliver(nd.idx, m, nd.w.net.Now()) }

func (nd *traceNode) Lost(origin core.NodeID, from, to uint64) {
	nd.w.note("L%d/%d/%s/%d/%d;", nd.w.net.Now(), nd.idx, origin, from, to)
	nd.w.t.lost += int(to - from + 1)
}

func (nd *traceNode) Sample(dst []core.NodeID, k int) []core.NodeID {
	ids, self := nd.w.ids, nd.idx
	return core.SampleDistinct(dst, k, len(ids)-1, nd.rng, func(i int) core.NodeID {
		if i >= self {
			i++
		}
		return ids[i]
	})
}

func (nd *traceNode) Size() int { return len(nd.w.ids) }

func (nd *traceNode) Sign(m *core.Message) ([]byte, error) {
	id := m.ID()
	return id[:8], nil
}

var errTraceInvalid = errors.New("trace: rejected")

func (nd *traceNode) Validate(from core.NodeID, m *core.Message) error {
	id := m.ID()
	if !bytes.Equal(m.Auth, id[:8]) || (len(m.Payload) > 0 && m.Payload[0] == nd.w.reject) {
		return errTraceInvalid
	}
	return nil
}

// Piggyback adds an application record to every third frame that has room.
func (nd *traceNode) Piggyback(to core.NodeID, frame []byte, room int) []byte {
	if room < 8 || len(frame)%3 != 0 {
		return frame
	}
	return core.AppendRecord(frame, 0x80, []byte{byte(len(frame)), byte(nd.idx)})
}

// extTransport adds FrameBuffers and Reachability to a node's Transport.
type extTransport struct{ *traceNode }

func (t extTransport) FrameBuffer(n int) []byte { return make([]byte, 0, n) }

// Unreachable reports crashed even-numbered peers: their connections broke.
func (t extTransport) Unreachable(id core.NodeID) bool {
	i, ok := sim.Index(id)
	return ok && i%2 == 0 && !t.w.net.Up(i)
}

// listerSampler makes a node's sampler a core.PeerLister (tree push): it
// lists every member but the crashed ones already noticed.
type listerSampler struct{ *traceNode }

func (s listerSampler) PeersVersion() uint64 { return s.w.goneV }

func (s listerSampler) AppendPeers(dst []core.NodeID) []core.NodeID {
	for i, id := range s.w.ids {
		if i != s.idx && !s.w.gone[i] {
			dst = append(dst, id)
		}
	}
	return dst
}

// traceAdapterNode wraps a sim.Gossip node's Handler to hash the frames it
// receives (the adapter sends through the network directly).
type traceAdapterNode struct {
	sim.Handler
	w   *traceWorld
	idx int
}

func (a traceAdapterNode) Receive(from int, frame []byte) {
	a.w.frame(from, a.w.ids[a.idx], frame)
	a.Handler.Receive(from, frame)
}

func runTraceScenario(sc traceScenario, seed uint64, h io.Writer) (traceTotals, error) {
	var tot traceTotals
	net, err := sim.New(sim.Config{Nodes: sc.n, Seed: seed, TickInterval: time.Second, TickPhase: sc.phase,
		Latency: sc.latency, Loss: sc.loss})
	if err != nil {
		return tot, err
	}
	w := &traceWorld{net: net, ids: sim.IDs(sc.n), nodes: make([]*traceNode, sc.n), h: h, t: &tot,
		gone: make([]bool, sc.n), reject: 0xEE}
	fmt.Fprintf(h, "scenario %q n=%d seed=%d\n", sc.name, sc.n, seed)
	ec := core.DefaultConfig()
	sc.engine(&ec)
	var g *sim.Gossip
	if sc.adapter {
		g, err = sim.NewGossip(net, sim.GossipConfig{Engine: ec, Synchronous: true, OnDeliver: w.deliver})
		if err != nil {
			return tot, err
		}
		for i := 0; i < sc.n; i++ {
			net.SetHandler(i, traceAdapterNode{Handler: net.Handler(i), w: w, idx: i})
		}
	} else {
		for i := 0; i < sc.n; i++ {
			nd := &traceNode{w: w, idx: i, rng: net.NodeRand(i), ep: net.Endpoint(i)}
			c := ec
			c.ID, c.Sampler, c.Transport, c.App, c.Rand = w.ids[i], nd, nd, nd, nd.rng
			if sc.lister {
				c.Sampler = listerSampler{nd}
			}
			if sc.extras {
				c.Transport = extTransport{nd}
				c.Signer, c.Validator, c.Piggyback = nd, nd, nd
				if i%5 == 4 {
					c.FirstSeq = 1000 + uint64(i) // a restarted origin: a gap below its first message
				}
			}
			if nd.eng, err = core.New(c); err != nil {
				return tot, err
			}
			w.nodes[i] = nd
			net.SetHandler(i, nd)
		}
	}
	engine := func(i int) *core.Engine {
		if g != nil {
			return g.Engine(i)
		}
		return w.nodes[i].eng
	}

	// Crashes at evenly spaced times in the first half; listers notice each
	// one 5 s later; the first crashed node may come back at 3/4.
	for c, i := range sc.crash {
		at := sc.dur / 2 * time.Duration(c+1) / time.Duration(len(sc.crash)+1)
		net.CrashAt(at, i)
		net.At(at+5*time.Second, func() {
			if !net.Up(i) {
				w.gone[i] = true
				w.goneV++
			}
		})
	}
	if sc.recover && len(sc.crash) > 0 {
		i := sc.crash[0]
		net.At(sc.dur*3/4, func() {
			net.Recover(i)
			if w.gone[i] {
				w.gone[i] = false
				w.goneV++
			}
		})
	}

	// Publications: round-robin over the origins, from 1.5 s, spacing apart.
	prng := rand.New(rand.NewPCG(seed, 0x7472616365))
	at := 1500 * time.Millisecond
	for k := 0; k < sc.perOrigin; k++ {
		for o := 0; o < sc.origins; o++ {
			size := sc.sizes[prng.IntN(len(sc.sizes))]
			payload := make([]byte, size)
			for j := range payload {
				payload[j] = byte(prng.Uint32())
			}
			if size > 0 && prng.IntN(16) == 0 {
				payload[0] = w.reject // validators (where set) reject about one in 16
			}
			prio := uint8(prng.IntN(4))
			topic := fmt.Sprintf("t%d", prng.IntN(3))
			net.At(at, func() {
				if !net.Up(o) {
					w.note("P%d/%d down;", net.Now(), o)
					return
				}
				var m *core.Message
				var err error
				if g != nil {
					m, err = g.Publish(o, topic, payload, prio)
				} else {
					m, err = engine(o).Publish(topic, payload, core.WithPriority(prio), core.WithTimestamp(int64(net.Now())))
				}
				if err != nil {
					tot.publishErrs++
					w.note("P%d/%d err %v;", net.Now(), o, err)
					return
				}
				w.note("P%d/%d %d %x;", net.Now(), o, m.Seq, m.ID())
			})
			at += sc.spacing
		}
	}
	// Refused publications: too large, topic too long.
	net.At(at, func() {
		for _, p := range []struct {
			topic string
			size  int
		}{{"big", ec.MaxMessageSize + 1}, {string(make([]byte, ec.Limits.MaxTopicLen+1)), 1}} {
			_, err := engine(0).Publish(p.topic, make([]byte, p.size))
			tot.publishErrs++
			w.note("R%v;", err)
		}
	})

	if sc.extras {
		// Frames that do not decode: a wrong version, a truncated record.
		net.At(sc.dur/3, func() {
			for _, f := range [][]byte{{2, 1}, {core.WireVersion, core.RecMessage, 5, 1, 2}} {
				w.frame(0, w.ids[1], f)
				net.Endpoint(0).SendTo(1, f)
			}
		})
	}

	net.Run(sc.dur)

	// Final state of every engine.
	for i := 0; i < sc.n; i++ {
		e := engine(i)
		msgs, bytes := e.Stored()
		addStats(&tot.engines, e.Stats())
		fmt.Fprintf(h, "N%d up=%v %+v|%d|%d|%d|%d|%d;", i, net.Up(i), e.Stats(), msgs, bytes, e.Hot(), e.Ticks(), e.Rounds())
		for o := 0; o < sc.origins; o++ {
			for s := uint64(1); s <= uint64(sc.perOrigin)+1; s++ {
				if e.Has(core.MsgKey{Origin: w.ids[o], Seq: s}) {
					h.Write([]byte{1})
				} else {
					h.Write([]byte{0})
				}
			}
		}
	}
	fmt.Fprintf(h, "net %+v events %d\n", net.Total(), net.Processed())
	return tot, nil
}
