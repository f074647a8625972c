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
	sendDials                              [2]atomic.Uint64 // by kind: streams opened to a peer with no connection
	streamsReleased                        atomic.Uint64
	addrWaits                              atomic.Uint64
	inbound                                [inReasons]atomic.Uint64
	lag                                    lagCounters
	ticksRun, tickWakes                    atomic.Uint64 // tick_schedule.go
	answerWakes, gapWakes                  atomic.Uint64 // the driver's timers between ticks (drive.go)
	seedDials                              atomic.Uint64 // connection attempts to seeds (seeds.go)
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

	tickN         int
	clk           *tickSchedule // the driver's tick schedule (drive.go, tick_schedule.go)
	nextIdleSweep time.Time     // when afterTick next sweeps idle inbound streams (idle.go)
	nextReap      time.Time     // when afterTick next closes parked streams (transport.go's reap)
	lastDup       uint64
	copied        copiedStats // the state machines' counters as the driver last copied them (StatsNow)

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
	p.events = newEventQueue(s.eventBuffer, p.id)
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
// backlog, within a second of making room, which holds memory only while it is
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
