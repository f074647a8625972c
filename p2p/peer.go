package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
)

// ErrClosed is returned by operations on a closed Peer.
var ErrClosed = errors.New("grapevine: peer is closed")

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

// counters are read by Stats; the Prometheus metrics mirror them.
type counters struct {
	framesOut, bytesOut, framesIn, bytesIn atomic.Uint64
	queueDrops, inDrops                    atomic.Uint64
	dropFull, dropNoStream, dropFailed     atomic.Uint64 // queueDrops by reason
	lastNoStream                           atomic.Value  // string: why the last stream could not be opened
	delivered, invalid, subDrops           atomic.Uint64
	decodeErrs                             atomic.Uint64
	eventDrops                             atomic.Uint64
	addrsRefused                           atomic.Uint64
	writeTimeouts                          atomic.Uint64
	connsTrimmed, connsOpened              atomic.Uint64
	streamsReleased                        atomic.Uint64
	addrWaits                              atomic.Uint64
	inbound                                [inReasons]atomic.Uint64
	lag                                    lagCounters
}

type inFrame struct {
	from     core.NodeID
	data     []byte
	src      *inStream // to release the frame's memory reservation once stepped
	reserved int
	at       int64 // when it was handed to the driver (UnixNano), for LagStats
}

// stepped tells the frame's stream the driver is done with it.
func (f *inFrame) stepped() {
	if f.src != nil {
		f.src.done(f.reserved)
	}
}

// Peer is a Grapevine member on a libp2p host: it owns the host (unless
// given one), the streams, the DHT, and one goroutine (the driver) that owns
// the pure state machine. All methods are safe for concurrent use.
type Peer struct {
	s       settings
	host    host.Host
	ownHost bool
	// connNotify counts connections (Stats.ConnsOpened); removed at Close
	// from a host given with WithHost, which outlives the peer.
	connNotify *network.NotifyBundle
	sk         crypto.PrivKey
	id         core.NodeID
	m          *metrics
	ctr        counters
	limits     core.Limits
	inCap      [2]int // largest inbound frame accepted, by kind: what this peer's own engine and memberlist may send
	tr         *transport
	mc         machine
	disc       *discovery
	dur        *durable // data directory and history (durable.go)

	ctx    context.Context
	cancel context.CancelFunc

	dials chan peer.ID // members to connect to ahead of need
	// lingering: former overlay neighbours whose connections close at the
	// given time unless they are neighbours again (driver goroutine)
	lingering map[peer.ID]time.Time

	gossipProto, swimProto protocol.ID // this group's protocol IDs

	// The inboxes hold pointers: a channel's buffer is allocated in full
	// by make, 8 bytes a slot rather than an inFrame's 64 (112 KiB less per
	// peer for the two, whether or not any traffic ever fills them).
	ctrlIn chan *inFrame
	bulkIn chan *inFrame
	calls  chan func()
	leave  chan chan struct{}

	subsMu sync.Mutex
	subs   map[string][]*Subscription
	events eventQueue // Events(): the channel and the reader's backlog (events.go)

	tickN   int
	lastDup uint64

	logs    logLimiter
	addrs   *addrBook
	known   memberAddrs // with the overlay: members' vetted addresses, put into the peerstore only to dial (member_addrs.go)
	metaMax int         // membership's MaxMetaSize
	gater   *gater      // refuses penalized peers (own host only)

	auth *groupAuth // closed group's admission (WithGroupAuthority), or nil

	joined     chan struct{} // closed when the first other member is known alive
	joinedOnce sync.Once

	closeOnce sync.Once
	closeErr  error
	done      chan struct{} // closed when the driver has exited
	wg        sync.WaitGroup
}

// New starts a peer: it creates the libp2p host (unless WithHost), starts
// the driver, joins the group through the bootstrap peers, seeds, DHT and
// mDNS as configured, and returns. Joining continues in the background.
func New(ctx context.Context, opts ...Option) (*Peer, error) {
	s := defaults()
	for _, o := range opts {
		if err := o(&s); err != nil {
			return nil, err
		}
	}
	p := &Peer{s: s, subs: make(map[string][]*Subscription), done: make(chan struct{}), joined: make(chan struct{})}
	p.logs.every = s.logEvery
	p.addrs = newAddrBook()
	p.gater = s.gater
	if p.gater == nil {
		p.gater = &gater{}
	}
	p.m = newMetrics(s.group)
	if s.registerer != nil {
		if err := p.m.register(s.registerer); err != nil {
			return nil, fmt.Errorf("registering metrics: %w", err)
		}
	}
	p.inCap = frameCaps(&s)
	fail := func(err error) (*Peer, error) {
		if p.ownHost && p.host != nil {
			p.host.Close()
		}
		if s.registerer != nil {
			p.m.unregister(s.registerer)
		}
		return nil, err
	}
	if s.host != nil {
		p.host = s.host
		p.sk = s.host.Peerstore().PrivKey(s.host.ID())
		if p.sk == nil || p.sk.Type() != crypto.Ed25519 {
			return fail(errors.New("the host's identity must be an ed25519 key"))
		}
	} else {
		sk := s.key
		if sk == nil {
			var err error
			if sk, err = GenerateKey(); err != nil {
				return fail(err)
			}
		}
		p.sk = sk
		h, err := newHost(sk, &s, p.inCap, p.gater)
		if err != nil {
			return fail(err)
		}
		p.host, p.ownHost = h, true
	}
	p.id = NodeID(p.host.ID())
	if err := p.initAuthority(); err != nil {
		return fail(err)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.ctrlIn = make(chan *inFrame, 1024)
	p.bulkIn = make(chan *inFrame, 1024)
	p.calls = make(chan func())
	p.leave = make(chan chan struct{})
	p.events = newEventQueue(s.eventBuffer)
	// Without the overlay every joining member is dialled ahead of need
	// (a join burst fills the queue); with it only new neighbours are, at
	// most the active view at a time, and the 64 KiB of 4,096 slots would
	// sit idle in every peer.
	dialQueue := 4096
	if s.overlay {
		dialQueue = 64
	}
	p.dials = make(chan peer.ID, dialQueue)
	p.lingering = make(map[peer.ID]time.Time)
	p.tr = newTransport(p.ctx, p)
	p.gater.tr.Store(p.tr)

	if err := p.openDurable(); err != nil {
		p.cancel()
		return fail(err)
	}
	mc, lim, err := newMachine(p)
	if err != nil {
		p.cancel()
		p.dur.close()
		return fail(err)
	}
	p.mc, p.limits = mc, lim
	if err := p.restoreDurable(); err != nil {
		p.cancel()
		p.dur.close()
		return fail(err)
	}

	p.gossipProto, p.swimProto = Protocols(s.group)
	p.host.SetStreamHandler(p.gossipProto, p.tr.handle(kindGossip))
	p.host.SetStreamHandler(p.swimProto, p.tr.handle(kindMembership))

	p.wg.Add(1 + dialWorkers)
	go p.drive()
	for i := 0; i < dialWorkers; i++ {
		go p.dialer()
	}
	if err := p.watchAddrs(); err != nil {
		p.Close()
		return nil, err
	}
	p.connNotify = &network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		p.ctr.connsOpened.Add(1)
		p.tr.connected(c.RemotePeer())
	}, DisconnectedF: func(_ network.Network, c network.Conn) {
		p.tr.disconnected(c.RemotePeer())
	}}
	p.host.Network().Notify(p.connNotify)

	d, err := startDiscovery(ctx, p)
	if err != nil {
		p.Close()
		return nil, err
	}
	p.disc = d
	return p, nil
}

// ID returns the peer's libp2p ID.
func (p *Peer) ID() peer.ID { return p.host.ID() }

// Host returns the libp2p host.
func (p *Peer) Host() host.Host { return p.host }

// Addrs returns the peer's full multiaddrs (with /p2p/<ID>).
func (p *Peer) Addrs() []ma.Multiaddr {
	ai := peer.AddrInfo{ID: p.host.ID(), Addrs: p.host.Addrs()}
	mas, _ := peer.AddrInfoToP2pAddrs(&ai)
	return mas
}

// Group returns the group name.
func (p *Peer) Group() string { return p.s.group }

// call runs f on the driver goroutine and waits for it.
func (p *Peer) call(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case p.calls <- func() { f(); close(done) }:
	case <-p.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-p.done:
		// The driver ran the call before exiting or dropped it.
		select {
		case <-done:
			return nil
		default:
			return ErrClosed
		}
	}
}

// Publish publishes data on topic to the whole group. It returns once the
// message is signed, stored and handed to the outgoing queues (it never
// waits for the network). A nil error does not mean anyone received it.
// The peer keeps a copy of data: the caller may reuse it at once.
func (p *Peer) Publish(ctx context.Context, topic string, data []byte) error {
	_, err := p.PublishKey(ctx, topic, data)
	return err
}

// PublishKey is Publish that also returns the message's key.
func (p *Peer) PublishKey(ctx context.Context, topic string, data []byte) (core.MsgKey, error) {
	var key core.MsgKey
	var perr error
	if err := p.mayPublish(topic); err != nil {
		return key, err
	}
	data = append([]byte(nil), data...) // stored and shared with subscribers
	err := p.call(ctx, func() {
		if perr = p.beforePublish(); perr != nil {
			return
		}
		m, err := p.mc.Publish(topic, data, core.WithTimestamp(time.Now().UnixNano()))
		if err != nil {
			perr = err
			return
		}
		key = m.Key()
	})
	if err != nil {
		return key, err
	}
	return key, perr
}

// Members returns a snapshot of the membership view (this peer included).
func (p *Peer) Members() []Member {
	var out []Member
	if err := p.call(context.Background(), func() { out = p.mc.Members() }); err != nil {
		return nil
	}
	return out
}

// Events returns the channel of membership events. It is closed by Close.
// The channel has 16 slots; a reader behind by more gets the rest from a
// backlog, at most a tick later, which holds memory only while it is
// behind. When the reader falls behind by more than the buffer
// (WithBuffers; 1,024 events by default), events are dropped and counted
// (Stats.EventsDropped), as are those still in the backlog at Close.
func (p *Peer) Events() <-chan Event { return p.events.ch }

// Join asks membership to join through the given peers (full multiaddrs);
// their addresses are added to the peerstore.
func (p *Peer) Join(ctx context.Context, addrs ...string) error {
	ais, err := ParseAddrInfos(addrs)
	if err != nil {
		return err
	}
	p.joinInfos(ais)
	return nil
}

func (p *Peer) joinInfos(ais []peer.AddrInfo) {
	var ids []core.NodeID
	for _, ai := range ais {
		if ai.ID == p.host.ID() {
			continue
		}
		p.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstoreTTL)
		ids = append(ids, NodeID(ai.ID))
	}
	if len(ids) == 0 {
		return
	}
	select {
	case p.calls <- func() { p.mc.Join(ids) }:
	case <-p.done:
	case <-p.ctx.Done():
	}
}

// WaitJoined waits until this peer knows at least one other live member
// (its join was answered), or, with the overlay, until it has a neighbour,
// so that a message published next is pushed at once. It returns early with ctx's error or ErrClosed.
func (p *Peer) WaitJoined(ctx context.Context) error {
	select {
	case <-p.joined:
		return nil
	case <-p.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

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
	// StreamsReleased counts idle outgoing streams let go at once when the
	// last connection to their peer closed (transport.go, disconnected).
	StreamsReleased uint64
	Overlay         OverlayStats      // the overlay's counters (zero with the overlay off)
	Inbound         InboundStats      // what the inbound bounds refused or delayed
	Lag             LagStats          // how far behind real time the driver ran (lag.go)
	Gaps            core.GapStats     // bodies wanted because a later message revealed them missing (core/gapwant.go)
	TreeAck         core.TreeAckStats // tree bodies acknowledged and resent (core/treeack.go)
}

// loadString reads a string kept in an atomic.Value ("" if none yet).
func loadString(v *atomic.Value) string {
	s, _ := v.Load().(string)
	return s
}

// Stats returns a snapshot of the counters.
func (p *Peer) Stats() Stats {
	st := Stats{
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
		Lag:             p.ctr.lag.stats(),
		Inbound: InboundStats{
			TooLarge: p.ctr.inbound[inTooLarge].Load(), Duplicate: p.ctr.inbound[inDuplicate].Load(),
			Idle: p.ctr.inbound[inIdle].Load(), SlowFrame: p.ctr.inbound[inSlowFrame].Load(),
			NoMemory: p.ctr.inbound[inNoMemory].Load(), Throttled: p.ctr.inbound[inThrottled].Load(),
			Penalized: p.ctr.inbound[inPenalized].Load(),
		},
	}
	_ = p.call(context.Background(), func() {
		st.Engine = p.mc.EngineStats()
		st.Membership = p.mc.MembershipStats()
		st.Overlay = p.mc.OverlayStats()
		if m, ok := p.mc.(*nodeMachine); ok {
			st.Gaps = m.n.Engine().GapStats()
			st.TreeAck = m.n.Engine().TreeAckStats()
		}
	})
	return st
}

// enqueueIn hands an inbound frame to the driver. Membership frames never
// wait behind gossip: they have their own inbox, served first. It blocks
// while the inbox is full (back-pressure on that stream) and returns false
// when the peer is closing.
func (p *Peer) enqueueIn(k kind, f *inFrame) bool {
	ch := p.bulkIn
	if k == kindMembership {
		ch = p.ctrlIn
		f.at = time.Now().UnixNano()
	}
	select {
	case ch <- f:
		return true
	default:
	}
	if k == kindMembership {
		// A late probe is as good as a lost one: drop, do not wait.
		p.ctr.inDrops.Add(1)
		f.stepped()
		return true
	}
	select {
	case ch <- f:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// ctrlBurst is how many membership frames the driver steps in a row before
// it also serves ticks, API calls and gossip frames.
const ctrlBurst = 32

// drive is the driver loop: the only goroutine that touches the state
// machine. Real time drives Tick; inbound frames go to Step (membership
// first); calls from the API run in between.
func (p *Peer) drive() {
	defer p.wg.Done()
	defer close(p.done)
	tick := time.NewTicker(p.s.tick)
	defer tick.Stop()
	reap := time.NewTicker(time.Minute)
	defer reap.Stop()
	gapTimer := time.NewTimer(time.Hour)
	gapTimer.Stop()
	defer gapTimer.Stop()
	var gapC <-chan time.Time // armed while gap wants wait to be asked
	ackTimer := time.NewTimer(time.Hour)
	ackTimer.Stop()
	defer ackTimer.Stop()
	var ackC <-chan time.Time // armed while tree bodies await an acknowledgement or IWANTs an answer
	armAck := func() {
		if ackC == nil && p.mc.AwaitingAnswers() {
			ackTimer.Reset(treeAckWait(p.s.profile))
			ackC = ackTimer.C
		}
	}
	step := func(f *inFrame) {
		if f.at != 0 {
			p.reportLag(p.ctr.lag.frameWaited(f.at, time.Now()))
		}
		if err := p.mc.Step(f.from, f.data); err != nil {
			p.m.decodeErrs.Inc()
			p.ctr.decodeErrs.Add(1)
			log.Debugw("bad frame", "from", ShortID(f.from), "err", err)
		}
		f.stepped()
		if gapC == nil && p.mc.GapsWaiting() {
			// A message revealed missing ones: ask for them in a few
			// milliseconds rather than at the next tick (gapAskWait).
			gapTimer.Reset(gapAskWait(p.s.profile))
			gapC = gapTimer.C
		}
		armAck()
	}
	var leaving chan struct{}
	var leaveDeadline time.Time
	ctrlRun := 0
	for {
		// Membership frames first, but at most ctrlBurst in a row: under a
		// steady stream of them the timers, the API and gossip still get a
		// turn (a starved Tick would stall probe timeouts, a starved call
		// would block Members or Publish for as long as the stream lasts).
		if ctrlRun < ctrlBurst {
			select {
			case f := <-p.ctrlIn:
				step(f)
				ctrlRun++
				continue
			default:
			}
		}
		ctrlRun = 0
		select {
		case <-p.ctx.Done():
			return
		case f := <-p.ctrlIn:
			step(f)
		case f := <-p.bulkIn:
			step(f)
		case fn := <-p.calls:
			fn()
			armAck()
		case <-gapC:
			gapC = nil
			p.mc.AskGaps()
		case <-ackC:
			// Resend tree bodies not acknowledged and IWANTs not
			// answered within one to two intervals (treeAckWait),
			// rather than wait for repair or IWantTimeout.
			ackC = nil
			p.mc.ResendUnanswered()
			armAck()
		case <-tick.C:
			p.reportLag(p.ctr.lag.tickServed(time.Now(), p.s.tick))
			// Frames that arrived before this tick are read before its
			// timers run: an ack queued behind a burst of frames is not a
			// failed probe, and an eager body queued behind others does
			// not turn into an IWANT and a graft (Plumtree's timer).
			for n := len(p.ctrlIn); n > 0; n-- {
				step(<-p.ctrlIn)
			}
			for n := len(p.bulkIn); n > 0; n-- {
				step(<-p.bulkIn)
			}
			p.mc.Tick()
			armAck()
			p.catchUp()
			p.afterTick()
			if leaving != nil && ((p.mc.Pending() == 0 && p.tr.queued() == 0) || time.Now().After(leaveDeadline)) {
				close(leaving)
				leaving = nil
			}
		case ch := <-p.leave:
			p.mc.Leave()
			leaving, leaveDeadline = ch, time.Now().Add(p.s.leaveGrace)
		case <-reap.C:
			now := time.Now()
			p.tr.reap(now.Add(-idleWriter), now.Add(-2*idleWriter))
		}
	}
}

var metricsEvery = 10 // ticks between gauge refreshes (1 s at 100 ms ticks)

// afterTick hands events a reader fell behind on to Events() and
// refreshes gauges now and then (on the driver goroutine).
func (p *Peer) afterTick() {
	p.events.flush()
	p.tickN++
	if p.tickN%metricsEvery != 1 {
		return
	}
	p.flushLogs()
	p.sweepConns()
	counts := p.mc.MemberCounts()
	for _, st := range memberStates {
		p.m.members.WithLabelValues(st).Set(float64(counts[st]))
	}
	es, gs := p.mc.EngineStats(), p.mc.GuardStats()
	p.m.duplicates.Add(float64(es.Duplicates - p.lastDup))
	p.lastDup = es.Duplicates
	for _, r := range []struct {
		name string
		v    uint64
	}{
		{"peer_budget", es.PeerBudgetDrops}, {"store_evicted", es.StoreEvicted}, {"origins_evicted", es.OriginsEvicted},
		{"inbound_per_peer", es.InboundDropped}, {"too_large", es.TooLarge}, {"wants_dropped", es.WantsDropped},
		{"wants_expired", es.WantsExpired}, {"gaps_abandoned", es.GapsAbandoned},
		{"score_evicted", gs.Score.Evicted}, {"score_untracked", gs.Score.Untracked},
		{"publish_rate_untracked", gs.PublishUntracked},
	} {
		p.m.engineDrops.WithLabelValues(r.name).Set(float64(r.v))
	}
}

// dialWorkers is how many connections to new members are set up at once.
const dialWorkers = 2

// predial asks the dialers to connect to a member that just joined, so
// that the first probe or gossip frame to it does not wait for a
// handshake. Gossip and SWIM talk to uniformly random members, so a
// member ends up connected to the whole group (up to the connection
// manager's low-water mark, beyond which connections are made on demand).
func (p *Peer) predial(id peer.ID) {
	select {
	case p.dials <- id:
	default: // a burst of joins: the rest connect on first use
	}
}

func (p *Peer) dialer() {
	defer p.wg.Done()
	net := p.host.Network()
	for {
		select {
		case <-p.ctx.Done():
			return
		case id := <-p.dials:
			if net.Connectedness(id) != network.Connected {
				if !p.s.overlay && len(net.Peers()) >= p.s.connLow {
					continue
				}
				p.loadAddrs(id)
				ctx, cancel := context.WithTimeout(p.ctx, p.s.dialTimeout)
				err := p.host.Connect(ctx, peer.AddrInfo{ID: id})
				cancel()
				p.dialed(id, err)
				if err != nil {
					continue
				}
			}
			// Open the streams too, so the member's first frames do not
			// wait for negotiation.
			p.tr.warm(id)
		}
	}
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

// Close leaves the group gracefully (announces the leave and waits up to
// the leave grace for queued frames to go out), then stops every goroutine,
// closes the DHT and, if the peer created it, the host. It is idempotent.
func (p *Peer) Close() error {
	p.closeOnce.Do(func() {
		ch := make(chan struct{})
		select {
		case p.leave <- ch:
			select {
			case <-ch:
			case <-time.After(p.s.leaveGrace + time.Second):
			}
		case <-p.done:
		}
		p.cancel()
		if p.disc != nil {
			p.disc.close()
		}
		p.host.RemoveStreamHandler(p.gossipProto)
		p.host.RemoveStreamHandler(p.swimProto)
		if p.connNotify != nil {
			p.host.Network().StopNotify(p.connNotify)
		}
		p.wg.Wait()
		p.dur.close()
		p.tr.close()
		if p.ownHost {
			p.closeErr = p.host.Close()
		}
		p.subsMu.Lock()
		for _, list := range p.subs {
			for _, s := range append([]*Subscription(nil), list...) {
				s.cancelLocked()
			}
		}
		p.subs = nil
		p.subsMu.Unlock()
		p.closeEvents()
		if p.s.registerer != nil {
			p.m.unregister(p.s.registerer)
		}
	})
	return p.closeErr
}

// closeEvents closes Events() once the driver has ended; events still in
// the backlog that the channel has no room for are dropped and counted.
func (p *Peer) closeEvents() {
	if n := p.events.close(); n > 0 {
		p.m.eventDrops.Add(float64(n))
		p.ctr.eventDrops.Add(uint64(n))
	}
}

// Kill stops the peer abruptly, without leaving: streams are reset and the
// host closed at once, as if the process had died. For tests and
// benchmarks of failure handling.
func (p *Peer) Kill() {
	p.closeOnce.Do(func() {
		p.cancel()
		if p.disc != nil {
			p.disc.close()
		}
		if p.connNotify != nil {
			p.host.Network().StopNotify(p.connNotify)
		}
		p.wg.Wait()
		p.dur.kill()
		if p.ownHost {
			p.host.Close()
		}
		p.tr.close()
		p.subsMu.Lock()
		for _, list := range p.subs {
			for _, s := range append([]*Subscription(nil), list...) {
				s.cancelLocked()
			}
		}
		p.subs = nil
		p.subsMu.Unlock()
		p.closeEvents()
		if p.s.registerer != nil {
			p.m.unregister(p.s.registerer)
		}
	})
}
