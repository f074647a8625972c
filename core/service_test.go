package core

import (
	"slices"
	"testing"
)

// fakeScore is a ServiceScore that scores a member unserving once one of
// its requests went unserved, until it serves a body again.
type fakeScore struct {
	*netTransport
	bad      map[NodeID]bool // scored unserving from the start
	unserved map[NodeID]int
	served   map[NodeID]int
}

func (f *fakeScore) Unserving(id NodeID) bool {
	return f.bad[id] || f.unserved[id] > 0 && f.served[id] == 0
}
func (f *fakeScore) Unserved(id NodeID) { f.unserved[id]++ }
func (f *fakeScore) Served(id NodeID)   { f.served[id]++ }

// serviceNet is a treeNet whose transports score service; stallers are
// members that swallow every frame they are sent (down: they stay in
// everyone's view and are never reported unreachable).
func serviceNet(t *testing.T, n int, seed uint64, tweak func(i int, c *Config)) (*testNet, []*fakeScore) {
	var scores []*fakeScore
	tn := treeNet(t, n, 4, seed, func(i int, c *Config) {
		f := &fakeScore{netTransport: c.Transport.(*netTransport), bad: map[NodeID]bool{},
			unserved: map[NodeID]int{}, served: map[NodeID]int{}}
		c.Transport = f
		scores = append(scores, f)
		if tweak != nil {
			tweak(i, c)
		}
	})
	return tn, scores
}

// Tree push passes over chunk heads scored unserving: with every staller
// scored, the tree alone reaches every serving member although the
// stallers swallow what they get. With every member scored unserving, the
// chunks still get the body (nobody better is available).
func TestTreePushRoutesAroundUnserving(t *testing.T) {
	stallers := []int{2, 5, 6, 7, 13, 21, 22, 23, 30, 31}
	for seed := uint64(1); seed <= 5; seed++ {
		tn, scores := serviceNet(t, 40, seed, nil)
		for _, i := range stallers {
			tn.down[i] = true
			for _, f := range scores {
				f.bad[nodeName(i)] = true
			}
		}
		m := tn.publish(0, "t", []byte("x"))
		if got := tn.have(m.Key()); got != tn.live() {
			t.Fatalf("seed %d: the tree alone reached %d of %d serving members", seed, got, tn.live())
		}
		var skipped uint64
		for _, e := range tn.nodes {
			skipped += e.ServiceStats().TreeSkipped
		}
		if skipped == 0 {
			t.Fatalf("seed %d: no chunk head passed over", seed)
		}
	}
	tn, scores := serviceNet(t, 20, 1, nil)
	for i := range tn.nodes {
		for _, f := range scores {
			f.bad[nodeName(i)] = true
		}
	}
	m := tn.publish(0, "t", []byte("x"))
	if got := tn.have(m.Key()); got != tn.live() {
		t.Fatalf("all unserving: the tree reached %d of %d", got, tn.live())
	}
	if tn.nodes[0].ServiceStats().TreeFallback == 0 {
		t.Fatal("all unserving: no fallback counted")
	}
}

// A member with a gap asks by pull; the stallers it asks never answer and
// are reported unserved, the serving member never is, and once the
// stallers are scored the digests go to serving members.
func TestPullReportsAndAvoidsUnserving(t *testing.T) {
	const n = 12
	tn, scores := serviceNet(t, n, 3, func(i int, c *Config) {
		c.Mode = Pull
		c.PullFanout = 1
	})
	stallers := map[int]bool{}
	for i := 3; i < n; i++ {
		stallers[i] = true
		tn.down[i] = true
	}
	// Node 1 holds messages 1-5 of node 2's; node 0 holds 1 and 5 (a gap).
	src := tn.nodes[2]
	var msgs []*Message
	for i := 0; i < 5; i++ {
		m, err := src.Publish("t", []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	tn.queue = nil
	tn.down[2] = true // the origin is gone: only node 1 can serve
	for _, m := range msgs {
		tn.nodes[1].receive(src.ID(), m, false, 0, 0)
	}
	tn.nodes[0].receive(src.ID(), msgs[0], false, 0, 0)
	tn.nodes[0].receive(src.ID(), msgs[4], false, 0, 0)
	tn.queue = nil
	f := scores[0]
	for r := 0; r < 400 && !tn.nodes[0].Has(msgs[2].Key()); r++ {
		tn.round()
	}
	if !tn.nodes[0].Has(msgs[2].Key()) {
		t.Fatal("the gap was never repaired")
	}
	if f.unserved[nodeName(1)] != 0 {
		t.Fatalf("the serving member was reported unserved %d times", f.unserved[nodeName(1)])
	}
	if len(f.unserved) == 0 {
		t.Fatal("no staller reported unserved")
	}
	for id := range f.unserved {
		if !stallers[tn.byID[id]] && id != src.ID() {
			t.Fatalf("%s reported unserved", id)
		}
	}
	st := tn.nodes[0].ServiceStats()
	if st.Unserved != uint64(func() int {
		s := 0
		for _, v := range f.unserved {
			s += v
		}
		return s
	}()) {
		t.Fatalf("Unserved %d does not match the reports", st.Unserved)
	}
	if st.TargetsSkipped == 0 {
		t.Fatal("no pull target was passed over")
	}
}

// An announcer asked for a body that does not answer is reported unserved
// (a broken promise), and the next IWANT goes to an announcer that serves.
func TestIWantBrokenPromise(t *testing.T) {
	tn, scores := serviceNet(t, 4, 1, func(i int, c *Config) {
		c.IWantDelay = 0
		c.IWantTimeout = 2
		c.Mode = Push
	})
	tn.down[3] = true // announces, never serves
	src := tn.nodes[1]
	m, err := src.Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	tn.queue = nil
	liar, honest := tn.nodes[3].ID(), tn.nodes[2].ID()
	tn.nodes[2].receive(src.ID(), m, false, 0, 0)
	tn.queue = nil
	e := tn.nodes[0]
	e.onIHave(liar, []MsgKey{m.Key()})
	e.onIHave(honest, []MsgKey{m.Key()})
	e.flush()
	tn.settle() // the IWANT to the liar is swallowed
	f := scores[0]
	for r := 0; r < 10 && !e.Has(m.Key()); r++ {
		e.Tick()
		tn.settle()
	}
	if !e.Has(m.Key()) {
		t.Fatal("the body never came")
	}
	if f.unserved[liar] != 1 || f.unserved[honest] != 0 {
		t.Fatalf("unserved: liar %d, honest %d; want 1, 0", f.unserved[liar], f.unserved[honest])
	}
	if f.served[honest] != 1 {
		t.Fatalf("served by the honest announcer: %d", f.served[honest])
	}
}

// A member whose digest lacks a body sent to it well before took it and
// never read it: reported unserved; one whose digest holds it is not.
func TestDigestShowsUnreadBody(t *testing.T) {
	tn, scores := serviceNet(t, 3, 1, func(i int, c *Config) {
		c.TreeFanout = 2
		c.Mode = Push
	})
	a := tn.nodes[0]
	reader, staller := tn.nodes[1].ID(), tn.nodes[2].ID()
	tn.down[2] = true
	m := tn.publish(0, "t", []byte("x"))
	if !tn.nodes[1].Has(m.Key()) {
		t.Fatal("the tree did not reach the reader")
	}
	empty := EncodeFrame(&Frame{Digest: &Digest{}})
	holds := EncodeFrame(&Frame{Digest: &Digest{Entries: []DigestEntry{{Origin: a.ID(), Contiguous: m.Seq}}}})
	// Too early: nothing is concluded yet.
	if err := a.Step(staller, empty); err != nil {
		t.Fatal(err)
	}
	if scores[0].unserved[staller] != 0 {
		t.Fatal("a body just sent was taken for unread")
	}
	for i := 0; i < a.cfg.IWantTimeout+a.cfg.RoundTicks; i++ {
		a.Tick()
		tn.queue = nil
	}
	for _, s := range []struct {
		id NodeID
		f  []byte
	}{{staller, empty}, {reader, holds}} {
		if err := a.Step(s.id, s.f); err != nil {
			t.Fatal(err)
		}
	}
	tn.queue = nil
	if scores[0].unserved[staller] != 1 || scores[0].unserved[reader] != 0 {
		t.Fatalf("unserved: staller %d, reader %d; want 1, 0", scores[0].unserved[staller], scores[0].unserved[reader])
	}
	if scores[0].served[reader] != 1 {
		t.Fatalf("the reader's digest confirmed the body: served %d, want 1", scores[0].served[reader])
	}
	if st := a.ServiceStats(); st.UnreadBodies != 1 {
		t.Fatalf("UnreadBodies %d", st.UnreadBodies)
	}
}

func TestDigestHasGaps(t *testing.T) {
	for _, tc := range []struct {
		de   DigestEntry
		gaps bool
	}{
		{DigestEntry{Contiguous: 5}, false},
		{DigestEntry{Contiguous: 0, Above: []uint64{1000, 1001, 1002}}, false}, // first seen at 1000
		{DigestEntry{Contiguous: 0, Above: []uint64{1000, 1002}}, true},
		{DigestEntry{Contiguous: 5, Above: []uint64{7}}, true},
		{DigestEntry{Contiguous: 5, Above: []uint64{6, 7}}, false}, // 6 wanted, listed as held
	} {
		if got := digestHasGaps(&Digest{Entries: []DigestEntry{tc.de}}); got != tc.gaps {
			t.Errorf("%+v: gaps %v, want %v", tc.de, got, tc.gaps)
		}
	}
}

// Tree children on probation (TreeAckProbeTicks): with no loss seen and
// past its first TreeAckTicks, the origin still asks a child that has not
// acknowledged within the probation for an acknowledgement; an honest
// child acknowledges and is not asked again until the probation comes
// round, while a staller never acknowledges: every body to it is asked
// for, resent and then handed to the next member of its arc, so its whole
// arc still gets the body from the tree, message after message. A staller
// handed over twice in a row is reported to the service score as unserved;
// a serving child never is.
func TestTreeAckProbationFindsStallers(t *testing.T) {
	stallers := []int{3, 9, 14}
	for seed := uint64(1); seed <= 5; seed++ {
		tn, scores := serviceNet(t, 30, seed, func(i int, c *Config) {
			c.TreeAckTicks, c.TreeAckProbeTicks = 50, 20
			c.RoundTicks, c.PullEvery = 1000, 1000
		})
		for i := 0; i < 50; i++ { // past TreeAckTicks: no loss seen
			for _, e := range tn.nodes {
				e.Tick()
			}
		}
		tn.settle()
		for _, i := range stallers {
			tn.down[i] = true
		}
		drive := func() {
			for i := 0; i < 16; i++ { // the driver's calls, at every node
				for j, e := range tn.nodes {
					if !tn.down[j] {
						e.ResendUnanswered()
					}
				}
				tn.settle()
			}
		}
		headed := map[int]int{} // stallers the origin sent a body to, and how often
		acked := map[int]bool{} // serving children that acknowledged a body of the origin
		for n := 0; n < 3; n++ {
			// A staller's unanswered resends are loss the origin saw: for
			// TreeAckTicks it then asks every child (TreeAckAfterLossSeen),
			// probation or not.
			lossMode := tn.nodes[0].TreeAckStats().LossSeen > 0
			m := publishHeld(t, tn, 0, []byte{byte(n)})
			to, asked := treeTargets(t, tn, 0, m.Key())
			for i, c := range to {
				staller := slices.Contains(stallers, c)
				switch {
				case acked[c] && asked[i] && !lossMode:
					t.Fatalf("seed %d, message %d: child %d asked again within its probation", seed, n, c)
				case !acked[c] && !asked[i]:
					t.Fatalf("seed %d, message %d: child %d on probation (never acknowledged) not asked", seed, n, c)
				}
				if !staller {
					acked[c] = true
				}
				if staller {
					headed[c]++
				}
			}
			tn.settle()
			drive()
			if got := tn.have(m.Key()); got != tn.live() {
				t.Fatalf("seed %d, message %d: the tree with its handoffs reached %d of %d serving members", seed, n, got, tn.live())
			}
		}
		if st := tn.nodes[0].TreeAckStats(); len(headed) > 0 && st.Rerouted == 0 {
			t.Fatalf("seed %d: stallers %v headed chunks and nothing was handed on: %+v", seed, headed, st)
		}
		for c, n := range headed {
			if got := scores[0].unserved[nodeName(c)]; (n >= 2) != (got > 0) {
				t.Fatalf("seed %d: staller %d handed over %d times, reported unserved %d times (want reports from the second)", seed, c, n, got)
			}
		}
		for i, sc := range scores {
			for id, n := range sc.unserved {
				if j := tn.byID[id]; !slices.Contains(stallers, j) {
					t.Fatalf("seed %d: node %d reported serving child %s unserved %d times", seed, i, id, n)
				}
			}
		}
	}
}
