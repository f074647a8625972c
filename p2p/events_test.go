package p2p

import (
	"runtime"
	"testing"

	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// testEvent is event i, told apart by its incarnation number (the queue
// only carries it).
func testEvent(i int) queuedEvent {
	return queuedEvent{kind: EventJoin, m: membership.Member{ID: "m", Incarnation: uint64(i)}}
}

// TestEventQueueOrderAndBound: a reader that falls behind gets every event
// up to the buffer, in order, after flushes; the rest is refused; the
// backlog's memory is released once it drains.
func TestEventQueueOrderAndBound(t *testing.T) {
	const limit = 40
	q := newEventQueue(limit, "self")
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
		if ev.Member.Incarnation != uint64(i) || ev.Kind != EventJoin {
			t.Fatalf("event %d is %v of incarnation %d", i, ev.Kind, ev.Member.Incarnation)
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
	q := newEventQueue(100, "self")
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
	q := newEventQueue(3, "self")
	for i := 0; i < 3; i++ {
		if !q.push(testEvent(i)) {
			t.Fatalf("event %d refused", i)
		}
	}
	if q.push(testEvent(3)) {
		t.Fatal("fourth event accepted with a buffer of 3")
	}
}

// TestEventBacklogCompact: events nobody reads wait in the backlog as
// membership gave them, their metadata shared with the member table, not
// decoded: a peer whose Events() nobody drains holds a full backlog, and
// decoded events (parsed multiaddrs, a copy of the ID) were about 110 KB
// of every peer's heap at N = 300. The Event a reader gets is still whole.
func TestEventBacklogCompact(t *testing.T) {
	sk, _ := GenerateKey()
	pid, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	addrs := []ma.Multiaddr{ma.StringCast("/ip4/10.0.0.1/udp/4001/quic-v1"), ma.StringCast("/ip6/fd00::1/udp/4001/quic-v1")}
	meta := encodeMeta(nil, addrs, 512)
	const n = 1000
	q := newEventQueue(n+eventChanSlots, "self")
	for i := 0; i < eventChanSlots; i++ { // the channel is full: the reader is away
		q.push(queuedEvent{kind: EventSuspect, m: membership.Member{ID: NodeID(pid)}})
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		if !q.push(queuedEvent{kind: EventJoin, m: membership.Member{ID: NodeID(pid), Meta: meta, Incarnation: uint64(i)}}) {
			t.Fatalf("event %d refused", i)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n; per > 160 {
		t.Errorf("a backlogged event holds %d bytes of heap, want at most 160", per)
	}
	for range eventChanSlots {
		<-q.ch
	}
	q.flush()
	ev := <-q.ch
	if ev.Kind != EventJoin || ev.Member.ID != pid || len(ev.Member.Addrs) != 2 || !ev.Member.Addrs[1].Equal(addrs[1]) {
		t.Fatalf("the first backlogged event came out as %+v", ev)
	}
	runtime.KeepAlive(q.backlog)
}
