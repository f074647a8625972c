package p2p

import (
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func testEvent(i int) Event {
	// A distinct ID per i (not a valid peer ID; the queue only carries it).
	return Event{Kind: EventJoin, Member: Member{ID: peer.ID(fmt.Sprintf("m%d", i))}}
}

// TestEventQueueOrderAndBound: a reader that falls behind gets every event
// up to the buffer, in order, after flushes; the rest is refused; the
// backlog's memory is released once it drains.
func TestEventQueueOrderAndBound(t *testing.T) {
	const limit = 40
	q := newEventQueue(limit)
	if cap(q.ch) != eventChanSlots {
		t.Fatalf("channel of %d slots, want %d", cap(q.ch), eventChanSlots)
	}
	accepted := 0
	for i := 0; i < limit+10; i++ {
		if q.push(testEvent(i)) {
			accepted++
		}
	}
	if accepted != limit {
		t.Fatalf("accepted %d of %d events with a buffer of %d", accepted, limit+10, limit)
	}
	var got []Event
	for len(got) < limit {
		select {
		case ev := <-q.ch:
			got = append(got, ev)
		default:
			if len(q.backlog) == 0 {
				t.Fatalf("stuck after %d events", len(got))
			}
			q.flush() // the driver's tick
		}
	}
	for i, ev := range got {
		if ev.Member.ID != testEvent(i).Member.ID {
			t.Fatalf("event %d is %s, want %s", i, ev.Member.ID, testEvent(i).Member.ID)
		}
	}
	if q.backlog != nil {
		t.Fatalf("backlog of %d (cap %d) kept after it drained", len(q.backlog), cap(q.backlog))
	}
	// A new event behind nothing goes straight to the channel.
	if !q.push(testEvent(99)) || len(q.ch) != 1 || len(q.backlog) != 0 {
		t.Fatalf("event after a drained backlog: channel %d, backlog %d", len(q.ch), len(q.backlog))
	}
}

// TestEventQueueClose: closing keeps what the channel holds readable and
// reports the backlog it could not keep.
func TestEventQueueClose(t *testing.T) {
	q := newEventQueue(100)
	for i := 0; i < 30; i++ {
		q.push(testEvent(i))
	}
	if left := q.close(); left != 30-eventChanSlots {
		t.Fatalf("close left %d behind, want %d", left, 30-eventChanSlots)
	}
	n := 0
	for range q.ch {
		n++
	}
	if n != eventChanSlots {
		t.Fatalf("read %d events after close, want %d", n, eventChanSlots)
	}
}

// TestEventQueueSmallBuffer: a buffer below the channel's slots bounds the
// channel itself.
func TestEventQueueSmallBuffer(t *testing.T) {
	q := newEventQueue(3)
	for i := 0; i < 3; i++ {
		if !q.push(testEvent(i)) {
			t.Fatalf("event %d refused", i)
		}
	}
	if q.push(testEvent(3)) {
		t.Fatal("fourth event accepted with a buffer of 3")
	}
}
