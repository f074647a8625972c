package core

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// testNet is a deterministic in-memory network for engine tests: frames sent
// during a step are queued and delivered in order by settle, with optional
// loss drawn from a seeded source. Latency is zero, so a pull answer arrives
// within the round that asked for it.
type testNet struct {
	t       testing.TB
	nodes   []*Engine
	apps    []*recorder
	byID    map[NodeID]int
	queue   []pending
	loss    float64
	rng     *rand.Rand
	down    map[int]bool
	frames  int
	bytes   int
	dropped int
	gens    int // hops (generations of frames) in the last settle
	unreach map[int]bool
}

type pending struct {
	from, to int
	frame    []byte
}

type recorder struct {
	got  []*Message
	lost [][3]uint64
}

func (r *recorder) Deliver(m *Message) { r.got = append(r.got, m) }
func (r *recorder) Lost(_ NodeID, from, to uint64) {
	r.lost = append(r.lost, [3]uint64{0, from, to})
}

type netTransport struct {
	n    *testNet
	from int
}

func (tr *netTransport) Send(to NodeID, frame []byte) {
	tr.n.queue = append(tr.n.queue, pending{from: tr.from, to: tr.n.byID[to], frame: frame})
}

// Unreachable implements Reachability for the nodes the test marks.
func (tr *netTransport) Unreachable(id NodeID) bool { return tr.n.unreach[tr.n.byID[id]] }

func nodeName(i int) NodeID { return NodeID(fmt.Sprintf("n%04d", i)) }

// eachQueued decodes every queued frame node from sent and calls fn with
// its destination.
func (tn *testNet) eachQueued(t testing.TB, from int, fn func(to int, f *Frame)) {
	t.Helper()
	for _, p := range tn.queue {
		if p.from != from {
			continue
		}
		f, err := DecodeFrame(p.frame, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		fn(p.to, f)
	}
}

// newTestNet builds n engines; tweak adjusts each config.
func newTestNet(t testing.TB, n int, seed uint64, tweak func(i int, c *Config)) *testNet {
	t.Helper()
	tn := &testNet{t: t, byID: map[NodeID]int{}, rng: rand.New(rand.NewPCG(seed, 99)), down: map[int]bool{}}
	ids := make([]NodeID, n)
	for i := range ids {
		ids[i] = nodeName(i)
		tn.byID[ids[i]] = i
	}
	for i := 0; i < n; i++ {
		peers := make([]NodeID, 0, n-1)
		for j, id := range ids {
			if j != i {
				peers = append(peers, id)
			}
		}
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		c := DefaultConfig()
		c.ID = ids[i]
		c.Rand = rng
		c.Sampler = &StaticSampler{Peers: peers, Rand: rng}
		c.Transport = &netTransport{n: tn, from: i}
		app := &recorder{}
		c.App = app
		if tweak != nil {
			tweak(i, &c)
		}
		e, err := New(c)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		tn.nodes = append(tn.nodes, e)
		tn.apps = append(tn.apps, app)
	}
	return tn
}

// settle delivers queued frames (and what they cause) until none are left.
func (tn *testNet) settle() {
	tn.gens = 0
	for len(tn.queue) > 0 {
		tn.gens++
		q := tn.queue
		tn.queue = nil
		for _, p := range q {
			tn.frames++
			tn.bytes += len(p.frame)
			if tn.down[p.to] || tn.down[p.from] {
				tn.dropped++
				continue
			}
			if tn.loss > 0 && tn.rng.Float64() < tn.loss {
				tn.dropped++
				continue
			}
			if err := tn.nodes[p.to].Step(tn.nodes[p.from].ID(), p.frame); err != nil {
				tn.t.Fatalf("node %d: Step: %v", p.to, err)
			}
		}
	}
}

// round ticks every live node once and settles.
func (tn *testNet) round() {
	for i, e := range tn.nodes {
		if !tn.down[i] {
			e.Tick()
		}
	}
	tn.settle()
}

// have counts live nodes that have seen k.
func (tn *testNet) have(k MsgKey) int {
	c := 0
	for i, e := range tn.nodes {
		if !tn.down[i] && e.Has(k) {
			c++
		}
	}
	return c
}

func (tn *testNet) live() int { return len(tn.nodes) - len(tn.down) }

// runUntil runs rounds until every live node has k or max rounds pass; it
// returns the rounds taken (max+1 if not reached).
func (tn *testNet) runUntil(k MsgKey, max int) int {
	for r := 1; r <= max; r++ {
		tn.round()
		if tn.have(k) == tn.live() {
			return r
		}
	}
	return max + 1
}

func (tn *testNet) publish(i int, topic string, payload []byte) *Message {
	tn.t.Helper()
	m, err := tn.nodes[i].Publish(topic, payload)
	if err != nil {
		tn.t.Fatalf("Publish: %v", err)
	}
	tn.settle()
	return m
}
