package p2p

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/grapevine-p2p/grapevine/core"
)

// The counters a Peer reports (Stats); the Prometheus metrics (metrics.go)
// mirror them.

// Stats is a snapshot of the peer's counters.
type Stats struct {
	Engine       core.Stats // the gossip engine's counters
	Membership   MembershipStats
	FramesSent   uint64 // frames written to streams
	BytesSent    uint64 // bytes written (frames with their length prefix)
	FramesIn     uint64
	BytesIn      uint64
	QueueDropped uint64 // outgoing frames dropped (queue full, stream failed)
	// QueueDroppedBy splits QueueDropped by reason: the peer's queue was
	// full; no stream could be opened (dial or negotiation failed); the
	// stream failed (its queue dropped with the batch being written).
	QueueDroppedBy struct{ Full, NoStream, Failed uint64 }
	// LastNoStream is why the last stream that could not be opened
	// failed (empty if none failed).
	LastNoStream  string
	InDropped     uint64 // inbound frames dropped (driver inbox full)
	Delivered     uint64 // messages handed to subscribers' topics (own included)
	Invalid       uint64 // messages whose signature did not verify
	DecodeErrors  uint64 // inbound frames dropped: they did not decode, or a record in them did not
	SubDropped    uint64 // deliveries dropped because a subscriber was slow
	EventsDropped uint64
	WriteTimeouts uint64 // outgoing batches not written within their deadline
	AddrsRefused  uint64 // member-advertised addresses not put into the peerstore (addrs.go)
	ConnsTrimmed  uint64 // connections closed because the overlay did not need them (overlay.go) or their member was declared failed
	ConnsOpened   uint64 // connections set up, inbound and outbound (each a handshake)
	// SendDials counts the streams opened to a peer this one had no
	// connection to, by kind: each first dialled a connection for the
	// frame (with the overlay, traffic to members that are not neighbours).
	SendDials struct{ Gossip, Membership uint64 }
	// StreamsReleased counts idle outgoing streams let go at once when the
	// last connection to their peer closed (transport.go, disconnected).
	StreamsReleased uint64
	Overlay         OverlayStats // the overlay's counters (zero with the overlay off)
	Inbound         InboundStats // what the inbound bounds refused or delayed
	Lag             LagStats     // how far behind real time the driver ran (lag.go)
	// Ticks counts the state machine's ticks run and the driver's
	// wake-ups for them: a tick in which the machine only keeps house
	// runs back to back with others, without a wake-up of its own
	// (tick_schedule.go). With skipping on, ticks slept through are
	// counted once they have run: up to 10 ticks after their time.
	Ticks struct{ Run, Woken uint64 }
	// AnswerWakes counts the driver's wake-ups between ticks to resend
	// unanswered tree bodies and IWANTs and to send deferred
	// announcements (treeAckWait apart while any wait), and GapWakes
	// those to ask for gaps (gapAskWait after one shows).
	AnswerWakes, GapWakes uint64
	Gaps                  core.GapStats     // bodies wanted because a later message revealed them missing (core/gapwant.go)
	TreeAck               core.TreeAckStats // tree bodies acknowledged and resent (core/treeack.go)
	Plum                  core.PlumStats    // Plumtree's links over the overlay: prunes, grafts, duplicates (core/plumtree.go)
	// PlumEager and PlumLazy are how many of the current neighbour links
	// Plumtree pushes bodies over and only announces over.
	PlumEager, PlumLazy int
}

// loadString reads a string kept in an atomic.Value ("" if none yet).
func loadString(v *atomic.Value) string {
	s, _ := v.Load().(string)
	return s
}

// Stats returns a snapshot of the counters; the state machines' are read on
// the driver, so it waits for the driver's turn (StatsNow does not).
func (p *Peer) Stats() Stats {
	st := p.transportStats()
	_ = p.call(context.Background(), func() { p.machineStats(&st) })
	return st
}

// StatsNow returns the peer's counters without waiting for its driver: all
// of them as the driver last copied them, once a second of ticks (up to
// two seconds old, as ticks the driver slept through run back to back, and
// older while the driver runs behind; zero before the first tick). A monitor of a peer that runs seconds behind reads it at once,
// where Stats waits for the driver's turn.
func (p *Peer) StatsNow() Stats {
	p.copied.mu.Lock()
	defer p.copied.mu.Unlock()
	return p.copied.st
}

// copyMachineStats stores a snapshot of every counter for StatsNow and
// returns it (on the driver, once a second of ticks, where the gauges are
// refreshed from it). The copy is kept in place, under a lock held for a
// copy of the struct: nothing is allocated a second per peer.
func (p *Peer) copyMachineStats() *Stats {
	st := &p.copied.scratch
	*st = p.transportStats()
	p.machineStats(st)
	p.copied.mu.Lock()
	p.copied.st = *st
	p.copied.mu.Unlock()
	return st
}

// copiedStats is what copyMachineStats keeps for StatsNow.
type copiedStats struct {
	mu      sync.Mutex
	st      Stats // read by StatsNow under mu
	scratch Stats // the driver's own, filled without the lock
}

// machineStats fills in the state machines' counters (on the driver).
func (p *Peer) machineStats(st *Stats) {
	st.Engine = p.mc.EngineStats()
	st.Membership = p.mc.MembershipStats()
	st.Overlay = p.mc.OverlayStats()
	if m, ok := p.mc.(*nodeMachine); ok {
		st.Gaps = m.n.Engine().GapStats()
		st.TreeAck = m.n.Engine().TreeAckStats()
		st.Plum = m.n.Engine().PlumStats()
		st.PlumEager, st.PlumLazy = m.n.Engine().PlumLinks()
	}
}

// transportStats returns the counters the adapter keeps itself (atomics:
// any goroutine may read them).
func (p *Peer) transportStats() Stats {
	return Stats{
		FramesSent: p.ctr.framesOut.Load(), BytesSent: p.ctr.bytesOut.Load(),
		FramesIn: p.ctr.framesIn.Load(), BytesIn: p.ctr.bytesIn.Load(),
		QueueDropped: p.ctr.queueDrops.Load(), InDropped: p.ctr.inDrops.Load(),
		QueueDroppedBy: struct{ Full, NoStream, Failed uint64 }{p.ctr.dropFull.Load(), p.ctr.dropNoStream.Load(), p.ctr.dropFailed.Load()},
		LastNoStream:   loadString(&p.ctr.lastNoStream),
		Delivered:      p.ctr.delivered.Load(), Invalid: p.ctr.invalid.Load(), DecodeErrors: p.ctr.decodeErrs.Load(),
		SubDropped: p.ctr.subDrops.Load(), EventsDropped: p.ctr.eventDrops.Load(),
		WriteTimeouts: p.ctr.writeTimeouts.Load(), AddrsRefused: p.ctr.addrsRefused.Load(),
		ConnsTrimmed: p.ctr.connsTrimmed.Load(), ConnsOpened: p.ctr.connsOpened.Load(),
		StreamsReleased: p.ctr.streamsReleased.Load(),
		SendDials:       struct{ Gossip, Membership uint64 }{p.ctr.sendDials[kindGossip].Load(), p.ctr.sendDials[kindMembership].Load()},
		Lag:             p.ctr.lag.stats(),
		Ticks:           struct{ Run, Woken uint64 }{p.ctr.ticksRun.Load(), p.ctr.tickWakes.Load()},
		AnswerWakes:     p.ctr.answerWakes.Load(), GapWakes: p.ctr.gapWakes.Load(),
		Inbound: InboundStats{
			TooLarge: p.ctr.inbound[inTooLarge].Load(), Duplicate: p.ctr.inbound[inDuplicate].Load(),
			Idle: p.ctr.inbound[inIdle].Load(), SlowFrame: p.ctr.inbound[inSlowFrame].Load(),
			NoMemory: p.ctr.inbound[inNoMemory].Load(), Throttled: p.ctr.inbound[inThrottled].Load(),
			Penalized: p.ctr.inbound[inPenalized].Load(),
		},
	}
}
