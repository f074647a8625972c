package core

import (
	"math/rand/v2"
	"testing"
)

// repairNode builds one engine b with Plumtree over neighbours a, c and d
// (EagerMin 2); the test plays the neighbours by hand. Its transport
// records, per destination, whether a frame carried a body and a PRUNE.
func repairNode(t *testing.T, mode int) (*Engine, *frameLog) {
	t.Helper()
	log := &frameLog{}
	rng := rand.New(rand.NewPCG(1, 2))
	c := DefaultConfig()
	c.ID = "b"
	c.Rand = rng
	c.Plumtree = true
	c.EagerMin = 2
	c.PlumRepair = mode
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
// again (the link stays one-way); with PlumRepairRestore, a's duplicate two
// ticks after the PRUNE restores b's link to a, b does not prune a again
// while the hold lasts, and b's next bodies go to a.
func TestPlumRepairRestoresRefusedPrune(t *testing.T) {
	for _, mode := range []int{PlumRepairOff, PlumRepairRestore} {
		b, log := repairNode(t, mode)
		seq := uint64(1)
		// Message 1 from c, then again from a: b prunes a.
		b.StepFrame("c", msgFrom("o", seq))
		b.StepFrame("a", msgFrom("o", seq))
		if log.prunes["a"] != 1 {
			t.Fatalf("mode %d: %d PRUNEs to a after its duplicate, want 1", mode, log.prunes["a"])
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
		t.Logf("mode %d: pushed to a %v, eager links %d, prunes to a %d, %+v", mode, pushed, eager, log.prunes["a"], st)
		switch mode {
		case PlumRepairOff:
			if pushed || eager != 2 || st.Refusals != 0 {
				t.Errorf("off: pushed to a %v, %d eager links, %d refusals; want the link to a left lazy", pushed, eager, st.Refusals)
			}
		case PlumRepairRestore:
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
	b, _ := repairNode(t, PlumRepairRestore)
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
