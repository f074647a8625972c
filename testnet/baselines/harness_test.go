package baselines

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// node is what the test network drives.
type node interface {
	ID() core.NodeID
	Tick()
	Step(from core.NodeID, frame []byte) error
}

type inflight struct {
	at       uint64
	from, to int
	frame    []byte
}

// testNet is a tiny deterministic tick-based network: a frame sent at tick t
// is handed over at tick t+latency(from, to) (at least 1), before that
// tick's Tick calls. drop, if set, decides per frame whether it is lost.
type testNet struct {
	t       *testing.T
	ids     []core.NodeID
	byID    map[core.NodeID]int
	nodes   []node
	apps    []*recorder
	now     uint64
	queue   []inflight
	down    map[int]bool
	latency func(from, to int) uint64
	drop    func(from, to int, frame []byte) bool
	sent    int
	log     []string
}

type recorder struct {
	got []core.MsgKey
	at  []uint64
	net *testNet
}

func (r *recorder) Deliver(m *core.Message) {
	r.got = append(r.got, m.Key())
	r.at = append(r.at, r.net.now)
}

func (r *recorder) has(seq uint64) bool {
	return slices.ContainsFunc(r.got, func(k core.MsgKey) bool { return k.Seq == seq })
}

func (r *recorder) when(seq uint64) uint64 {
	for i, k := range r.got {
		if k.Seq == seq {
			return r.at[i]
		}
	}
	return 0
}

type tport struct {
	n    *testNet
	from int
}

func (tp *tport) Send(to core.NodeID, frame []byte) {
	n := tp.n
	n.sent++
	j, ok := n.byID[to]
	if !ok {
		n.t.Fatalf("send to unknown node %q", to)
	}
	if n.down[tp.from] || (n.drop != nil && n.drop(tp.from, j, frame)) {
		return
	}
	lat := uint64(1)
	if n.latency != nil {
		lat = max(n.latency(tp.from, j), 1)
	}
	n.queue = append(n.queue, inflight{at: n.now + lat, from: tp.from, to: j, frame: frame})
}

func tid(i int) core.NodeID { return core.NodeID(fmt.Sprintf("n%03d", i)) }

func newTestNet(t *testing.T, n int) (*testNet, *Group) {
	tn := &testNet{t: t, byID: map[core.NodeID]int{}, down: map[int]bool{}}
	for i := 0; i < n; i++ {
		tn.ids = append(tn.ids, tid(i))
		tn.byID[tid(i)] = i
		tn.apps = append(tn.apps, &recorder{net: tn})
	}
	g, err := NewGroup(tn.ids)
	if err != nil {
		t.Fatal(err)
	}
	tn.nodes = make([]node, n)
	return tn, g
}

func (tn *testNet) transport(i int) core.Transport { return &tport{n: tn, from: i} }

// step advances one tick: deliver the frames due, then tick every live node.
func (tn *testNet) step() {
	tn.now++
	q := tn.queue
	tn.queue = nil
	for _, f := range q {
		if f.at > tn.now {
			tn.queue = append(tn.queue, f)
			continue
		}
		if tn.down[f.to] {
			continue
		}
		if err := tn.nodes[f.to].Step(tn.ids[f.from], f.frame); err != nil {
			tn.t.Fatalf("node %d: Step: %v", f.to, err)
		}
	}
	for i, nd := range tn.nodes {
		if !tn.down[i] {
			nd.Tick()
		}
	}
}

func (tn *testNet) run(ticks int) {
	for i := 0; i < ticks; i++ {
		tn.step()
	}
}

// runUntil steps until cond holds or max ticks pass; it reports success.
func (tn *testNet) runUntil(cond func() bool, max int) bool {
	for i := 0; i < max; i++ {
		if cond() {
			return true
		}
		tn.step()
	}
	return cond()
}

// allHave reports whether every live node delivered seq.
func (tn *testNet) allHave(seq uint64) bool {
	for i, a := range tn.apps {
		if !tn.down[i] && !a.has(seq) {
			return false
		}
	}
	return true
}

// hasRecord reports whether frame holds a record of type typ.
func hasRecord(frame []byte, typ uint8) bool {
	f, err := core.DecodeFrame(frame, core.DefaultLimits())
	if err != nil {
		return false
	}
	if typ == core.RecMessage {
		return len(f.Messages) > 0
	}
	for _, r := range f.Records {
		if r.Type == typ {
			return true
		}
	}
	return false
}

// dataSeq returns the sequence number of the first message in frame, or 0.
func dataSeq(frame []byte) uint64 {
	f, err := core.DecodeFrame(frame, core.DefaultLimits())
	if err != nil || len(f.Messages) == 0 {
		return 0
	}
	return f.Messages[0].Seq
}

func testRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }
