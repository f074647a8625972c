package grapevine

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
)

// memNet is an in-memory network: frames queue up and are delivered, in
// order, when deliver is called. Loss and crashes are per node.
type memNet struct {
	nodes map[core.NodeID]*Node
	order []core.NodeID
	queue []memFrame
	down  map[core.NodeID]bool
}

type memFrame struct {
	from, to core.NodeID
	b        []byte
}

type memTransport struct {
	net  *memNet
	from core.NodeID
}

func (t memTransport) Send(to core.NodeID, frame []byte) {
	if t.net.down[t.from] {
		return
	}
	t.net.queue = append(t.net.queue, memFrame{t.from, to, frame})
}

func (n *memNet) deliver() error {
	for len(n.queue) > 0 {
		q := n.queue
		n.queue = nil
		for _, f := range q {
			dst := n.nodes[f.to]
			if dst == nil || n.down[f.to] {
				continue
			}
			if err := dst.Step(f.from, f.b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (n *memNet) tick() error {
	for _, id := range n.order {
		if !n.down[id] {
			n.nodes[id].Tick()
		}
	}
	return n.deliver()
}

type inbox struct {
	got []string
}

func (b *inbox) Deliver(m *core.Message) { b.got = append(b.got, string(m.Payload)) }

func newNet(t testing.TB, n int, seed uint64, apps []*inbox) *memNet {
	net := buildNodes(t, n, seed, apps, nil)
	for _, id := range net.order[1:] {
		net.nodes[id].Join([]core.NodeID{net.order[0]})
	}
	if err := net.deliver(); err != nil {
		t.Fatal(err)
	}
	return net
}

// buildNodes makes n nodes on one memNet; tweak, if set, adjusts each
// node's configuration (its Transport already set).
func buildNodes(t testing.TB, n int, seed uint64, apps []*inbox, tweak func(*Config)) *memNet {
	net := &memNet{nodes: map[core.NodeID]*Node{}, down: map[core.NodeID]bool{}}
	for i := 0; i < n; i++ {
		id := core.NodeID(fmt.Sprintf("node-%02d", i))
		cfg := DefaultConfig()
		cfg.ID, cfg.Seed = id, seed
		cfg.Transport = memTransport{net, id}
		if apps != nil {
			cfg.App = apps[i]
		}
		if tweak != nil {
			tweak(&cfg)
		}
		nd, err := NewNode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		net.nodes[id] = nd
		net.order = append(net.order, id)
	}
	return net
}

func (n *memNet) allSee(k int) bool {
	for _, id := range n.order {
		if !n.down[id] && len(n.nodes[id].Members()) != k {
			return false
		}
	}
	return true
}

func TestNodeGossipOverMembership(t *testing.T) {
	const n = 30
	apps := make([]*inbox, n)
	for i := range apps {
		apps[i] = &inbox{}
	}
	net := newNet(t, n, 7, apps)
	for k := 0; k < 200 && !net.allSee(n); k++ {
		if err := net.tick(); err != nil {
			t.Fatal(err)
		}
	}
	if !net.allSee(n) {
		t.Fatal("membership did not converge")
	}
	if _, err := net.nodes[net.order[3]].Publish("t", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	// Crash a third of the group in the middle of the dissemination.
	if err := net.deliver(); err != nil {
		t.Fatal(err)
	}
	for i := 10; i < 20; i++ {
		net.down[net.order[i]] = true
	}
	for k := 0; k < 600; k++ {
		if err := net.tick(); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range net.order {
		if net.down[id] {
			continue
		}
		if !slices.Equal(apps[i].got, []string{"hello"}) {
			t.Errorf("%s delivered %q", id, apps[i].got)
		}
		if got := len(net.nodes[id].Members()); got != n-10 {
			t.Errorf("%s sees %d live members, want %d", id, got, n-10)
		}
	}
	st := net.nodes[net.order[0]].Stats()
	if st.Membership.UpdatesSent == 0 || st.Gossip.FramesSent == 0 {
		t.Errorf("no traffic counted: %+v", st)
	}
}

func TestNodeStepErrors(t *testing.T) {
	net := newNet(t, 2, 1, nil)
	nd := net.nodes[net.order[0]]
	if err := nd.Step("x", []byte{9, 9}); err == nil {
		t.Fatal("bad version accepted")
	}
	// A frame with a broken membership record and a good gossip message:
	// the message is still delivered.
	frame := core.NewFrame(nil)
	frame = core.AppendRecord(frame, membership.RecAck, []byte{0xff})
	frame = core.AppendMessageRecord(frame, &core.Message{Origin: "x", Seq: 1, Payload: []byte("p")})
	err := nd.Step("x", frame)
	if err == nil || !errors.Is(err, core.ErrTruncated) {
		t.Fatalf("broken record: err = %v", err)
	}
	if !nd.Has(core.MsgKey{Origin: "x", Seq: 1}) {
		t.Fatal("message of a frame with a broken membership record was lost")
	}
	st := nd.Stats()
	if st.Frames.DecodeErrors != 1 || st.Frames.RecordErrors != 1 {
		t.Fatalf("frame stats %+v", st.Frames)
	}
}

func TestNodeDeterministic(t *testing.T) {
	run := func() []string {
		apps := make([]*inbox, 8)
		for i := range apps {
			apps[i] = &inbox{}
		}
		net := newNet(t, 8, 42, apps)
		var trace []string
		for k := 0; k < 100; k++ {
			if k == 20 {
				net.nodes[net.order[1]].Publish("t", []byte("a"))
			}
			if k == 50 {
				net.down[net.order[5]] = true
			}
			if err := net.tick(); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range net.order {
			st := net.nodes[id].Stats()
			trace = append(trace, fmt.Sprintf("%s %d %d %d", id, st.Gossip.BytesSent, st.Membership.BytesSent, len(net.nodes[id].Members())))
		}
		return trace
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Fatalf("two runs with one seed differ:\n%v\n%v", a, b)
	}
}

func TestNewNodeValidates(t *testing.T) {
	if _, err := NewNode(Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
	cfg := DefaultConfig()
	cfg.ID, cfg.Transport = "a", memTransport{}
	cfg.Membership.ProbeInterval = 0
	if _, err := NewNode(cfg); err == nil {
		t.Fatal("bad membership config accepted")
	}
}

// Three nodes in memory: they join through the first, converge, and a
// message published by one reaches the others.
func Example() {
	net := &memNet{nodes: map[core.NodeID]*Node{}, down: map[core.NodeID]bool{}}
	inboxes := map[core.NodeID]*inbox{}
	for _, id := range []core.NodeID{"alice", "bob", "carol"} {
		cfg := DefaultConfig()
		cfg.ID, cfg.Seed = id, 1
		cfg.Transport = memTransport{net, id}
		inboxes[id] = &inbox{}
		cfg.App = inboxes[id]
		nd, err := NewNode(cfg)
		if err != nil {
			panic(err)
		}
		net.nodes[id] = nd
		net.order = append(net.order, id)
	}
	net.nodes["bob"].Join([]core.NodeID{"alice"})
	net.nodes["carol"].Join([]core.NodeID{"alice"})
	for i := 0; i < 50; i++ { // 5 s of 100 ms ticks
		net.tick()
	}
	for _, m := range net.nodes["carol"].Members() {
		fmt.Println(m.ID, m.State)
	}
	net.nodes["bob"].Publish("news", []byte("hello, group"))
	net.tick()
	fmt.Println(inboxes["alice"].got, inboxes["carol"].got)
	// Output:
	// alice alive
	// bob alive
	// carol alive
	// [hello, group] [hello, group]
}
