package p2p

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
type eventQueue struct {
	ch      chan Event
	backlog []Event
	limit   int // the channel's slots and the backlog together (WithBuffers)
}

func newEventQueue(limit int) eventQueue {
	return eventQueue{ch: make(chan Event, min(limit, eventChanSlots)), limit: limit}
}

// push hands ev to the channel, behind any backlog; it reports false when
// the reader is behind by the whole buffer and ev was dropped.
func (q *eventQueue) push(ev Event) bool {
	q.flush()
	if len(q.backlog) == 0 {
		select {
		case q.ch <- ev:
			return true
		default:
		}
	}
	if len(q.ch)+len(q.backlog) >= q.limit {
		return false
	}
	q.backlog = append(q.backlog, ev)
	return true
}

// flush moves what the channel has room for from the backlog into it, and
// frees the backlog's memory once it is empty. The driver calls it every
// tick, so a reader that fell behind gets the backlog a tick later at most.
func (q *eventQueue) flush() {
	n := 0
	for n < len(q.backlog) {
		select {
		case q.ch <- q.backlog[n]:
			q.backlog[n] = Event{}
			n++
			continue
		default:
		}
		break
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

// emit hands a membership event to Events() (driver goroutine).
func (p *Peer) emit(ev Event) {
	p.dur.memberEvent(ev)
	if ev.Member.ID != "" && !ev.Member.Self {
		switch ev.Kind {
		case EventJoin, EventRejoin, EventUpdate:
			if !p.s.overlay {
				p.joinedOnce.Do(func() { close(p.joined) })
			}
			if len(ev.Member.Addrs) > 0 {
				p.addMemberAddrs(ev.Member.ID, ev.Member.Addrs)
			}
			if !p.s.overlay {
				// Without the overlay every member is talked to: connect
				// ahead of need. With it, only neighbours are (overlay.go).
				p.predial(ev.Member.ID)
				p.host.ConnManager().TagPeer(ev.Member.ID, "grapevine-member", 50)
			}
		case EventFail, EventLeave:
			p.host.ConnManager().UntagPeer(ev.Member.ID, "grapevine-member")
			p.known.forget(ev.Member.ID) // a Rejoin brings them back
			if ev.Kind == EventFail {
				// A member declared failed is talked to no more; a silent
				// crash leaves its connection open until the transport's
				// idle timeout, holding its state (and QUIC its
				// retransmissions). If it was a false verdict, its
				// refutation brings it back and the next frame redials.
				p.closeConns(ev.Member.ID)
			}
		}
	}
	if !p.events.push(ev) {
		p.m.eventDrops.Inc()
		p.ctr.eventDrops.Add(1)
	}
}
