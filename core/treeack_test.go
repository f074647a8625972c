package core

import (
	"slices"
	"testing"
)

// ackNet is a tree-push net with acknowledged tree push on (no rounds or
// pull within a test).
// Every node is ticked past its first TreeAckTicks, during which a new node
// acknowledges whatever it sees.
func ackNet(t *testing.T, n int, tweak func(i int, c *Config)) *testNet {
	tn := treeNet(t, n, 4, 3, func(i int, c *Config) {
		c.TreeAckTicks = 50
		c.RoundTicks, c.PullEvery = 1000, 1000
		if tweak != nil {
			tweak(i, c)
		}
	})
	for i := 0; i < 50; i++ {
		for _, e := range tn.nodes {
			e.Tick()
		}
	}
	tn.settle()
	return tn
}

// A new node asks for acknowledgements for its first TreeAckTicks.
func TestTreeAckOnAtStart(t *testing.T) {
	tn := treeNet(t, 20, 4, 3, func(i int, c *Config) { c.TreeAckTicks = 50 })
	m := publishHeld(t, tn, 0, []byte("x"))
	if _, asked := treeTargets(t, tn, 0, m.Key()); len(asked) == 0 || slices.Contains(asked, false) {
		t.Fatalf("a new node's tree bodies asked %v, want every one asked", asked)
	}
	tn.settle()
	if st := tn.nodes[0].TreeAckStats(); st.Requested == 0 || st.Acked != st.Requested {
		t.Fatalf("%+v", st)
	}
}

// publishHeld publishes on node i and leaves what it sends queued.
func publishHeld(t *testing.T, tn *testNet, i int, payload []byte) *Message {
	t.Helper()
	m, err := tn.nodes[i].Publish("t", payload)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// framesTo decodes the queued frames from node from to node to.
func framesTo(t *testing.T, tn *testNet, from, to int) []*Frame {
	t.Helper()
	var out []*Frame
	for _, p := range tn.queue {
		if p.from == from && p.to == to {
			f, err := DecodeFrame(p.frame, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, f)
		}
	}
	return out
}

// treeTargets lists the nodes node from sent a tree body of k to in the
// queued frames, and whether each frame asked for an acknowledgement.
func treeTargets(t *testing.T, tn *testNet, from int, k MsgKey) (to []int, asked []bool) {
	t.Helper()
	tn.eachQueued(t, from, func(dst int, f *Frame) {
		for _, tm := range f.Tree {
			if tm.Msg.Key() == k {
				to, asked = append(to, dst), append(asked, f.AckRequest)
			}
		}
	})
	return to, asked
}

// Without loss seen nothing asks for or sends acknowledgements: the wire
// is what it was without TreeAckTicks.
func TestTreeAckOffWithoutLoss(t *testing.T) {
	tn := ackNet(t, 20, nil)
	m := publishHeld(t, tn, 0, []byte("x"))
	if _, asked := treeTargets(t, tn, 0, m.Key()); slices.Contains(asked, true) {
		t.Fatal("the origin asked for acknowledgements without having seen loss")
	}
	tn.settle()
	if got := tn.have(m.Key()); got != 20 {
		t.Fatalf("the tree reached %d of 20", got)
	}
	for i, e := range tn.nodes {
		if st := e.TreeAckStats(); st != (TreeAckStats{}) {
			t.Fatalf("node %d: %+v", i, st)
		}
	}
}

// A message that arrives outside the tree is loss: from then on the node
// asks for acknowledgements, the child acknowledges, and an acknowledged
// body is not sent again.
func TestTreeAckAfterLossSeen(t *testing.T) {
	tn := ackNet(t, 20, nil)
	a := tn.nodes[0]
	m1 := publishHeld(t, tn, 1, []byte("1"))
	tn.queue = nil
	if err := a.Step(tn.nodes[1].ID(), EncodeFrame(&Frame{Messages: []*Message{m1}})); err != nil {
		t.Fatal(err)
	}
	if a.TreeAckStats().LossSeen != 1 {
		t.Fatalf("%+v, want LossSeen 1", a.TreeAckStats())
	}
	tn.queue = nil
	m := publishHeld(t, tn, 0, []byte("x"))
	to, asked := treeTargets(t, tn, 0, m.Key())
	if len(to) == 0 || slices.Contains(asked, false) {
		t.Fatalf("tree bodies to %v asked %v, want every one asked", to, asked)
	}
	tn.settle()
	st := a.TreeAckStats()
	if st.Requested != uint64(len(to)) || st.Acked != st.Requested || a.AwaitingAnswers() {
		t.Fatalf("%+v, awaiting %v: want %d requested and acknowledged", st, a.AwaitingAnswers(), len(to))
	}
	a.ResendUnanswered()
	a.ResendUnanswered()
	if len(tn.queue) != 0 || a.TreeAckStats().Resent != 0 {
		t.Fatal("an acknowledged body was sent again")
	}

	// TreeAckTicks after the loss, with nothing lost since, the node
	// stops asking: the acknowledgements it asked for do not keep it on.
	for i := 0; i < 60; i++ {
		for _, e := range tn.nodes {
			e.Tick()
		}
		m = publishHeld(t, tn, 0, []byte{byte(i)})
		_, asked := treeTargets(t, tn, 0, m.Key())
		if on := slices.Contains(asked, true); on != (a.Ticks() < 100) {
			t.Fatalf("tick %d: asking for acknowledgements %v", a.Ticks(), on)
		}
		tn.settle()
	}
}

// A tree body whose acknowledgement does not come is sent again, with its
// arc, to the same child on the second ResendUnanswered after it was sent;
// the child forwards it along its subtree, and after treeAckResends
// unanswered resends the next member of the child's arc heads it.
func TestTreeAckResendsThenReroutes(t *testing.T) {
	tn := ackNet(t, 20, nil)
	a := tn.nodes[0]
	a.sawLoss()
	m := publishHeld(t, tn, 0, []byte("x"))
	to, _ := treeTargets(t, tn, 0, m.Key())
	lost := to[0]
	var q []pending
	for _, p := range tn.queue {
		if p.to != lost {
			q = append(q, p)
		}
	}
	tn.queue = q // the body to the first child is lost
	tn.settle()
	below := tn.live() - tn.have(m.Key())
	if below < 2 {
		t.Fatalf("only %d members miss the body: pick a seed where the lost child heads a subtree", below)
	}
	a.ResendUnanswered()
	if len(tn.queue) != 0 {
		t.Fatal("resent before the second call")
	}
	a.ResendUnanswered()
	if got, _ := treeTargets(t, tn, 0, m.Key()); !slices.Equal(got, []int{lost}) {
		t.Fatalf("resent to %v, want [%d]", got, lost)
	}
	tn.settle()
	if got := tn.have(m.Key()); got != tn.live() {
		t.Fatalf("after the resend %d of %d have it", got, tn.live())
	}
	if st := a.TreeAckStats(); st.Resent != 1 || st.Acked != st.Requested || a.AwaitingAnswers() {
		t.Fatalf("%+v", st)
	}

	// A child that never answers (down): two resends, then its arc's next
	// member, which forwards to the rest of the arc.
	tn2 := ackNet(t, 20, nil)
	a = tn2.nodes[0]
	a.sawLoss()
	m = publishHeld(t, tn2, 0, []byte("y"))
	to, _ = treeTargets(t, tn2, 0, m.Key())
	dead := to[0]
	tn2.down[dead] = true
	tn2.settle()
	missing := tn2.live() - tn2.have(m.Key())
	if missing == 0 {
		t.Fatal("the dead child's arc was empty")
	}
	for i := 0; i < 16; i++ { // resends every 2 calls, then the successor
		a.ResendUnanswered()
		tn2.settle()
	}
	st := a.TreeAckStats()
	// Loss seen: the test's own, then the second resend to the child and
	// the resend to its successor (each after an unanswered one).
	if st.Resent != treeAckResends+1 || st.Rerouted != 1 || st.LossSeen != 3 {
		t.Fatalf("%+v, want %d resends, 1 reroute and 3 losses seen", st, treeAckResends+1)
	}
	if got := tn2.have(m.Key()); got != tn2.live() {
		t.Fatalf("after the reroute %d of %d live members have it", got, tn2.live())
	}
}

// A child that sees loss acknowledges tree bodies unasked, and its parent
// then asks it for acknowledgements (an origin that receives nothing would
// never see loss itself).
func TestTreeAckUnaskedTurnsParentOn(t *testing.T) {
	tn := ackNet(t, 20, nil)
	a := tn.nodes[0]
	m := publishHeld(t, tn, 0, []byte("x"))
	to, _ := treeTargets(t, tn, 0, m.Key())
	child := tn.nodes[to[0]]
	child.sawLoss()
	tn.settle()
	if child.TreeAckStats().AcksSent != 1 {
		t.Fatalf("child %+v, want 1 acknowledgement sent", child.TreeAckStats())
	}
	requested := 0
	for j := 0; j < 10; j++ {
		m2 := publishHeld(t, tn, 0, []byte{byte(j)})
		got, asked := treeTargets(t, tn, 0, m2.Key())
		for i, id := range got {
			if want := id == to[0]; asked[i] != want {
				t.Fatalf("body to %d asked %v, want %v", id, asked[i], want)
			}
			if id == to[0] {
				requested++
			}
		}
		tn.settle()
	}
	if st := a.TreeAckStats(); requested == 0 || st.Requested != uint64(requested) || st.Acked != st.Requested {
		t.Fatalf("%+v, want %d requested and acknowledged", st, requested)
	}
}

// With FastWantRetries an IWANT that brings nothing is asked again, of the
// next announcer, on the second ResendUnanswered after it was sent, at most
// FastWantRetries times, and the retries do not use up the asks Tick makes
// before giving up.
func TestFastWantRetries(t *testing.T) {
	tn := newTestNet(t, 3, 1, func(i int, c *Config) { c.IWantDelay, c.IWantTimeout, c.FastWantRetries = 0, 2, 2 })
	a, b := tn.nodes[0], tn.nodes[2]
	m, err := a.Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	tn.queue = nil
	for _, from := range []int{0, 1} {
		if err := b.Step(tn.nodes[from].ID(), EncodeFrame(&Frame{IHave: []MsgKey{m.Key()}})); err != nil {
			t.Fatal(err)
		}
	}
	if to := iwantsTo(t, tn, 2, m.Key()); !slices.Equal(to, []int{0}) {
		t.Fatalf("asked %v, want [0]", to)
	}
	tn.queue = nil // lost
	if !b.AwaitingAnswers() {
		t.Fatal("an unanswered IWANT is not awaited")
	}
	var asked []int
	for i := 0; i < 8; i++ {
		b.ResendUnanswered()
		asked = append(asked, iwantsTo(t, tn, 2, m.Key())...)
		tn.queue = nil
	}
	if !slices.Equal(asked, []int{1, 0}) {
		t.Fatalf("asked again %v, want [1 0] (next announcer, FastWantRetries times)", asked)
	}
	if b.AwaitingAnswers() {
		t.Fatal("still awaiting answers with no fast retry left")
	}
	for i := 0; i < 20; i++ {
		tn.queue = nil
		b.Tick()
	}
	st := b.Stats()
	if st.IWantsSent != 2+minWantAsks || st.WantsExpired != 1 {
		t.Fatalf("IWANTs %d, expired %d; want %d, 1", st.IWantsSent, st.WantsExpired, 2+minWantAsks)
	}
}

func TestTreeAckWire(t *testing.T) {
	f := &Frame{AckRequest: true, TreeAcks: []uint64{1, 1 << 63, AckHash(MsgKey{"o", 7})}}
	g, err := DecodeFrame(EncodeFrame(f), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !g.AckRequest || !slices.Equal(g.TreeAcks, f.TreeAcks) {
		t.Fatalf("round trip: %+v", g)
	}
	for _, bad := range [][]byte{
		{WireVersion, RecTreeAck, 0},                      // no acknowledgement
		{WireVersion, RecTreeAck, 3, 1, 2, 3},             // not a multiple of 8
		{WireVersion, RecAckRequest, 1, 0},                // a body
		{WireVersion, RecAckRequest, 0, RecAckRequest, 0}, // twice
	} {
		if _, err := DecodeFrame(bad, DefaultLimits()); err == nil {
			t.Errorf("%x decoded", bad)
		}
	}
	lim := DefaultLimits()
	lim.MaxKeys = 1
	if _, err := DecodeFrame(EncodeFrame(&Frame{TreeAcks: []uint64{1, 2}}), lim); err == nil {
		t.Error("two acknowledgements decoded with MaxKeys 1")
	}
	if AckHash(MsgKey{"o", 7}) == AckHash(MsgKey{"o", 8}) || AckHash(MsgKey{"o", 7}) == AckHash(MsgKey{"p", 7}) {
		t.Error("AckHash ignores part of the key")
	}
}

// The resend timeout follows the acknowledgements' round trip, counted in
// ResendUnanswered calls: acknowledgements that take 5 calls (a busy host)
// make bodies wait longer than that before they are resent, instead of
// being resent after 2 calls and duplicated.
func TestTreeAckTimeoutAdapts(t *testing.T) {
	tn := ackNet(t, 20, nil)
	a := tn.nodes[0]
	a.sawLoss()
	if got := a.ackRTO(); got != 2 {
		t.Fatalf("initial timeout %d calls, want 2", got)
	}
	for j := 0; j < 20; j++ {
		before := a.TreeAckStats().Resent
		publishHeld(t, tn, 0, []byte{byte(j)})
		sent := tn.queue
		tn.queue = nil
		for i := 0; i < 5; i++ { // the acknowledgements take 5 calls
			a.ResendUnanswered()
		}
		if a.TreeAckStats().Resent > before && j >= 10 {
			t.Fatalf("message %d: resent with the timeout at %d calls", j, a.ackRTO())
		}
		tn.queue = append(tn.queue, sent...)
		tn.settle()
		tn.queue = nil
		for _, e := range tn.nodes {
			e.unacked = e.unacked[:0] // the early resends' leftovers
		}
	}
	if got := a.ackRTO(); got < 5 || got > maxAckRTO {
		t.Fatalf("timeout %d calls after round trips of 5, want 5-%d", got, maxAckRTO)
	}
}

// With IWantDelayCalls the first IWANT for an announced body goes out on
// the IWantDelayCalls-th ResendUnanswered call, long before IWantDelay's
// ticks, and not at all when the body arrives first.
func TestIWantDelayCalls(t *testing.T) {
	tn := newTestNet(t, 3, 1, func(i int, c *Config) { c.IWantDelay, c.IWantTimeout, c.IWantDelayCalls = 5, 2, 3 })
	a, b := tn.nodes[0], tn.nodes[2]
	m1, err := a.Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := a.Publish("t", []byte("y"))
	if err != nil {
		t.Fatal(err)
	}
	tn.queue = nil
	if err := b.Step(a.ID(), EncodeFrame(&Frame{IHave: []MsgKey{m1.Key(), m2.Key()}})); err != nil {
		t.Fatal(err)
	}
	if to := iwantsTo(t, tn, 2, m1.Key()); len(to) != 0 {
		t.Fatalf("asked %v at once, want after IWantDelayCalls calls", to)
	}
	if !b.AwaitingAnswers() {
		t.Fatal("a delayed announcement is not awaited: the adapter would not call ResendUnanswered")
	}
	// m2's body arrives before the wait is over: never asked for.
	if err := b.Step(a.ID(), EncodeFrame(&Frame{Messages: []*Message{m2}})); err != nil {
		t.Fatal(err)
	}
	tn.queue = nil
	var asked []int
	for call := 1; call <= 3; call++ {
		b.ResendUnanswered()
		if to := iwantsTo(t, tn, 2, m2.Key()); len(to) != 0 {
			t.Fatalf("call %d: asked for a body that had arrived", call)
		}
		if to := iwantsTo(t, tn, 2, m1.Key()); len(to) != 0 {
			asked = append(asked, call)
		}
		tn.queue = nil
	}
	if !slices.Equal(asked, []int{3}) {
		t.Fatalf("asked at calls %v, want [3]", asked)
	}
	if got := b.TreeAckStats().WantsAskedEarly; got != 1 {
		t.Fatalf("WantsAskedEarly %d, want 1", got)
	}
}
