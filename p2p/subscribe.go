package p2p

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Deliveries: from the engine through the data directory (durable.go) to
// the subscriptions of each topic.

// Message is a delivered message.
type Message struct {
	From      peer.ID       // the origin (who published it; verified by signature)
	Seq       uint64        // the origin's sequence number
	Topic     string        // topic it was published on
	Data      []byte        // payload: read-only, shared with the peer's store and other subscribers (copy it to modify it)
	Timestamp time.Time     // the origin's clock at publish
	Latency   time.Duration // local delivery time minus Timestamp (includes clock skew)
	Local     bool          // published by this peer
	// Redelivered: given again after a restart because an acknowledged
	// subscription (WithAcks) had not acknowledged it; the application may
	// have handled it before the restart.
	Redelivered bool

	ack *ackToken // acknowledged subscriptions with a data directory
}

// Deliver implements core.Application (driver goroutine): through the
// data directory and the history rule (durable.go) to dispatch.
func (p *Peer) Deliver(m *core.Message) { p.dur.deliver(m) }

// dispatch hands a delivery to the subscribers of its topic.
func (p *Peer) dispatch(m *core.Message) {
	base := p.message(m, time.Now()) // never sent: each subscriber gets a copy
	local := base.Local
	if !local {
		p.m.latency.Observe(base.Latency.Seconds())
	}
	p.m.delivered.Inc()
	p.ctr.delivered.Add(1)
	if m.Topic == RevocationTopic {
		p.onRevocations(m.Payload)
	}
	p.subsMu.Lock()
	subs := p.subs[m.Topic]
	var target *ackTarget
	if a := p.dur.acks; a != nil && !local {
		k := 0
		for _, s := range subs {
			if s.acked {
				k++
			}
		}
		target = a.dispatched(m, k)
	}
	for _, s := range subs {
		msg := new(Message)
		*msg = base
		if s.acked {
			msg.ack = target.token()
		}
		s.offer(msg)
	}
	p.subsMu.Unlock()
}

// offer puts msg in the subscription's buffer, or counts it dropped.
func (s *Subscription) offer(msg *Message) {
	select {
	case s.ch <- msg:
	default:
		s.dropped.Add(1)
		s.p.m.subDrops.Inc()
		s.p.ctr.subDrops.Add(1)
	}
}

// Subscription receives the messages of one topic.
type Subscription struct {
	p       *Peer
	topic   string
	ch      chan *Message
	acked   bool // WithAcks
	dropped atomic.Uint64
	once    sync.Once
}

// Subscribe returns a subscription to topic. Messages published before the
// subscription are not replayed (but see WithAcks for what a restart gives
// again): subscribe right after New. A subscriber that falls behind by more
// than its buffer (WithBuffers) loses the excess, counted in Dropped.
func (p *Peer) Subscribe(topic string, opts ...SubscribeOption) (*Subscription, error) {
	select {
	case <-p.done:
		return nil, ErrClosed
	default:
	}
	var o subscribeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.acked {
		p.dur.rememberAckedTopic(topic)
	}
	s := &Subscription{p: p, topic: topic, acked: o.acked, ch: make(chan *Message, p.s.subBuffer)}
	p.subsMu.Lock()
	defer p.subsMu.Unlock()
	if p.subs == nil {
		return nil, ErrClosed
	}
	if a := p.dur.acks; s.acked && a != nil {
		// What the last life delivered and did not see acknowledged, first.
		now := time.Now()
		for _, m := range a.takeRedeliveries(topic) {
			msg := p.message(m, now)
			msg.Redelivered = true
			msg.ack = (&ackTarget{t: a, origin: m.Origin, seq: m.Seq}).token()
			s.offer(&msg)
		}
	}
	p.subs[topic] = append(p.subs[topic], s)
	return s, nil
}

// message is the subscriber's view of m. Subscribers share the stored
// payload, as in go-libp2p-pubsub: one copy per subscriber was, at 16 KiB,
// a fifth of a peer's allocations. The capacity is cut at the length, so
// an append by a subscriber copies rather than writing into the store.
func (p *Peer) message(m *core.Message, now time.Time) Message {
	ts := time.Unix(0, m.Timestamp)
	pid, _ := peer.IDFromBytes([]byte(m.Origin))
	return Message{From: pid, Seq: m.Seq, Topic: m.Topic, Data: m.Payload[:len(m.Payload):len(m.Payload)],
		Timestamp: ts, Latency: now.Sub(ts), Local: m.Origin == p.id}
}

// Messages returns the subscription's channel, closed by Cancel or Close.
func (s *Subscription) Messages() <-chan *Message { return s.ch }

// Next waits for the next message.
func (s *Subscription) Next(ctx context.Context) (*Message, error) {
	select {
	case m, ok := <-s.ch:
		if !ok {
			return nil, ErrClosed
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Topic returns the subscribed topic.
func (s *Subscription) Topic() string { return s.topic }

// Dropped returns how many messages were dropped because the buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Cancel ends the subscription and closes its channel.
func (s *Subscription) Cancel() {
	s.p.subsMu.Lock()
	defer s.p.subsMu.Unlock()
	s.cancelLocked()
}

func (s *Subscription) cancelLocked() {
	s.once.Do(func() {
		list := s.p.subs[s.topic]
		for i, x := range list {
			if x == s {
				s.p.subs[s.topic] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(s.p.subs[s.topic]) == 0 {
			delete(s.p.subs, s.topic)
		}
		close(s.ch)
	})
}
