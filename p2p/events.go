package p2p

import (
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
)

// eventChanSlots is the capacity of the channel Events returns. The rest of
// the event buffer (WithBuffers) is a backlog that the driver allocates
// only while the reader is behind: a channel of 1,024 events was about
// 90 KB of every peer's heap (its heap fell by about 6 % at N = 50 without
// it; found with the bench's -heapprofile), held whether anyone read
// events or not.
const eventChanSlots = 16

// eventQueue holds the membership events the reader of Events() has not
// taken yet beyond the channel's slots, in order. It is the driver
// goroutine's alone, and so are its methods (until the driver has ended).
//
// The backlog keeps an event as membership gave it (its metadata shared
// with the member table) and builds the Event, addresses decoded, only as
// it enters the channel: a peer whose events nobody reads fills its
// backlog to the buffer, and decoded events held there were about 110 KB
// of every peer's heap at N = 300 (p2pscale -heapprofile), each holding
// its member's parsed multiaddrs and a copy of its ID.
type eventQueue struct {
	ch      chan Event
	backlog []queuedEvent
	limit   int         // the channel's slots and the backlog together (WithBuffers)
	self    core.NodeID // to mark this peer's own events (Member.Self)
}

// queuedEvent is an event waiting in the backlog.
type queuedEvent struct {
	kind EventKind
	m    membership.Member
}

func newEventQueue(limit int, self core.NodeID) eventQueue {
	return eventQueue{ch: make(chan Event, min(limit, eventChanSlots)), limit: limit, self: self}
}

func (q *eventQueue) event(e queuedEvent) Event {
	return Event{Kind: e.kind, Member: convertMember(e.m, q.self)}
}

// push hands an event to the channel, behind any backlog; it reports false
// when the reader is behind by the whole buffer and the event was dropped.
// Only the driver sends on the channel, so a free slot stays free until
// the send.
func (q *eventQueue) push(e queuedEvent) bool {
	q.flush()
	if len(q.backlog) == 0 && len(q.ch) < cap(q.ch) {
		q.ch <- q.event(e)
		return true
	}
	if len(q.ch)+len(q.backlog) >= q.limit {
		return false
	}
	q.backlog = append(q.backlog, e)
	return true
}

// flushable reports whether flush would move an event: some wait in the
// backlog and the channel has room.
func (q *eventQueue) flushable() bool { return len(q.backlog) > 0 && len(q.ch) < cap(q.ch) }

// flush moves what the channel has room for from the backlog into it, and
// frees the backlog's memory once it is empty. The driver calls it every
// tick, and wakes for a tick while it has something to move, so a reader
// that fell behind gets the backlog within a second of making room (the
// driver sleeps through up to maxQuietTicks while the channel is full).
func (q *eventQueue) flush() {
	n := 0
	for n < len(q.backlog) && len(q.ch) < cap(q.ch) {
		q.ch <- q.event(q.backlog[n])
		q.backlog[n] = queuedEvent{}
		n++
	}
	if n == 0 {
		return
	}
	if n == len(q.backlog) {
		q.backlog = nil
		return
	}
	q.backlog = q.backlog[n:]
}

// close closes the channel after moving into it what still fits; it
// returns how many backlogged events that left behind (dropped).
func (q *eventQueue) close() int {
	q.flush()
	left := len(q.backlog)
	q.backlog = nil
	close(q.ch)
	return left
}

// emit hands a membership event to Events() (driver goroutine), after
// what the event means for the peer's own connections and address book.
func (p *Peer) emit(kind EventKind, mm membership.Member) {
	id, _ := PeerID(mm.ID)
	self := mm.ID == p.id
	if kind == EventRejoin && !self {
		p.dur.memberRejoined(mm.ID)
	}
	if id != "" && !self {
		switch kind {
		case EventJoin, EventRejoin, EventUpdate:
			if !p.s.overlay {
				p.joinedOnce.Do(func() { close(p.joined) })
			}
			_, advertised := splitMeta(mm.Meta)
			if addrs := decodeAddrMeta(advertised); len(addrs) > 0 {
				p.addMemberAddrs(id, addrs, advertised)
			}
			if !p.s.overlay {
				// Without the overlay every member is talked to: connect
				// ahead of need. With it, only neighbours are (overlay.go).
				p.predial(id)
				p.host.ConnManager().TagPeer(id, "grapevine-member", 50)
			}
		case EventFail, EventLeave:
			p.host.ConnManager().UntagPeer(id, "grapevine-member")
			p.known.forget(id) // a Rejoin brings them back
			if kind == EventFail {
				// A member declared failed is talked to no more; a silent
				// crash leaves its connection open until the transport's
				// idle timeout, holding its state (and QUIC its
				// retransmissions). If it was a false verdict, its
				// refutation brings it back and the next frame redials.
				p.closeConns(id)
			}
		}
	}
	if !p.events.push(queuedEvent{kind: kind, m: mm}) {
		p.m.eventDrops.Inc()
		p.ctr.eventDrops.Add(1)
	}
}
