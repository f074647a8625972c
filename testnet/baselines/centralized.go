package baselines

import (
	"errors"
	"fmt"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// CentralizedConfig configures a node of the centralized protocol: one
// source unicasts every message to every receiver in turn.
type CentralizedConfig struct {
	ID     core.NodeID
	Source core.NodeID
	// Group lists every member, the source included (it is skipped). The
	// source sends in the group's (sorted) order.
	Group     *Group
	Transport core.Transport
	App       core.Application

	// SendsPerTick is the per-send cost model: the source hands at most
	// this many unicasts to the network per tick (its uplink), so one
	// message reaches the last of n receivers about n/SendsPerTick ticks
	// after the first.
	SendsPerTick int
	// Ack makes receivers acknowledge every message and the source resend
	// to a receiver whose ACK has not come AckTimeout ticks after the send,
	// at most MaxRetries times.
	Ack        bool
	AckTimeout int
	MaxRetries int
	// MaxQueue bounds queued sends at the source (Stats.QueueDrops);
	// MaxStore bounds the messages it keeps for retransmission and the
	// ACK state it tracks (Stats.StoreEvicted).
	MaxQueue int
	MaxStore int
	Limits   core.Limits
}

// DefaultCentralizedConfig returns the defaults: 100 sends per tick (with
// 10 ms ticks, 10,000 unicasts a second, about 80 Mbit/s of 1 KiB packets),
// ACKs on with a 50-tick timeout and 3 retries.
func DefaultCentralizedConfig() CentralizedConfig {
	return CentralizedConfig{
		SendsPerTick: 100,
		Ack:          true,
		AckTimeout:   50,
		MaxRetries:   3,
		MaxQueue:     1 << 22,
		MaxStore:     1024,
		Limits:       core.DefaultLimits(),
	}
}

type sendJob struct {
	recv int32
	seq  uint64
}

type ackTimer struct {
	at   uint64
	recv int32
	seq  uint64
}

type centralMsg struct {
	msg   *core.Message
	frame []byte
	acked []uint64 // bitmap over the group's members
	tries []uint8  // sends per receiver (only with Ack)
}

// Centralized is one node of the centralized protocol: the source, or a
// receiver. It is a deterministic state machine like core.Engine.
type Centralized struct {
	cfg     CentralizedConfig
	self    int
	source  bool
	ticks   uint64
	nextSeq uint64

	queue  []sendJob
	qhead  int
	timers []ackTimer
	thead  int
	msgs   map[uint64]*centralMsg
	order  []uint64

	seen  seqSet
	stats Stats
}

// NewCentralized validates cfg and returns a node.
func NewCentralized(cfg CentralizedConfig) (*Centralized, error) {
	var errs []error
	if cfg.ID == "" || cfg.Source == "" || cfg.Transport == nil {
		errs = append(errs, errors.New("ID, Source and Transport are required"))
	}
	if cfg.SendsPerTick < 1 || cfg.MaxQueue < 1 || cfg.MaxStore < 1 {
		errs = append(errs, errors.New("SendsPerTick, MaxQueue and MaxStore must be positive"))
	}
	if cfg.Ack && (cfg.AckTimeout < 1 || cfg.MaxRetries < 0 || cfg.MaxRetries > 255) {
		errs = append(errs, errors.New("AckTimeout must be positive and MaxRetries in [0, 255]"))
	}
	self := -1
	if cfg.Group == nil {
		errs = append(errs, errors.New("Group is required"))
	} else if self = cfg.Group.Index(cfg.ID); self < 0 || cfg.Group.Index(cfg.Source) < 0 {
		errs = append(errs, errors.New("ID and Source must be members of Group"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("baselines: centralized config: %w", errors.Join(errs...))
	}
	return &Centralized{cfg: cfg, self: self, source: cfg.ID == cfg.Source, nextSeq: 1,
		msgs: make(map[uint64]*centralMsg)}, nil
}

// ID returns the node's ID.
func (c *Centralized) ID() core.NodeID { return c.cfg.ID }

// Stats returns a copy of the counters.
func (c *Centralized) Stats() Stats { return c.stats }

// Has reports whether the node has the message with key k.
func (c *Centralized) Has(k core.MsgKey) bool {
	if k.Origin != c.cfg.Source {
		return false
	}
	if c.source {
		return k.Seq >= 1 && k.Seq < c.nextSeq
	}
	return c.seen.has(k.Seq)
}

// Queued returns the number of sends waiting for the uplink.
func (c *Centralized) Queued() int { return len(c.queue) - c.qhead }

// Publish (source only) delivers the message locally and queues one unicast
// per receiver.
func (c *Centralized) Publish(topic string, payload []byte) (*core.Message, error) {
	if !c.source {
		return nil, ErrNotSource
	}
	m := &core.Message{Origin: c.cfg.ID, Seq: c.nextSeq, Topic: topic, Payload: slices.Clone(payload)}
	c.nextSeq++
	c.stats.Published++
	c.stats.Delivered++
	if c.cfg.App != nil {
		c.cfg.App.Deliver(m)
	}
	cm := &centralMsg{msg: m, frame: appendMessageFrame(m, 0)}
	if c.cfg.Ack {
		cm.acked = make([]uint64, (c.cfg.Group.Len()+63)/64)
		cm.tries = make([]uint8, c.cfg.Group.Len())
	}
	if len(c.order) >= c.cfg.MaxStore {
		delete(c.msgs, c.order[0])
		c.order = c.order[1:]
		c.stats.StoreEvicted++
	}
	c.msgs[m.Seq] = cm
	c.order = append(c.order, m.Seq)
	for i := range c.cfg.Group.Len() {
		if i != c.self {
			c.enqueue(sendJob{recv: int32(i), seq: m.Seq})
		}
	}
	return m, nil
}

func (c *Centralized) enqueue(j sendJob) {
	if len(c.queue)-c.qhead >= c.cfg.MaxQueue {
		c.stats.QueueDrops++
		return
	}
	if c.qhead > 4096 && c.qhead*2 > len(c.queue) {
		c.queue = append(c.queue[:0], c.queue[c.qhead:]...)
		c.qhead = 0
	}
	c.queue = append(c.queue, j)
}

func (cm *centralMsg) isAcked(i int32) bool { return cm.acked[i/64]&(1<<(i%64)) != 0 }

// Tick advances time by one tick: the source retransmits what timed out and
// sends up to SendsPerTick queued unicasts.
func (c *Centralized) Tick() {
	c.ticks++
	if !c.source {
		return
	}
	for c.thead < len(c.timers) && c.timers[c.thead].at <= c.ticks {
		t := c.timers[c.thead]
		c.thead++
		cm := c.msgs[t.seq]
		if cm == nil || cm.isAcked(t.recv) {
			continue
		}
		if int(cm.tries[t.recv]) > c.cfg.MaxRetries {
			c.stats.GaveUp++
			continue
		}
		c.stats.AckTimeouts++
		c.enqueue(sendJob{recv: t.recv, seq: t.seq})
	}
	if c.thead > 4096 && c.thead*2 > len(c.timers) {
		c.timers = append(c.timers[:0], c.timers[c.thead:]...)
		c.thead = 0
	}
	for sent := 0; sent < c.cfg.SendsPerTick && c.qhead < len(c.queue); {
		j := c.queue[c.qhead]
		c.qhead++
		cm := c.msgs[j.seq]
		if cm == nil {
			continue // evicted
		}
		if c.cfg.Ack {
			if cm.isAcked(j.recv) {
				continue
			}
			if cm.tries[j.recv] > 0 {
				c.stats.Retransmitted++
			}
			cm.tries[j.recv]++
			c.timers = append(c.timers, ackTimer{at: c.ticks + uint64(c.cfg.AckTimeout), recv: j.recv, seq: j.seq})
		}
		c.cfg.Transport.Send(c.cfg.Group.Member(int(j.recv)), cm.frame)
		c.stats.FramesSent++
		c.stats.MessagesSent++
		sent++
	}
	if c.qhead == len(c.queue) {
		c.queue, c.qhead = c.queue[:0], 0
	}
}

// Step processes a frame from peer from.
func (c *Centralized) Step(from core.NodeID, frame []byte) error {
	f, err := core.DecodeFrame(frame, c.cfg.Limits)
	if err != nil {
		c.stats.DecodeErrors++
		return err
	}
	for _, m := range f.Messages {
		if c.source || m.Origin != c.cfg.Source {
			continue
		}
		added, overflow := c.seen.add(m.Seq, c.cfg.MaxStore)
		if overflow {
			c.stats.AboveOverflow++
		}
		if added {
			c.stats.Delivered++
			if c.cfg.App != nil {
				c.cfg.App.Deliver(m.Clone())
			}
		} else if !overflow {
			c.stats.Duplicates++
		}
		if c.cfg.Ack && !overflow {
			c.cfg.Transport.Send(c.cfg.Source, AppendKeyRecord(core.NewFrame(nil), RecAck, m.Key()))
			c.stats.FramesSent++
			c.stats.ControlSent++
		}
	}
	var firstErr error
	for _, rec := range f.Records {
		if rec.Type != RecAck {
			continue
		}
		k, err := DecodeKey(rec.Body, c.cfg.Limits)
		if err != nil {
			c.stats.DecodeErrors++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if !c.source || k.Origin != c.cfg.ID {
			continue
		}
		cm := c.msgs[k.Seq]
		i := c.cfg.Group.Index(from)
		if cm != nil && cm.acked != nil && i >= 0 {
			cm.acked[i/64] |= 1 << (i % 64)
		}
	}
	return firstErr
}
