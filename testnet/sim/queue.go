package sim

import "time"

type eventKind uint8

const (
	evTick eventKind = iota
	evTickAll
	evFrame
	evFunc
	evTimer
)

// event is one scheduled occurrence. Events are ordered by (at, seq): seq
// is assigned at scheduling, so events of one instant run in the order they
// were scheduled, and the order never depends on anything but the inputs.
type event struct {
	at    time.Duration
	seq   uint64
	frame []byte
	fn    func()
	from  int32
	to    int32
	kind  eventKind
}

func (a *event) less(b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// queue is a 4-ary min-heap of events by value (fewer cache misses and
// pointer writes than a binary heap of pointers at millions of events).
type queue []event

func (n *Network) push(ev event) {
	n.seq++
	ev.seq = n.seq
	q := append(n.q, ev)
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !q[i].less(&q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
	n.q = q
}

func (n *Network) pop() event {
	q := n.q
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = event{}
	q = q[:last]
	i := 0
	for {
		c := 4*i + 1
		if c >= len(q) {
			break
		}
		m := c
		for j := c + 1; j < c+4 && j < len(q); j++ {
			if q[j].less(&q[m]) {
				m = j
			}
		}
		if !q[m].less(&q[i]) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	n.q = q
	return top
}
