package core

import (
	"slices"
	"testing"
)

// gapWantNet: node 0 publishes three messages; node 2 receives the first
// and the third from node 1 (the second lost on the way). It returns the
// net and the three messages, nothing queued; tweak, if set, adjusts each
// node's config last.
func gapWantNet(t *testing.T, delay int, tweak func(i int, c *Config)) (*testNet, []*Message) {
	t.Helper()
	tn := newTestNet(t, 3, 7, func(i int, c *Config) {
		c.Mode, c.EagerPush, c.Fanout = Pull, false, 1 // no push of its own
		c.PullEvery = 1000                             // no pull round within the test
		c.RoundTicks = 1000
		c.GapWantDelay, c.IWantTimeout = delay, 2
		if tweak != nil {
			tweak(i, c)
		}
	})
	var ms []*Message
	for i := 0; i < 3; i++ {
		m, err := tn.nodes[0].Publish("t", []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	tn.queue = nil
	b, relay := tn.nodes[2], tn.nodes[1].ID()
	for _, m := range []*Message{ms[0], ms[2]} {
		if err := b.Step(relay, EncodeFrame(&Frame{Messages: []*Message{m}})); err != nil {
			t.Fatal(err)
		}
	}
	tn.queue = nil
	return tn, ms
}

// iwantsTo lists the nodes node from asked for k in the queued frames.
func iwantsTo(t *testing.T, tn *testNet, from int, k MsgKey) []int {
	t.Helper()
	var to []int
	tn.eachQueued(t, from, func(dst int, f *Frame) {
		if slices.Contains(f.IWant, k) {
			to = append(to, dst)
		}
	})
	return to
}

// A message that reveals a missing predecessor makes the node ask the
// message's sender and the origin for it after GapWantDelay; the body's
// arrival fills the gap for FIFO delivery.
func TestGapWantAsksSenderAndOrigin(t *testing.T) {
	tn, ms := gapWantNet(t, 1, nil)
	b := tn.nodes[2]
	if got := b.GapStats().Wanted; got != 1 {
		t.Fatalf("wanted %d gaps, want 1", got)
	}
	if to := iwantsTo(t, tn, 2, ms[1].Key()); len(to) != 0 {
		t.Fatalf("asked %v before GapWantDelay", to)
	}
	b.Tick()
	if to := iwantsTo(t, tn, 2, ms[1].Key()); !slices.Equal(to, []int{1, 0}) {
		t.Fatalf("asked %v, want the sender and the origin [1 0]", to)
	}
	tn.settle() // the origin answers, the relay never had it
	if !b.Has(ms[1].Key()) {
		t.Fatal("the missing message did not arrive")
	}
	if st := b.GapStats(); st.Filled != 1 || st.Asked != 2 {
		t.Fatalf("gap stats %+v, want filled 1, asked 2", st)
	}
	if got := len(tn.apps[2].got); got != 3 {
		t.Fatalf("%d delivered, want 3", got)
	}
}

// Members asked on a guess promised nothing: requests they leave
// unanswered are not charged to their service score, and the want ends
// after minWantAsks requests.
func TestGapWantGuessesNotCharged(t *testing.T) {
	tn, ms := gapWantNet(t, 1, nil)
	b := tn.nodes[2]
	asked := 0
	for i := 0; i < 12; i++ {
		b.Tick()
		asked += len(iwantsTo(t, tn, 2, ms[1].Key()))
		tn.queue = nil // every request lost
	}
	if asked != minWantAsks {
		t.Fatalf("%d requests, want %d", asked, minWantAsks)
	}
	if u := b.ServiceStats().Unserved; u != 0 {
		t.Fatalf("%d members charged as unserving for requests they never promised", u)
	}
	if e := b.Stats().WantsExpired; e != 1 {
		t.Fatalf("%d wants expired, want 1", e)
	}
}

// A body merely overtaken arrives before GapWantDelay: nothing is asked.
func TestGapWantNotSentWhenBodyArrives(t *testing.T) {
	tn, ms := gapWantNet(t, 1, nil)
	b := tn.nodes[2]
	if err := b.Step(tn.nodes[1].ID(), EncodeFrame(&Frame{Messages: []*Message{ms[1]}})); err != nil {
		t.Fatal(err)
	}
	tn.queue = nil
	b.Tick()
	b.Tick()
	if to := iwantsTo(t, tn, 2, ms[1].Key()); len(to) != 0 {
		t.Fatalf("asked %v for a body that had arrived", to)
	}
	if st := b.GapStats(); st.Filled != 1 || st.Asked != 0 {
		t.Fatalf("gap stats %+v, want filled 1, asked 0", st)
	}
}

// Without GapWantDelay, and for a jump beyond maxGapWants, nothing is
// wanted: pull repairs those.
func TestGapWantOffAndLargeJumps(t *testing.T) {
	tn, _ := gapWantNet(t, 0, nil)
	if got := tn.nodes[2].GapStats().Wanted; got != 0 {
		t.Fatalf("wanted %d with GapWantDelay 0", got)
	}
	tn = newTestNet(t, 2, 7, func(i int, c *Config) { c.Mode, c.GapWantDelay = Pull, 1 })
	var ms []*Message
	for i := 0; i < maxGapWants+3; i++ { // maxGapWants+1 missing between the first and the last
		m, err := tn.nodes[0].Publish("t", nil)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	b := tn.nodes[1]
	for _, m := range []*Message{ms[0], ms[len(ms)-1]} {
		if err := b.Step(tn.nodes[0].ID(), EncodeFrame(&Frame{Messages: []*Message{m}})); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.GapStats().Wanted; got != 0 {
		t.Fatalf("wanted %d for a jump of %d", got, maxGapWants+1)
	}
}

// An adapter with a clock asks at once with AskGaps, before the tick.
func TestAskGaps(t *testing.T) {
	tn, ms := gapWantNet(t, 1, nil)
	b := tn.nodes[2]
	if !b.GapsWaiting() {
		t.Fatal("a gap want made, none waiting")
	}
	b.AskGaps()
	if to := iwantsTo(t, tn, 2, ms[1].Key()); !slices.Equal(to, []int{1, 0}) {
		t.Fatalf("AskGaps asked %v, want the sender and the origin [1 0]", to)
	}
	if b.GapsWaiting() {
		t.Fatal("still waiting after AskGaps")
	}
	tn.queue = nil
	b.AskGaps() // nothing new to ask
	b.Tick()    // nor is the asked want asked again before IWantTimeout
	if to := iwantsTo(t, tn, 2, ms[1].Key()); len(to) != 0 {
		t.Fatalf("asked %v again before IWantTimeout", to)
	}
}
