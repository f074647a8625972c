// Command plumexp measures Plumtree push (core.Config.Plumtree) over a
// bounded neighbour graph on the deterministic simulator (testnet/sim), for
// issue 14: delivery fraction, body copies per delivery, IHAVE keys and
// bytes sent per delivery, latency p50/p99/max, with 10 % frame loss and
// with 10 % of the nodes crashed silently mid-stream. It compares Plumtree
// (several EagerMin) with tree push over full membership (p2p's profile,
// p2p/profile.go tuneEngine) and random eager push of bodies to 6
// neighbours (GossipSub's D).
//
// The neighbour graph is static: each node links to -links random others,
// both ways (mean degree about twice that), standing in for
// membership/overlay's active view; the sampler samples and lists only
// those neighbours.
//
//	go run ./testnet/cmd/plumexp                  # n = 1,000
//	go run ./testnet/cmd/plumexp -n 10000 -msgs 30
//
// Runs are deterministic: the same flags give the same table.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/testnet/internal/listflag"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

const tick = 50 * time.Millisecond

func main() {
	ns := flag.String("n", "1000", "population sizes, comma-separated")
	msgs := flag.Int("msgs", 100, "messages published, one per tick, round robin over the origins")
	origins := flag.Int("origins", 5, "publishing nodes")
	links := flag.Int("links", 8, "random links each node starts (mean degree about twice this)")
	size := flag.Int("size", 512, "payload bytes")
	seed := flag.Uint64("seed", 1, "seed")
	delay := flag.Int("plum-iwant-delay", 3, "IWantDelay (ticks) of the Plumtree schemes")
	schemes := flag.String("schemes", "tree-full,random6,plum0,plum1,plum2,plum3", "schemes, comma-separated")
	flag.Parse()
	fmt.Println("| n | scheme | loss | crash | delivered | bodies/delivery | IHAVE keys/delivery | bytes/delivery | p50 ms | p99 ms | max ms | prunes | grafts | wall |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range listflag.Ints(*ns) {
		for _, sc := range strings.Split(*schemes, ",") {
			for _, c := range []struct{ loss, crash float64 }{{0, 0}, {0.1, 0}, {0, 0.1}} {
				start := time.Now()
				r := run(n, sc, c.loss, c.crash, *msgs, *origins, *links, *size, *delay, *seed)
				fmt.Printf("| %d | %s | %.0f %% | %.0f %% | %.4f | %.2f | %.2f | %.0f | %.0f | %.0f | %.0f | %d | %d | %.0f s |\n",
					n, sc, 100*c.loss, 100*c.crash, r.delivered, r.bodies, r.ihaves, r.bytes, r.p50, r.p99, r.max,
					r.prunes, r.grafts, time.Since(start).Seconds())
			}
		}
	}
}

type result struct {
	delivered, bodies, ihaves, bytes, p50, p99, max float64
	prunes, grafts                                  uint64
}

// nbrSampler samples and lists a node's neighbours only.
type nbrSampler struct {
	peers []core.NodeID
	rng   *rand.Rand
	n     int
}

func (s *nbrSampler) Sample(dst []core.NodeID, k int) []core.NodeID {
	return core.SampleDistinct(dst, k, len(s.peers), s.rng, func(i int) core.NodeID { return s.peers[i] })
}
func (s *nbrSampler) Size() int                                       { return s.n }
func (s *nbrSampler) NeighborsVersion() uint64                        { return 1 }
func (s *nbrSampler) AppendNeighbors(dst []core.NodeID) []core.NodeID { return append(dst, s.peers...) }

// plainNbr hides the neighbour listing, so the engine pushes at random.
type plainNbr struct{ s *nbrSampler }

func (p plainNbr) Sample(dst []core.NodeID, k int) []core.NodeID { return p.s.Sample(dst, k) }
func (p plainNbr) Size() int                                     { return p.s.Size() }

type node struct {
	e   *core.Engine
	ids []core.NodeID
}

func (h *node) Tick() { h.e.Tick() }
func (h *node) Receive(from int, frame []byte) {
	if err := h.e.Step(h.ids[from], frame); err != nil {
		panic(err)
	}
}

// app records each delivery's latency from publish.
type app struct {
	net  *sim.Network
	self core.NodeID
	pub  map[core.MsgKey]time.Duration
	got  map[core.MsgKey][]float64
}

func (a *app) Deliver(m *core.Message) {
	if m.Origin == a.self {
		return
	}
	k := m.Key()
	a.got[k] = append(a.got[k], float64(a.net.Now()-a.pub[k])/float64(time.Millisecond))
}

func run(n int, scheme string, loss, crash float64, msgs, origins, links, size, delay int, seed uint64) result {
	net, err := sim.New(sim.Config{
		Nodes: n, Seed: seed, TickInterval: tick, Loss: loss,
		Latency: sim.Uniform{Min: 5 * time.Millisecond, Max: 40 * time.Millisecond},
	})
	if err != nil {
		panic(err)
	}
	ids := sim.IDs(n)
	g := rand.New(rand.NewPCG(seed, 7))
	adj := make([]map[int]bool, n)
	for i := range adj {
		adj[i] = map[int]bool{}
	}
	for i := 0; i < n; i++ {
		for k := 0; k < links; k++ {
			j := g.IntN(n)
			if j != i {
				adj[i][j], adj[j][i] = true, true
			}
		}
	}
	rec := &app{net: net, pub: map[core.MsgKey]time.Duration{}, got: map[core.MsgKey][]float64{}}
	engines := make([]*core.Engine, n)
	for i := 0; i < n; i++ {
		var nb []core.NodeID
		for j := range adj[i] {
			nb = append(nb, ids[j])
		}
		slices.Sort(nb)
		rng := rand.New(rand.NewPCG(seed, uint64(i)+1000))
		s := &nbrSampler{peers: nb, rng: rng, n: n}
		c := core.DefaultConfig()
		c.ID, c.Rand, c.Transport = ids[i], rng, net.Endpoint(i)
		a := *rec
		a.self = ids[i]
		c.App = &a
		// p2p's profile (tuneEngine): lazy repair rounds, IWANT delay, pull.
		c.Mode, c.EagerPush, c.Fanout = core.PushPull, true, 3
		c.LazyThreshold, c.LazyBodyFanout, c.IWantDelay = 1, 1, 1
		c.Rounds, c.RoundTicks, c.PullEvery, c.IWantTimeout = 1, 2, 5, 5
		c.MaxRoundMessages, c.MaxRoundBytes = 32, 128<<10
		switch {
		case scheme == "tree-full":
			var all []core.NodeID
			for j, id := range ids {
				if j != i {
					all = append(all, id)
				}
			}
			c.Sampler, c.TreeFanout = &core.StaticSampler{Peers: all, Rand: rng}, 6
		case scheme == "random6":
			c.Sampler, c.Fanout, c.LazyThreshold = plainNbr{s}, 6, 0
		case strings.HasPrefix(scheme, "plum"):
			m, err := strconv.Atoi(strings.TrimPrefix(scheme, "plum"))
			if err != nil {
				panic(err)
			}
			c.Sampler, c.Plumtree, c.EagerMin, c.IWantDelay = s, true, m, delay
		default:
			panic("unknown scheme " + scheme)
		}
		if engines[i], err = core.New(c); err != nil {
			panic(err)
		}
		net.SetHandler(i, &node{e: engines[i], ids: ids})
	}
	keep := make([]int, origins)
	for o := range keep {
		keep[o] = o * (n / origins)
	}
	for j := 0; j < msgs; j++ {
		j := j
		net.At(time.Duration(j+1)*tick+tick/3, func() {
			if crash > 0 && j == msgs/2 {
				net.CrashFraction(crash, keep...)
			}
			o := keep[j%origins]
			m, err := engines[o].Publish("t", make([]byte, size))
			if err != nil {
				panic(err)
			}
			rec.pub[m.Key()] = net.Now()
		})
	}
	net.Run(time.Duration(msgs+200) * tick)
	live := 0
	var st core.Stats
	var prunes, grafts uint64
	for i, e := range engines {
		s := e.Stats()
		st.MessagesSent += s.MessagesSent
		st.IHavesSent += s.IHavesSent
		st.BytesSent += s.BytesSent
		p := e.PlumStats()
		prunes += p.PrunesSent
		grafts += p.Grafts
		if net.Up(i) {
			live++
		}
	}
	var lats []float64
	deliveries := 0
	for _, l := range rec.got {
		lats = append(lats, l...)
		deliveries += len(l)
	}
	slices.Sort(lats)
	q := func(f float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return lats[min(len(lats)-1, int(f*float64(len(lats))))]
	}
	d := float64(max(deliveries, 1))
	// Delivered: deliveries at nodes alive at the end over what they should
	// have had (a crashed node's earlier deliveries are counted too, so
	// this is an upper estimate under crash; see the notes).
	return result{
		delivered: min(1, float64(deliveries)/float64(msgs*(live-1))),
		bodies:    float64(st.MessagesSent) / d,
		ihaves:    float64(st.IHavesSent) / d,
		bytes:     float64(st.BytesSent) / d,
		p50:       q(0.5), p99: q(0.99), max: q(1),
		prunes: prunes, grafts: grafts,
	}
}
