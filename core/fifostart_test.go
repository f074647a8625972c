package core

import "testing"

// TestFIFOStart: an origin's first two messages arrive swapped. With
// FIFOStart the order starts at the lower one once FIFOStart ticks passed,
// and both are delivered in order; without it the first to arrive starts
// the order and the other is late, never delivered.
func TestFIFOStart(t *testing.T) {
	for _, start := range []int{0, 2} {
		tn := newTestNet(t, 2, 1, func(_ int, c *Config) {
			c.FIFO = true
			c.FIFOStart = start
			c.Mode = Push
			c.EagerPush = false
		})
		a, b := tn.nodes[0], tn.nodes[1]
		app := tn.apps[1]
		for _, seq := range []uint64{8, 7, 9} {
			f := EncodeFrame(&Frame{Messages: []*Message{{Origin: a.ID(), Seq: seq, Topic: "t"}}})
			if err := b.Step(a.ID(), f); err != nil {
				t.Fatal(err)
			}
		}
		if start > 0 && len(app.got) != 0 {
			t.Fatalf("FIFOStart %d: delivered %v before the start wait", start, seqs(app.got))
		}
		for i := 0; i < start+1; i++ {
			b.Tick()
		}
		got := seqs(app.got)
		want := []uint64{7, 8, 9}
		if start == 0 {
			want = []uint64{8, 9}
		}
		if len(got) != len(want) || got[0] != want[0] || got[len(got)-1] != want[len(want)-1] {
			t.Fatalf("FIFOStart %d: delivered %v, want %v", start, got, want)
		}
		if late := b.Stats().FIFOLate; late != uint64(3-len(want)) {
			t.Fatalf("FIFOStart %d: FIFOLate %d", start, late)
		}
	}
}

// TestRestartOrigin: after RestartOrigin an origin's new numbering starts
// the order at once instead of waiting behind the gap.
func TestRestartOrigin(t *testing.T) {
	tn := newTestNet(t, 2, 1, func(_ int, c *Config) {
		c.FIFO = true
		c.FIFOStart = 1
		c.FIFOTimeout = 1000
		c.Mode = Push
		c.EagerPush = false
	})
	a, b := tn.nodes[0], tn.nodes[1]
	app := tn.apps[1]
	step := func(seq uint64) {
		if err := b.Step(a.ID(), EncodeFrame(&Frame{Messages: []*Message{{Origin: a.ID(), Seq: seq, Topic: "t"}}})); err != nil {
			t.Fatal(err)
		}
	}
	step(1)
	b.Tick()
	step(2)
	step(1000) // the new life: held behind 3..999
	b.Tick()
	b.Tick()
	if got := seqs(app.got); len(got) != 2 {
		t.Fatalf("delivered %v, want 1 2 (1000 held)", got)
	}
	b.RestartOrigin(a.ID())
	step(1001)
	b.Tick()
	b.Tick()
	if got := seqs(app.got); len(got) != 4 || got[2] != 1000 || got[3] != 1001 {
		t.Fatalf("after RestartOrigin delivered %v, want 1 2 1000 1001", got)
	}
}

// TestFIFOStartAtFirst: a message marked First (its origin's FirstSeq)
// starts the order at once, without the FIFOStart wait, and releases a later
// message held while waiting for it; a published message is marked First
// only at FirstSeq.
func TestFIFOStartAtFirst(t *testing.T) {
	tn := newTestNet(t, 3, 1, func(_ int, c *Config) {
		c.FIFO = true
		c.FIFOStart = 5
		c.Mode = Push
		c.EagerPush = false
	})
	a, b, c := tn.nodes[0], tn.nodes[1], tn.nodes[2]
	step := func(n *Engine, seq uint64, first bool) {
		t.Helper()
		f := EncodeFrame(&Frame{Messages: []*Message{{Origin: a.ID(), Seq: seq, Topic: "t", First: first}}})
		if err := n.Step(a.ID(), f); err != nil {
			t.Fatal(err)
		}
	}
	// In order: the first message is delivered on arrival.
	step(b, 1, true)
	if got := seqs(tn.apps[1].got); len(got) != 1 || got[0] != 1 {
		t.Fatalf("first message: delivered %v, want [1] at once", got)
	}
	// Overtaken: 2 is held until 1 (First) arrives, then both go, in order.
	step(c, 2, false)
	if got := seqs(tn.apps[2].got); len(got) != 0 {
		t.Fatalf("delivered %v before the first message", got)
	}
	step(c, 1, true)
	if got := seqs(tn.apps[2].got); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("delivered %v, want [1 2] at once", got)
	}
	if s := c.Stats(); s.FIFOStartedFirst != 1 || s.FIFOLate != 0 {
		t.Fatalf("FIFOStartedFirst %d FIFOLate %d, want 1 and 0", s.FIFOStartedFirst, s.FIFOLate)
	}

	m1, err := a.Publish("t", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := a.Publish("t", []byte("y"))
	if err != nil {
		t.Fatal(err)
	}
	if !m1.First || m2.First {
		t.Fatalf("First on publish: %v %v, want true false", m1.First, m2.First)
	}
}
