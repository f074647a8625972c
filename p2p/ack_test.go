package p2p

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestAckRedelivery: a peer with a data directory and an acknowledged
// subscription receives 20 messages and acknowledges the first 15. After a
// clean stop and a restart with the same key and directory, a new
// acknowledged subscription gets exactly the other 5, in order, marked
// Redelivered, before anything new; a plain subscription made first gets
// none of them. After a kill instead, the redelivered ones include every
// unacknowledged one (at least once) and nothing that was never delivered.
func TestAckRedelivery(t *testing.T) {
	pub := startPeers(t, 1, false)[0]
	boot := pub.Addrs()[0].String()
	start := restartable(t, boot)
	ctx := context.Background()
	// receive takes n messages from s, acknowledging those ack says to.
	receive := func(s *Subscription, n int, ack func(*Message) bool) []*Message {
		t.Helper()
		var got []*Message
		for len(got) < n {
			c, cancel := context.WithTimeout(ctx, 15*time.Second)
			m, err := s.Next(c)
			cancel()
			if err != nil {
				t.Fatalf("after %d of %d messages: %v", len(got), n, err)
			}
			got = append(got, m)
			if ack(m) {
				m.Ack()
			}
		}
		return got
	}
	publish := func(n int) []uint64 {
		t.Helper()
		var seqs []uint64
		for range n {
			k, err := pub.PublishKey(ctx, "t", []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, k.Seq)
		}
		return seqs
	}
	seqsOf := func(ms []*Message) []uint64 {
		var out []uint64
		for _, m := range ms {
			out = append(out, m.Seq)
		}
		return out
	}

	r := start()
	s, err := r.Subscribe("t", WithAcks())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "membership", func() bool { return alive(r) == 2 && alive(pub) == 2 })
	sent := publish(20)
	got := receive(s, 20, func(m *Message) bool { return m.Seq <= sent[14] })
	if !slices.Equal(seqsOf(got), sent) {
		t.Fatalf("first life received %v, want %v", seqsOf(got), sent)
	}
	waitFor(t, 5*time.Second, "15 acknowledgements", func() bool { return r.DurableStats().Unacknowledged == 5 })
	// The last one acknowledged (twice: the second changes nothing), above
	// four that are not: the floor stays below those, so it comes again.
	got[19].Ack()
	got[19].Ack()
	r.Close()

	r = start()
	plain, err := r.Subscribe("t")
	if err != nil {
		t.Fatal(err)
	}
	s, err = r.Subscribe("t", WithAcks())
	if err != nil {
		t.Fatal(err)
	}
	more := publish(3)
	got = receive(s, 8, func(*Message) bool { return true })
	want := append(slices.Clone(sent[15:]), more...)
	if !slices.Equal(seqsOf(got), want) {
		t.Fatalf("after a clean restart received %v, want %v (the 5 above the floor, then the 3 new)", seqsOf(got), want)
	}
	for i, m := range got {
		if m.Redelivered != (i < 5) {
			t.Errorf("message %d (seq %d): Redelivered %v", i, m.Seq, m.Redelivered)
		}
	}
	if p := receive(plain, 3, func(*Message) bool { return false }); !slices.Equal(seqsOf(p), more) {
		t.Errorf("the plain subscription received %v, want only the new %v", seqsOf(p), more)
	}
	if st := r.DurableStats(); st.Redelivered != 5 {
		t.Errorf("DurableStats.Redelivered %d, want 5", st.Redelivered)
	}

	// A kill leaves at least the unacknowledged ones to redeliver; the
	// messages of a topic with no acknowledged subscription, published
	// among them, are not given again.
	u, err := r.Subscribe("u")
	if err != nil {
		t.Fatal(err)
	}
	sent = publish(10)
	for range 3 {
		if _, err := pub.PublishKey(ctx, "u", []byte("y")); err != nil {
			t.Fatal(err)
		}
	}
	got = receive(s, 10, func(m *Message) bool { return m.Seq <= sent[5] })
	receive(u, 3, func(*Message) bool { return false })
	r.Kill()
	r = start()
	t.Cleanup(func() { r.Close() })
	s, err = r.Subscribe("t", WithAcks())
	if err != nil {
		t.Fatal(err)
	}
	su, err := r.Subscribe("u", WithAcks())
	if err != nil {
		t.Fatal(err)
	}
	var again []uint64
	for {
		c, cancel := context.WithTimeout(ctx, time.Second)
		m, err := s.Next(c)
		cancel()
		if err != nil {
			break
		}
		if !m.Redelivered {
			t.Fatalf("after the kill, seq %d came without Redelivered", m.Seq)
		}
		again = append(again, m.Seq)
	}
	if len(again) < 4 || !slices.Equal(again[len(again)-4:], sent[6:]) || !slices.IsSorted(again) || again[0] < sent[0] {
		t.Errorf("after the kill redelivered %v; want a tail of %v ending with the 4 unacknowledged", again, sent)
	}
	select {
	case m := <-su.Messages():
		t.Errorf("topic u, which had no acknowledged subscription, was given seq %d again (Redelivered %v)", m.Seq, m.Redelivered)
	default:
	}
}

// TestAckFloorFollowsLateDelivery: a delivery below an origin's floor (a
// late one) lowers the floor committed with the next batch, even though
// the watermark does not move.
func TestAckFloorFollowsLateDelivery(t *testing.T) {
	tr := newAckTracker(16, nil, nil)
	wm := map[core.NodeID]watermark{"a": {seq: 20, at: 1}}
	b := &durableBatch{wm: map[core.NodeID]watermark{"a": wm["a"]}}
	tr.floors(wm, b)
	if w := b.wm["a"]; !w.hasAck || w.acked != 20 {
		t.Fatalf("nothing pending: floor %d (hasAck %v), want 20", w.acked, w.hasAck)
	}
	late := &core.Message{Origin: "a", Seq: 15, Topic: "t"}
	tr.add(late, 7, inFlight)
	b = &durableBatch{} // the watermark did not move: not in the batch
	tr.floors(wm, b)
	if w, ok := b.wm["a"]; !ok || w.acked != 14 {
		t.Fatalf("after a late delivery of 15: floor %+v (in batch %v), want 14", w, ok)
	}
	tok := tr.dispatched(late, 1).token()
	(&Message{ack: tok}).Ack()
	b = &durableBatch{}
	tr.floors(wm, b)
	if w := b.wm["a"]; w.acked != 20 {
		t.Fatalf("after its acknowledgement: floor %d, want 20", w.acked)
	}
}
