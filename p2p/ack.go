package p2p

// Acknowledged subscriptions: with a data directory, a delivery counts as
// handled only once the application says so (Message.Ack), and what was
// delivered but not acknowledged when the peer stopped is given again
// after the restart, marked Redelivered. Without them a kill in the moment
// between the commit and the application's use of a message loses that
// message to the application (it is recorded as delivered); with them it
// can only come twice, and the second time says so.

import (
	"sort"
	"sync"

	"github.com/grapevine-p2p/grapevine/core"
)

// SubscribeOption configures one subscription.
type SubscribeOption func(*subscribeOptions)

type subscribeOptions struct {
	acked bool
}

// WithAcks makes the subscription acknowledged. Each of its messages is
// to be acknowledged (Message.Ack) once the application has handled it.
// With a data directory (WithDataDir, WithStore) a message of an
// acknowledged subscription that was delivered and not acknowledged when
// the peer stopped, by a crash or not, is given again after the restart to
// the first acknowledged subscription of its topic, before anything newer
// of its origin and with Redelivered set; one the subscription dropped
// because its buffer was full is given again the same way. Delivery is
// then at least once: a crash between the application's handling and the
// acknowledgement reaching the disk (one group commit, a few
// milliseconds) repeats that message, marked. Without a data directory
// acknowledgements change nothing.
func WithAcks() SubscribeOption {
	return func(o *subscribeOptions) { o.acked = true }
}

// Ack acknowledges m: the application has handled it. It is safe to call
// from any goroutine, more than once, and on messages of subscriptions
// without WithAcks (where it does nothing).
func (m *Message) Ack() {
	if m.ack == nil {
		return
	}
	m.ack.once.Do(func() { m.ack.t.ack(m.ack.origin, m.ack.seq) })
}

// ackToken ties one delivered Message to the tracker.
type ackToken struct {
	t      *ackTracker
	origin core.NodeID
	seq    uint64
	once   sync.Once
}

// pendingAck is one delivered message whose acknowledgements are awaited.
type pendingAck struct {
	seq uint64
	idx uint64 // its record in the data directory's log
	// left is how many acknowledged subscriptions still have to
	// acknowledge it: inFlight until it is dispatched, awaitingSubscriber
	// for a redelivery no acknowledged subscription has taken yet.
	left int
	msg  *core.Message // kept for redelivery only (awaitingSubscriber)
}

const (
	inFlight           = -1
	awaitingSubscriber = -2
)

// ackTracker keeps, per origin, the delivered messages not yet
// acknowledged, which hold that origin's acknowledgement floor: every
// delivered message of the origin at or below the floor was acknowledged
// (or went to no acknowledged subscription). The floor is committed with
// the origin's watermark; messages above it and at or below the watermark,
// of a topic that had an acknowledged subscription (topics), are
// redelivered after a restart. Every delivery of a peer with a database
// is tracked from its commit to its dispatch, so that a message committed
// before an acknowledged subscription existed (held back by the history
// window, or racing the first Subscribe) is covered too.
type ackTracker struct {
	mu     sync.Mutex
	topics map[string]bool // topics that have or had an acknowledged subscription (on disk)
	// topicsDirty: topics grew since the last commit (written with the
	// next one, which the new subscription asks for).
	topicsDirty bool
	pending     map[core.NodeID][]pendingAck
	n           int                  // entries in pending
	max         int                  // bound on n (the log's message bound)
	dirty       map[core.NodeID]bool // floors that may have moved since the last commit
	wake        func()               // asks the writer to commit the floors
	// counters
	redelivered, abandoned uint64
}

func newAckTracker(max int, topics map[string]bool, wake func()) *ackTracker {
	if topics == nil {
		topics = map[string]bool{}
	}
	return &ackTracker{pending: map[core.NodeID][]pendingAck{}, dirty: map[core.NodeID]bool{}, topics: topics, max: max, wake: wake}
}

// addTopic records that topic has an acknowledged subscription, to be
// written with the next commit (Subscribe must not wait for a commit: in a
// browser tab it runs on the page's thread, which the store's commit
// needs). Until then a crash forgets the topic, so what the subscription
// took in that one commit's time is not given again; after the first
// time, the topic is on disk before the subscription is made.
func (t *ackTracker) addTopic(topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.topics[topic] {
		return
	}
	t.topics[topic] = true
	t.topicsDirty = true
	t.wakeLocked()
}

// awaited counts the deliveries an acknowledged subscription has been
// given and not acknowledged.
func (t *ackTracker) awaited() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, l := range t.pending {
		for _, p := range l {
			if p.left > 0 {
				n++
			}
		}
	}
	return n
}

// find returns the index of seq in the origin's pending list.
func (t *ackTracker) find(o core.NodeID, seq uint64) (int, bool) {
	l := t.pending[o]
	i := sort.Search(len(l), func(i int) bool { return l[i].seq >= seq })
	return i, i < len(l) && l[i].seq == seq
}

// add registers a delivery about to be committed (writer goroutine), as
// in flight: it holds its origin's floor until it is dispatched.
func (t *ackTracker) add(m *core.Message, idx uint64, left int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.addLocked(m, idx, left)
}

func (t *ackTracker) addLocked(m *core.Message, idx uint64, left int) {
	i, found := t.find(m.Origin, m.Seq)
	if found {
		return
	}
	l := t.pending[m.Origin]
	l = append(l, pendingAck{})
	copy(l[i+1:], l[i:])
	p := pendingAck{seq: m.Seq, idx: idx, left: left}
	if left == awaitingSubscriber {
		p.msg = m
	}
	l[i] = p
	t.pending[m.Origin] = l
	t.n++
	// The floor may move down (a late delivery below it): rewrite it.
	t.dirty[m.Origin] = true
	for t.n > t.max {
		t.dropOldestLocked()
	}
}

// dropOldestLocked gives up the entry with the oldest log record: the
// bound was reached (a subscriber that never acknowledges).
func (t *ackTracker) dropOldestLocked() {
	var oo core.NodeID
	best := -1
	var bestIdx uint64
	for o, l := range t.pending {
		for i, p := range l {
			if best < 0 || p.idx < bestIdx {
				oo, best, bestIdx = o, i, p.idx
			}
		}
	}
	if best < 0 {
		return
	}
	t.removeLocked(oo, best)
	t.abandoned++
}

func (t *ackTracker) removeLocked(o core.NodeID, i int) {
	l := t.pending[o]
	l = append(l[:i], l[i+1:]...)
	if len(l) == 0 {
		delete(t.pending, o)
	} else {
		t.pending[o] = l
	}
	t.n--
	t.dirty[o] = true
}

// dispatched records that a delivery went to k acknowledged subscriptions
// (dispatch, under the subscriptions' lock). It returns the token each of
// them gets, or nil when nothing is awaited.
func (t *ackTracker) dispatched(m *core.Message, k int) *ackTarget {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, found := t.find(m.Origin, m.Seq)
	if k == 0 {
		// Nothing to await: the floor moves at the next commit (no commit
		// of its own; a crash before it repeats nothing unless the topic
		// had an acknowledged subscription before, which then gets it
		// again, marked).
		if found {
			t.removeLocked(m.Origin, i)
		}
		return nil
	}
	if !found {
		// Delivered before tracking was on, or released later by the
		// history window: track it from now on.
		t.addLocked(m, ^uint64(0), k)
	} else {
		t.pending[m.Origin][i].left = k
	}
	return &ackTarget{t: t, origin: m.Origin, seq: m.Seq}
}

// ackTarget makes the tokens for one delivery.
type ackTarget struct {
	t      *ackTracker
	origin core.NodeID
	seq    uint64
}

func (a *ackTarget) token() *ackToken {
	if a == nil {
		return nil
	}
	return &ackToken{t: a.t, origin: a.origin, seq: a.seq}
}

// ack counts one acknowledgement of (o, seq).
func (t *ackTracker) ack(o core.NodeID, seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, found := t.find(o, seq)
	if !found {
		return
	}
	p := &t.pending[o][i]
	if p.left > 0 {
		p.left--
	}
	if p.left == 0 {
		t.removeLocked(o, i)
		if i == 0 {
			t.wakeLocked()
		}
	}
}

func (t *ackTracker) wakeLocked() {
	if t.wake != nil {
		t.wake()
	}
}

// floor returns the origin's acknowledgement floor given its watermark.
func (t *ackTracker) floor(o core.NodeID, wm uint64) uint64 {
	if l := t.pending[o]; len(l) > 0 && l[0].seq <= wm && l[0].seq > 0 {
		return l[0].seq - 1
	}
	return wm
}

// floors adds to b the acknowledged topics if they grew, and the floors to commit with the watermarks: those of the
// origins in wm (about to be written) and of the origins whose floor may
// have moved. It clears the dirty set. wmAll is every known watermark.
func (t *ackTracker) floors(wmAll map[core.NodeID]watermark, b *durableBatch) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.topicsDirty {
		b.ackedTopics = make([]string, 0, len(t.topics))
		for tp := range t.topics {
			b.ackedTopics = append(b.ackedTopics, tp)
		}
		sort.Strings(b.ackedTopics)
		t.topicsDirty = false
	}
	for o := range t.dirty {
		if w, ok := wmAll[o]; ok {
			if b.wm == nil {
				b.wm = map[core.NodeID]watermark{}
			}
			b.wm[o] = w
		}
	}
	clear(t.dirty)
	for o, w := range b.wm {
		w.acked = t.floor(o, w.seq)
		w.hasAck = true
		b.wm[o] = w
	}
}

// evicted gives up the entries whose log records were dropped: they can
// no longer be redelivered.
func (t *ackTracker) evicted(idx []uint64) {
	if len(idx) == 0 {
		return
	}
	drop := make(map[uint64]bool, len(idx))
	for _, i := range idx {
		drop[i] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for o, l := range t.pending {
		for i := 0; i < len(l); {
			if drop[l[i].idx] {
				t.removeLocked(o, i)
				t.abandoned++
				l = t.pending[o]
				continue
			}
			i++
		}
	}
}

// takeRedeliveries removes and returns, oldest first, the restored
// redeliveries of topic for a new acknowledged subscription; each is then
// awaited from it.
func (t *ackTracker) takeRedeliveries(topic string) []*core.Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*core.Message
	for _, l := range t.pending {
		for i := range l {
			if l[i].left == awaitingSubscriber && l[i].msg.Topic == topic {
				out = append(out, l[i].msg)
				l[i].left, l[i].msg = 1, nil
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Origin != out[j].Origin {
			return out[i].Origin < out[j].Origin
		}
		return out[i].Seq < out[j].Seq
	})
	t.redelivered += uint64(len(out))
	return out
}

func (t *ackTracker) counters() (redelivered, abandoned uint64, pending int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.redelivered, t.abandoned, t.n
}
