package core

import (
	"math/rand/v2"
	"testing"
)

// repairNode builds one engine b with Plumtree over neighbours a, c and d
// (EagerMin 2); the test plays the neighbours by hand. Its transport
// records, per destination, whether a frame carried a body and a PRUNE.
func repairNode(t *testing.T, repair bool) (*Engine, *frameLog) {
	t.Helper()
	log := &frameLog{}
	rng := rand.New(rand.NewPCG(1, 2))
	c := DefaultConfig()
	c.ID = "b"
	c.Rand = rng
	c.Plumtree = true
	c.EagerMin = 2
	c.PlumRepair = repair
	c.Sampler = &nbrSampler{peers: []NodeID{"a", "c", "d"}, rng: rng, ver: 1, n: 5}
	c.Transport = log
	c.App = &recorder{}
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return e, log
}

type frameLog struct{ bodies, prunes map[NodeID]int }

func (l *frameLog) Send(to NodeID, frame []byte) {
	f, err := DecodeFrame(frame, DefaultLimits())
	if err != nil {
		panic(err)
	}
	if l.bodies == nil {
		l.bodies, l.prunes = map[NodeID]int{}, map[NodeID]int{}
	}
	l.bodies[to] += len(f.Messages)
	if f.Prune {
		l.prunes[to]++
	}
}

// msgFrom returns origin o's message number seq as a frame's content.
func msgFrom(o NodeID, seq uint64) *Frame {
	return &Frame{Messages: []*Message{{Origin: o, Seq: seq, Topic: "t", Payload: []byte("x"), First: seq == 1}}}
}

// TestPlumRepairRestoresRefusedPrune: b prunes a on a duplicate; a, at its
// floor, refuses and goes on pushing. Without the repair b never pushes to a
// again (the link stays one-way); with PlumRepair, a's duplicate two
// ticks after the PRUNE restores b's link to a, b does not prune a again
// while the hold lasts, and b's next bodies go to a.
func TestPlumRepairRestoresRefusedPrune(t *testing.T) {
	for _, repair := range []bool{false, true} {
		b, log := repairNode(t, repair)
		seq := uint64(1)
		// Message 1 from c, then again from a: b prunes a.
		b.StepFrame("c", msgFrom("o", seq))
		b.StepFrame("a", msgFrom("o", seq))
		if log.prunes["a"] != 1 {
			t.Fatalf("repair %v: %d PRUNEs to a after its duplicate, want 1", repair, log.prunes["a"])
		}
		// a refuses: it keeps pushing every message, after c's copy.
		for tick := 0; tick < 3; tick++ {
			b.Tick()
			seq++
			b.StepFrame("c", msgFrom("o", seq))
			b.StepFrame("a", msgFrom("o", seq))
		}
		before := log.bodies["a"]
		seq++
		b.StepFrame("d", msgFrom("o", seq)) // first receipt from d: b pushes to its eager links
		pushed := log.bodies["a"] > before
		eager, _ := b.PlumLinks()
		st := b.PlumRepairStats()
		t.Logf("repair %v: pushed to a %v, eager links %d, prunes to a %d, %+v", repair, pushed, eager, log.prunes["a"], st)
		switch repair {
		case false:
			if pushed || eager != 2 || st.Refusals != 0 {
				t.Errorf("off: pushed to a %v, %d eager links, %d refusals; want the link to a left lazy", pushed, eager, st.Refusals)
			}
		case true:
			if !pushed || eager != 3 || st.Refusals != 1 {
				t.Errorf("restore: pushed to a %v, %d eager links, %d refusals; want the link to a eager again after one refusal", pushed, eager, st.Refusals)
			}
			if log.prunes["a"] != 1 {
				t.Errorf("restore: %d PRUNEs to a, want no second one while the link is held", log.prunes["a"])
			}
		}
	}
}

// TestPlumRepairIgnoresCrossingBodies: a duplicate that arrives in the
// tick of the PRUNE (it may have crossed it) is not a refusal, and a PRUNE
// from a ends the repair state of the link.
func TestPlumRepairIgnoresCrossingBodies(t *testing.T) {
	b, _ := repairNode(t, true)
	b.StepFrame("c", msgFrom("o", 1))
	b.StepFrame("a", msgFrom("o", 1)) // b prunes a
	b.StepFrame("c", msgFrom("o", 2))
	b.StepFrame("a", msgFrom("o", 2)) // crossed the PRUNE
	if st := b.PlumRepairStats(); st.Refusals != 0 {
		t.Fatalf("a body that crossed the PRUNE was read as a refusal: %+v", st)
	}
	b.StepFrame("a", &Frame{Prune: true}) // a pruned b too: the link is lazy both ways
	b.Tick()
	b.Tick()
	b.StepFrame("c", msgFrom("o", 3))
	b.StepFrame("a", msgFrom("o", 3))
	if st := b.PlumRepairStats(); st.Refusals != 0 {
		t.Fatalf("a duplicate after a's own PRUNE was read as a refusal: %+v", st)
	}
}

// oneWay counts the eager links whose reverse is lazy, and the nodes that
// receive eagerly from exactly one neighbour.
func oneWay(tn *testNet) (links, single int) {
	in := make([]int, len(tn.nodes))
	eager := map[[2]int]bool{}
	for i, e := range tn.nodes {
		for _, id := range e.AppendPlumEager(nil) {
			j := tn.byID[id]
			eager[[2]int{i, j}] = true
			in[j]++
		}
	}
	for l := range eager {
		if !eager[[2]int{l[1], l[0]}] {
			links++
		}
	}
	for _, c := range in {
		if c == 1 {
			single++
		}
	}
	return links, single
}

// TestPlumRepairLeavesNoOneWayLinks: over a neighbour graph of degree 8
// with EagerMin 2, messages from many origins leave links eager one way
// (refused PRUNEs) and members receiving eagerly from one neighbour;
// with PlumRepair both are (nearly) gone, and every message still reaches
// everyone by the eager push alone.
func TestPlumRepairLeavesNoOneWayLinks(t *testing.T) {
	const n, msgs = 200, 60
	var got [2][2]int
	for k, repair := range []bool{false, true} {
		tn := plumNet(t, n, 5, func(i int, c *Config) { c.EagerMin, c.PlumRepair = 2, repair })
		for j := 0; j < msgs; j++ {
			m := tn.publish((j*37)%n, "t", []byte("hi"))
			if h := tn.have(m.Key()); h != n {
				t.Fatalf("repair %v, message %d: %d of %d have it after the eager push", repair, j, h, n)
			}
			tn.round()
		}
		links, single := oneWay(tn)
		got[k] = [2]int{links, single}
		var st PlumRepairStats
		for _, e := range tn.nodes {
			s := e.PlumRepairStats()
			st.Refusals += s.Refusals
			st.Retries += s.Retries
		}
		t.Logf("repair %v: %d one-way eager links, %d nodes receiving from one neighbour; %+v", repair, links, single, st)
	}
	if got[0][0] < 20 || got[0][1] < 20 {
		t.Fatalf("without the repair: %d one-way links, %d single-parent nodes; the test no longer shows the problem", got[0][0], got[0][1])
	}
	if got[1][0] > got[0][0]/10 || got[1][1] > got[0][1]/5 {
		t.Errorf("with the repair: %d one-way links (without: %d), %d single-parent nodes (without: %d)", got[1][0], got[0][0], got[1][1], got[0][1])
	}
}

// TestPlumFloor: EagerMinPlusShare raises the floor of about that share of
// the members by one, the same members at every start.
func TestPlumFloor(t *testing.T) {
	for _, share := range []float64{0, 0.5, 1} {
		plus := 0
		for i := 0; i < 1000; i++ {
			c := DefaultConfig()
			c.ID, c.EagerMin, c.EagerMinPlusShare = nodeName(i), 2, share
			c.Sampler = &StaticSampler{Peers: []NodeID{"x"}, Rand: rand.New(rand.NewPCG(1, 1))}
			c.Transport, c.App = &frameLog{}, &recorder{}
			e, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			f := e.PlumFloor()
			if f != 2 && f != 3 || f != e.PlumFloor() {
				t.Fatalf("share %v: node %d floor %d", share, i, f)
			}
			if f == 3 {
				plus++
			}
		}
		if lo, hi := int(1000*share)-60, int(1000*share)+60; plus < lo || plus > hi {
			t.Errorf("share %v: %d of 1,000 at EagerMin+1, want %d..%d", share, plus, lo, hi)
		}
	}
	c := DefaultConfig()
	c.ID, c.EagerMinPlusShare = "a", 1.5
	c.Sampler = &StaticSampler{Peers: []NodeID{"x"}, Rand: rand.New(rand.NewPCG(1, 1))}
	c.Transport = &frameLog{}
	if _, err := New(c); err == nil {
		t.Error("EagerMinPlusShare 1.5 accepted")
	}
}
