package core

import (
	"errors"
	"testing"
)

// export is what an adapter persists of e: every origin's watermark and
// the stored messages delivered at or below it.
func export(e *Engine) ([]OriginState, []StoredMessage) {
	var os []OriginState
	for _, o := range e.originList {
		if w, ok := e.Watermark(o.id); ok {
			os = append(os, OriginState{Origin: o.id, Delivered: w})
		}
	}
	var ms []StoredMessage
	for _, en := range e.storeOrder[e.storeHead:] {
		if !en.gone {
			ms = append(ms, StoredMessage{Msg: en.msg, Age: int(e.ticks - en.recvTick)})
		}
	}
	return os, ms
}

// restart replaces node i by a fresh engine of the same ID, restored from
// what the old one exported; nextSeq is its FirstSeq.
func restart(t *testing.T, tn *testNet, i int, os []OriginState, ms []StoredMessage, nextSeq uint64) *recorder {
	t.Helper()
	old := tn.nodes[i].Config()
	c := old
	c.Rand = nil
	c.Seed = 7
	c.FirstSeq = nextSeq
	app := &recorder{}
	c.App = app
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Restore(os, ms); err != nil {
		t.Fatal(err)
	}
	tn.nodes[i], tn.apps[i] = e, app
	return app
}

func fifoNet(t *testing.T, n int) *testNet {
	return newTestNet(t, n, 3, func(_ int, c *Config) {
		c.FIFO = true
		c.FIFOTimeout = 20
	})
}

// TestRestoreResumes: a node restarted from its watermarks delivers none
// of what it delivered before, and everything published while it was down,
// in order (pulled from the others).
func TestRestoreResumes(t *testing.T) {
	tn := fifoNet(t, 4)
	for i := 0; i < 5; i++ {
		tn.publish(0, "t", []byte{byte(i)})
		tn.publish(1, "t", []byte{byte(i)})
	}
	for r := 0; r < 5; r++ {
		tn.round()
	}
	if got := len(tn.apps[3].got); got != 10 {
		t.Fatalf("before the crash node 3 delivered %d, want 10", got)
	}
	os, ms := export(tn.nodes[3])
	next := tn.nodes[3].NextSeq()
	tn.down[3] = true
	for i := 5; i < 12; i++ {
		tn.publish(0, "t", []byte{byte(i)})
		tn.publish(1, "t", []byte{byte(i)})
	}
	tn.round()
	app := restart(t, tn, 3, os, ms, next)
	delete(tn.down, 3)
	for r := 0; r < 20; r++ {
		tn.round()
	}
	got := map[NodeID][]uint64{}
	for _, m := range app.got {
		got[m.Origin] = append(got[m.Origin], m.Seq)
	}
	for _, o := range []int{0, 1} {
		s := got[tn.nodes[o].ID()]
		if len(s) != 7 || s[0] != 6 {
			t.Fatalf("origin %d: restarted node delivered %v, want 6..12", o, s)
		}
		for i := 1; i < len(s); i++ {
			if s[i] != s[i-1]+1 {
				t.Fatalf("origin %d: out of order %v", o, s)
			}
		}
	}
	if len(app.lost) != 0 {
		t.Fatalf("loss reports %v", app.lost)
	}
}

// TestRestoreServesStore: when every node restarts, messages only one of
// them had are still served from its restored store; own sequence numbers
// continue and the node never pulls its own back.
func TestRestoreServesStore(t *testing.T) {
	tn := fifoNet(t, 3)
	tn.down[2] = true
	var last *Message
	for i := 0; i < 5; i++ {
		last = tn.publish(0, "t", []byte{byte(i)})
	}
	for r := 0; r < 3; r++ {
		tn.round()
	}
	states := make([][]OriginState, 3)
	stores := make([][]StoredMessage, 3)
	nexts := make([]uint64, 3)
	for i := range tn.nodes {
		states[i], stores[i] = export(tn.nodes[i])
		nexts[i] = tn.nodes[i].NextSeq()
	}
	// Node 2 knew origin 0 but had delivered nothing of it.
	states[2] = append(states[2], OriginState{Origin: tn.nodes[0].ID(), Delivered: 0})
	// Node 0 forgets its store: only node 1 holds the messages now.
	stores[0] = nil
	for i := range tn.nodes {
		restart(t, tn, i, states[i], stores[i], nexts[i])
	}
	delete(tn.down, 2)
	if rs, err := tn.nodes[0].Restore(nil, nil); !errors.Is(err, ErrNotFresh) {
		t.Fatalf("second Restore: %v %+v, want ErrNotFresh", err, rs)
	}
	m := tn.publish(0, "t", []byte("after"))
	if m.Seq != last.Seq+1 {
		t.Fatalf("after restart published seq %d, want %d", m.Seq, last.Seq+1)
	}
	for r := 0; r < 20; r++ {
		tn.round()
	}
	if s := seqs(tn.apps[2].got); len(s) != 6 || s[0] != 1 || s[5] != 6 {
		t.Fatalf("node 2 delivered %v, want 1..6 in order", s)
	}
	if s := seqs(tn.apps[1].got); len(s) != 1 || s[0] != 6 {
		t.Fatalf("node 1 delivered %v, want only 6", s)
	}
	if n := len(tn.apps[0].got); n != 1 {
		t.Fatalf("node 0 delivered %d, want only its new message", n)
	}
	if tn.nodes[2].Behind() {
		t.Fatal("node 2 still behind")
	}
}

// TestRestoreLeavesOut: messages above their origin's watermark, of an
// unknown origin or past StoreTTL are not restored.
func TestRestoreLeavesOut(t *testing.T) {
	tn := fifoNet(t, 2)
	e := tn.nodes[0]
	o := NodeID("x")
	st, err := e.Restore([]OriginState{{Origin: o, Delivered: 5}}, []StoredMessage{
		{Msg: &Message{Origin: o, Seq: 4}},
		{Msg: &Message{Origin: o, Seq: 6}},
		{Msg: &Message{Origin: "y", Seq: 1}},
		{Msg: &Message{Origin: o, Seq: 3}, Age: e.Config().StoreTTL},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Origins != 1 || st.Messages != 1 || st.Unknown != 2 || st.Expired != 1 {
		t.Fatalf("restore stats %+v", st)
	}
	if !e.Has(MsgKey{Origin: o, Seq: 5}) || e.Has(MsgKey{Origin: o, Seq: 6}) {
		t.Fatal("watermark not restored")
	}
	if w, _ := e.Watermark(o); w != 5 {
		t.Fatalf("watermark %d, want 5", w)
	}
}

// TestPullOldestFirstUnderFIFO: with FIFO a pull answer carries the oldest
// messages the requester lacks, so each answer is delivered at once; without
// FIFO it carries the newest (Policy Recent).
func TestPullOldestFirstUnderFIFO(t *testing.T) {
	for _, fifo := range []bool{true, false} {
		tn := newTestNet(t, 2, 5, func(_ int, c *Config) {
			c.FIFO = fifo
			c.Mode = Pull
			c.MaxRoundMessages = 3
		})
		a, b := tn.nodes[0], tn.nodes[1]
		for i := 0; i < 10; i++ {
			tn.publish(0, "t", []byte{byte(i)})
		}
		if _, err := b.Restore([]OriginState{{Origin: a.ID()}}, nil); err != nil {
			t.Fatal(err)
		}
		b.Tick()
		tn.settle()
		got := seqs(tn.apps[1].got)
		want := []uint64{1, 2, 3}
		if !fifo {
			want = []uint64{10, 9, 8}
		}
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("FIFO %v: first pull answer delivered %v, want %v", fifo, got, want)
		}
		if b.Behind() {
			t.Fatalf("FIFO %v: behind with nothing held", fifo)
		}
	}
}

type lateRecorder struct {
	recorder
	late   []*Message
	before []bool
}

func (r *lateRecorder) Late(m *Message, beforeStart bool) {
	r.late = append(r.late, m)
	r.before = append(r.before, beforeStart)
}

// TestLateReceiver: a message FIFO passes over goes to Late, not Deliver.
func TestLateReceiver(t *testing.T) {
	app := &lateRecorder{}
	tn := newTestNet(t, 2, 1, func(i int, c *Config) {
		c.FIFO = true
		if i == 1 {
			c.App = app
		}
	})
	a, b := tn.nodes[0], tn.nodes[1]
	for _, seq := range []uint64{5, 4, 7, 6} {
		f := EncodeFrame(&Frame{Messages: []*Message{{Origin: a.ID(), Seq: seq, Topic: "t"}}})
		if err := b.Step(a.ID(), f); err != nil {
			t.Fatal(err)
		}
	}
	if len(app.got) != 3 || app.got[0].Seq != 5 || len(app.late) != 1 || app.late[0].Seq != 4 || !app.before[0] {
		t.Fatalf("delivered %v, late %v; want 5 6 7 delivered, 4 late before the start", seqs(app.got), seqs(app.late))
	}
	// A message in a gap given up is late too, but not before the start.
	b.Step(a.ID(), EncodeFrame(&Frame{Messages: []*Message{{Origin: a.ID(), Seq: 10, Topic: "t"}}}))
	for i := 0; i < 40; i++ {
		b.Tick()
	}
	b.Step(a.ID(), EncodeFrame(&Frame{Messages: []*Message{{Origin: a.ID(), Seq: 9, Topic: "t"}}}))
	if len(app.late) != 2 || app.late[1].Seq != 9 || app.before[1] {
		t.Fatalf("late %v %v; want 9 late after the start", seqs(app.late), app.before)
	}
}

// TestPullMinAge: a pull answer leaves out messages the answering node got
// less than PullMinAge ticks ago (counted), and sends them once older.
func TestPullMinAge(t *testing.T) {
	tn := newTestNet(t, 2, 1, func(_ int, c *Config) {
		c.Mode = Pull
		c.PullMinAge = 3
	})
	a := tn.nodes[0]
	tn.publish(0, "t", []byte("x"))
	var sent int
	a.cfg.Transport = countBodies{&sent}
	ask := func() {
		t.Helper()
		if err := a.Step(tn.nodes[1].ID(), EncodeFrame(&Frame{Digest: &Digest{}})); err != nil {
			t.Fatal(err)
		}
	}
	ask()
	if sent != 0 || a.Stats().PullTooYoung != 1 {
		t.Fatalf("young message: %d bodies sent, PullTooYoung %d", sent, a.Stats().PullTooYoung)
	}
	for i := 0; i < 3; i++ {
		a.Tick()
	}
	ask()
	if sent != 1 {
		t.Fatalf("after PullMinAge ticks: %d bodies sent, want 1", sent)
	}
}

// countBodies is a Transport that counts the message bodies sent.
type countBodies struct{ n *int }

func (c countBodies) Send(_ NodeID, f []byte) {
	if fr, err := DecodeFrame(f, DefaultLimits()); err == nil {
		*c.n += len(fr.Messages) + len(fr.Tree)
	}
}
