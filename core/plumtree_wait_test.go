package core

import (
	"slices"
	"testing"
)

// waitNet is three Plumtree nodes, each the others' neighbour: 0 publishes,
// 1 announces, 2 asks (Config.PlumAdaptWait on).
func waitNet(t *testing.T, adapt bool, tweaks ...func(c *Config)) *testNet {
	return newTestNet(t, 3, 1, func(i int, c *Config) {
		var nbrs []NodeID
		for j := 0; j < 3; j++ {
			if j != i {
				nbrs = append(nbrs, nodeName(j))
			}
		}
		c.Plumtree = true
		c.Sampler = &nbrSampler{peers: nbrs, rng: c.Rand, ver: 1, n: 3}
		c.LazyThreshold = 1
		c.IWantDelay, c.IWantDelayCalls, c.IWantTimeout = 2, 3, 5
		c.PlumAdaptWait = adapt
		for _, f := range tweaks {
			f(c)
		}
	})
}

// announceNew publishes a message at node 0 (its frames dropped) and has
// node 2 hear it announced by the nodes announcers, in order.
func announceNew(t *testing.T, tn *testNet, announcers ...int) *Message {
	t.Helper()
	m, err := tn.nodes[0].Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	tn.queue = nil
	for _, i := range announcers {
		if err := tn.nodes[2].Step(tn.nodes[i].ID(), EncodeFrame(&Frame{IHave: []MsgKey{m.Key()}})); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// askOnce has node 2 hear an announcement of a new message of node 0 from
// node 1, calls ResendUnanswered until node 2 asks node 1 for it, and
// returns the calls that took. Node 1 then answers; unless eagerAfter is
// negative, node 0's eager copy arrives eagerAfter calls after the answer.
func askOnce(t *testing.T, tn *testNet, eagerAfter int) int {
	t.Helper()
	a, ann, b := tn.nodes[0], tn.nodes[1], tn.nodes[2]
	m := announceNew(t, tn, 1)
	calls := 0
	for len(iwantsTo(t, tn, 2, m.Key())) == 0 {
		tn.queue = nil
		if calls++; calls > 100 {
			t.Fatal("never asked")
		}
		b.ResendUnanswered()
	}
	tn.queue = nil
	if err := b.Step(ann.ID(), EncodeFrame(&Frame{Messages: []*Message{m}})); err != nil {
		t.Fatal(err)
	}
	if eagerAfter >= 0 {
		for i := 0; i < eagerAfter; i++ {
			b.ResendUnanswered()
		}
		if err := b.Step(a.ID(), EncodeFrame(&Frame{Messages: []*Message{m}})); err != nil {
			t.Fatal(err)
		}
	}
	tn.queue = nil
	return calls
}

// Asks whose eager copy arrives after the answer lengthen the wait, a
// window of plumWaitWindow asks at a time (weighed at the answer to the
// next ask), up to 8 times; asks with no later copy (a body really lost)
// shorten it again, and so does time.
func TestPlumAdaptWait(t *testing.T) {
	tn := waitNet(t, true)
	b := tn.nodes[2]
	var waits []int
	for i := 0; i < 10; i++ {
		waits = append(waits, askOnce(t, tn, 0))
	}
	if want := []int{3, 3, 3, 6, 6, 12, 12, 24, 24, 24}; !slices.Equal(waits, want) {
		t.Fatalf("waits %v while every ask proved premature, want %v", waits, want)
	}
	st := b.PlumWaitStats()
	if st.Shift != maxPlumWaitShift || st.Raised != maxPlumWaitShift || st.Premature != st.Asks {
		t.Fatalf("stats %+v", st)
	}
	// Bodies really lost: the announcer's answer is the only copy.
	waits = waits[:0]
	for i := 0; i < 6; i++ {
		waits = append(waits, askOnce(t, tn, -1))
	}
	if want := []int{24, 24, 24, 12, 12, 6}; !slices.Equal(waits, want) {
		t.Fatalf("waits %v while no ask proved premature, want %v", waits, want)
	}
	// Time alone brings it down too.
	for i := 0; i < plumWaitDecayTicks; i++ {
		b.Tick()
		tn.queue = nil
	}
	if got := b.PlumWaitStats().Shift; got != 0 {
		t.Fatalf("after %d quiet ticks the shift is %d, want 0", plumWaitDecayTicks, got)
	}
}

// Without PlumAdaptWait, when the asks find bodies lost (no later copy),
// or when the eager copies come later than one more wait (the ask saved
// time), the wait stays as configured.
func TestPlumAdaptWaitStays(t *testing.T) {
	for _, c := range []struct {
		name       string
		adapt      bool
		eagerAfter int
	}{{"off", false, 0}, {"loss", true, -1}, {"late copies", true, 5}} {
		tn := waitNet(t, c.adapt)
		for i := 0; i < 4*plumWaitWindow; i++ {
			if got := askOnce(t, tn, c.eagerAfter); got != 3 {
				t.Fatalf("%s: ask %d waited %d calls, want 3", c.name, i, got)
			}
		}
		st := tn.nodes[2].PlumWaitStats()
		if c.eagerAfter > 0 && (st.LateCopies != st.Asks || st.Premature != 0) {
			t.Fatalf("%s: stats %+v, want every copy late and none premature", c.name, st)
		}
	}
}

// A body that comes first from a member not asked (the eager copy
// overtaking the answer) counts as premature as well.
func TestPlumAdaptWaitEagerFirst(t *testing.T) {
	tn := waitNet(t, true)
	a, b := tn.nodes[0], tn.nodes[2]
	for i := 0; i <= plumWaitWindow; i++ {
		m := announceNew(t, tn, 1)
		for c := 0; c < 3; c++ {
			b.ResendUnanswered()
		}
		if len(iwantsTo(t, tn, 2, m.Key())) == 0 {
			t.Fatal("not asked")
		}
		tn.queue = nil
		if err := b.Step(a.ID(), EncodeFrame(&Frame{Messages: []*Message{m}})); err != nil {
			t.Fatal(err)
		}
		tn.queue = nil
	}
	if st := b.PlumWaitStats(); st.Premature != plumWaitWindow+1 || st.Shift != 1 {
		t.Fatalf("stats %+v, want every ask premature and one doubling", st)
	}
}

// With WantRTT the answer to a first ask samples the round trip, so
// a host whose answers take nine calls asks again after eighteen (the
// round trip and twice its deviation), not after two (FastWantRetries with
// no round trip learnt).
func TestWantRTTSamplesAnswers(t *testing.T) {
	for _, c := range []struct {
		adapt bool
		want  int
	}{{false, 2}, {true, 18}} {
		tn := newTestNet(t, 3, 1, func(i int, cf *Config) {
			cf.IWantDelay, cf.IWantDelayCalls, cf.IWantTimeout, cf.FastWantRetries = 2, 1, 50, 1
			cf.WantRTT = c.adapt
		})
		ann, b := tn.nodes[1], tn.nodes[2]
		retryAfter := func(answerAt int) int {
			m := announceNew(t, tn, 1, 0)
			b.ResendUnanswered() // the first ask, to ann
			if to := iwantsTo(t, tn, 2, m.Key()); len(to) != 1 || to[0] != 1 {
				t.Fatalf("first ask to %v, want [1]", to)
			}
			tn.queue = nil
			retry := 0
			for call := 1; call <= 40; call++ {
				if call == answerAt {
					if err := b.Step(ann.ID(), EncodeFrame(&Frame{Messages: []*Message{m}})); err != nil {
						t.Fatal(err)
					}
				}
				b.ResendUnanswered()
				if to := iwantsTo(t, tn, 2, m.Key()); len(to) > 0 && retry == 0 {
					retry = call
				}
				tn.queue = nil
			}
			return retry
		}
		retryAfter(10) // asked again after two calls; answered nine calls after the first ask
		if got := retryAfter(40); got != c.want {
			t.Fatalf("adapt %v: asked again after %d calls, want %d", c.adapt, got, c.want)
		}
	}
}

// While the wait is raised an asked body is not asked again between ticks
// (FastWantRetries), and the ask does not turn the round announcements on.
func TestPlumAdaptWaitRaisedNoRetries(t *testing.T) {
	for _, raised := range []bool{false, true} {
		tn := waitNet(t, true, func(c *Config) {
			c.IWantDelayCalls, c.IWantTimeout, c.FastWantRetries, c.PlumRoundsAfterLoss = 1, 50, 2, 50
		})
		b := tn.nodes[2]
		if raised {
			b.plumWait.shift = 1
		}
		announceNew(t, tn, 1, 0)
		for i := 0; i < 10; i++ {
			b.ResendUnanswered()
		}
		want := uint64(2)
		if raised {
			want = 0
		}
		if got := b.TreeAckStats().WantsRetried; got != want {
			t.Fatalf("raised %v: %d fast retries, want %d", raised, got, want)
		}
		if got := b.Stats().IWantsSent; got != want+1 {
			t.Fatalf("raised %v: %d IWANTs, want %d", raised, got, want+1)
		}
		if rounds := b.plum.lossUntil > 0; rounds == raised {
			t.Fatalf("raised %v: round announcements on %v", raised, rounds)
		}
	}
}
