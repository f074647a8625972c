package membership

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// cluster is a deterministic in-memory network of memberlists: frames sent
// during one step are delivered, in order, before the next tick (one tick of
// latency at most), with optional uniform loss, partitions and crashes.
type cluster struct {
	t       testing.TB
	nodes   []*Memberlist
	byID    map[core.NodeID]int
	queue   []packet
	rng     *rand.Rand
	loss    float64
	cut     func(from, to int) bool // true: the link is down
	down    []bool                  // crashed: neither sends nor receives
	slow    map[int]int             // node index -> extra delay in ticks for its inbound frames
	delayed []delayedPacket
	events  []Event
	evNode  []int
	now     int
	sent    int
}

type packet struct {
	from, to int
	frame    []byte
}

type delayedPacket struct {
	packet
	at int
}

type netTransport struct {
	c    *cluster
	from int
}

func (t netTransport) Send(to core.NodeID, frame []byte) {
	c := t.c
	if c.down[t.from] {
		return
	}
	i, ok := c.byID[to]
	if !ok {
		return
	}
	c.sent++
	c.queue = append(c.queue, packet{from: t.from, to: i, frame: frame})
}

func nodeID(i int) core.NodeID { return core.NodeID(fmt.Sprintf("n%03d", i)) }

func newCluster(t testing.TB, n int, seed uint64, mod func(i int, c *Config)) *cluster {
	c := &cluster{t: t, byID: map[core.NodeID]int{}, rng: rand.New(rand.NewPCG(seed, 99)), down: make([]bool, n), slow: map[int]int{}}
	for i := 0; i < n; i++ {
		c.byID[nodeID(i)] = i
	}
	for i := 0; i < n; i++ {
		cfg := DefaultLANConfig()
		cfg.ID = nodeID(i)
		cfg.Seed = seed
		cfg.Transport = netTransport{c: c, from: i}
		idx := i
		cfg.Events = EventFunc(func(e Event) {
			c.events = append(c.events, e)
			c.evNode = append(c.evNode, idx)
		})
		if mod != nil {
			mod(i, &cfg)
		}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, m)
	}
	return c
}

// deliver delivers queued frames until none are left (frames sent while
// delivering are delivered too, in the same tick).
func (c *cluster) deliver() {
	for rounds := 0; len(c.queue) > 0 && rounds < 100; rounds++ {
		q := c.queue
		c.queue = nil
		for _, p := range q {
			if c.down[p.to] || c.down[p.from] {
				continue
			}
			if c.cut != nil && c.cut(p.from, p.to) {
				continue
			}
			if c.loss > 0 && c.rng.Float64() < c.loss {
				continue
			}
			if d := c.slow[p.to]; d > 0 {
				c.delayed = append(c.delayed, delayedPacket{packet: p, at: c.now + d})
				continue
			}
			c.step(p)
		}
	}
}

func (c *cluster) step(p packet) {
	f, err := core.DecodeFrame(p.frame, core.DefaultLimits())
	if err != nil {
		c.t.Fatalf("undecodable frame from %d: %v", p.from, err)
	}
	if err := c.nodes[p.to].Step(nodeID(p.from), f); err != nil {
		c.t.Fatalf("step: %v", err)
	}
}

// run advances every node by ticks ticks.
func (c *cluster) run(ticks int) {
	for k := 0; k < ticks; k++ {
		c.now++
		if len(c.delayed) > 0 {
			keep := c.delayed[:0]
			for _, d := range c.delayed {
				if d.at <= c.now {
					if !c.down[d.to] {
						c.step(d.packet)
					}
				} else {
					keep = append(keep, d)
				}
			}
			c.delayed = keep
		}
		for i, m := range c.nodes {
			if !c.down[i] {
				m.Tick()
			}
		}
		c.deliver()
	}
}

// runUntil ticks until cond holds, failing after max ticks.
func (c *cluster) runUntil(max int, what string, cond func() bool) int {
	for k := 0; k < max; k++ {
		if cond() {
			return k
		}
		c.run(1)
	}
	if !cond() {
		c.t.Fatalf("%s: not reached after %d ticks", what, max)
	}
	return max
}

// joinAll has every node join through node 0.
func (c *cluster) joinAll() {
	for i := 1; i < len(c.nodes); i++ {
		c.nodes[i].Join([]core.NodeID{nodeID(0)})
	}
	c.deliver()
}

// converged reports whether every up node sees exactly the up nodes live.
func (c *cluster) converged() bool {
	want := 0
	for i := range c.nodes {
		if !c.down[i] && !c.nodes[i].Left() {
			want++
		}
	}
	for i, m := range c.nodes {
		if c.down[i] || m.Left() {
			continue
		}
		if m.Size() != want {
			return false
		}
		for _, mem := range m.live {
			j := c.byID[mem.id]
			if c.down[j] || c.nodes[j].Left() || mem.state != StateAlive {
				return false
			}
		}
	}
	return true
}

// count returns how many events of kind about id were seen (by any node).
func (c *cluster) count(kind EventKind, id core.NodeID) int {
	n := 0
	for _, e := range c.events {
		if e.Kind == kind && (id == "" || e.Member.ID == id) {
			n++
		}
	}
	return n
}
