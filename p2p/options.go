package p2p

import (
	"errors"
	"fmt"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultListenAddrs are the addresses a peer listens on unless told
// otherwise: TCP, QUIC v1, WebTransport and WebRTC-direct (for browsers;
// on the QUIC port, their advertised addresses carry the certhash of the
// peer's self-generated certificates) and WebSocket on every IPv4
// interface, with ports chosen by the system.
var DefaultListenAddrs = []string{
	"/ip4/0.0.0.0/tcp/0",
	"/ip4/0.0.0.0/udp/0/quic-v1",
	"/ip4/0.0.0.0/udp/0/quic-v1/webtransport",
	"/ip4/0.0.0.0/udp/0/webrtc-direct",
	"/ip4/0.0.0.0/tcp/0/ws",
}

// Option configures a Peer (functional options, as go-libp2p-pubsub).
type Option func(*settings) error

type settings struct {
	group         string
	key           crypto.PrivKey
	host          host.Host
	gater         *gater // WithPenaltyGater (for a host given with WithHost)
	listen        []string
	bootstrap     []peer.AddrInfo
	seeds         []peer.AddrInfo
	dht           bool
	dhtPrefix     string
	mdns          bool
	connLow       int
	connHigh      int
	connSet       bool // WithConnLimits was given
	overlay       bool // WithOverlay
	overlayMax    int  // WithOverlayBudget (0: the overlay's default)
	registerer    prometheus.Registerer
	tick          time.Duration
	tickSkipping  bool // sleep through quiet ticks (WithTickSkipping)
	starvationLag bool // WithStarvationLag
	walkEvery     time.Duration
	bulkQueue     int
	ctrlQueue     int
	queueBytes    int
	subBuffer     int
	eventBuffer   int
	leaveGrace    time.Duration
	engine        func(*core.Config)
	profile       Profile
	firstSeq      uint64
	noVerify      bool
	psk           []byte // pre-shared key of a private network (WithPrivateNetwork)
	// closed group (WithGroupAuthority, WithRevocationList)
	authority         crypto.PubKey
	cert, revocations []byte
	// replay window of signed timestamps (WithReplayWindow)
	replayWindow, clockSkew time.Duration
	dialTimeout             time.Duration
	seedsAtOnce             int // seeds tried at the same time while joining (seeds.go)
	notice                  func(string)
	inbound                 InboundLimits
	writeTimeout            time.Duration
	minWriteRate            int
	logEvery                time.Duration
	durable                 durableOptions // WithDataDir, WithHistory (durable.go)
	publishRate             float64        // WithPublishRateLimit (spam.go): messages a second per origin, 0: off
	publishBurst            int
	relaySvc                int8 // WithRelayService (relay_service.go): 0 default, 1 on, -1 off

	// take in messages of origins that are not members (tests; origins.go)
	noOriginCheck bool
}

func defaults() settings {
	return settings{
		group:        "default",
		listen:       DefaultListenAddrs,
		dht:          true,
		dhtPrefix:    "/grapevine",
		connLow:      160,
		connHigh:     320,
		walkEvery:    30 * time.Second,
		bulkQueue:    1024,
		ctrlQueue:    256,
		queueBytes:   4 << 20,
		subBuffer:    1024,
		eventBuffer:  1024,
		leaveGrace:   500 * time.Millisecond,
		dialTimeout:  15 * time.Second,
		seedsAtOnce:  defaultSeedsAtOnce,
		profile:      ProfileLAN,
		inbound:      DefaultInboundLimits(),
		writeTimeout: 10 * time.Second,
		minWriteRate: minWriteRate,
		logEvery:     10 * time.Second,
		replayWindow: defaultReplayWindow, // replay.go
		clockSkew:    defaultClockSkew,
		// An origin may publish 200 messages a second, with bursts of
		// 1,000 (WithPublishRateLimit): far above any honest traffic the
		// profiles are tuned for (the testnet scenarios publish 2-5 a
		// second per origin, the benchmarks and the attack suite's honest
		// publisher at most 50; 200 a second of 256-byte payloads is
		// already 400 kbit/s from one member to every member), so only a
		// spammer pays, and one publishing at 500 a second is penalised
		// 3.3 s in.
		publishRate:  defaultPublishRate,
		publishBurst: defaultPublishBurst,
	}
}

// WithReplayWindow bounds the age of the messages a peer accepts: a message
// whose signed timestamp is more than window in the past, or more than skew
// in the future, of this peer's clock is dropped as a possible replay and
// counted invalid. The gossip engine keeps every origin's seen-state for at
// least window+skew after its last message, so a genuine message replayed
// while it is inside the window is recognised as a duplicate, and one
// replayed later is refused by its timestamp: no message is delivered
// twice. Defaults: 2 minutes and 30 seconds.
func WithReplayWindow(window, skew time.Duration) Option {
	return func(s *settings) error {
		if window < time.Second || skew < 0 {
			return errors.New("replay window must be at least 1s and the clock skew not negative")
		}
		s.replayWindow, s.clockSkew = window, skew
		return nil
	}
}

// WithPrivateNetwork makes the group closed to anyone without psk, a
// 32-byte pre-shared key: the host runs libp2p's private-network protection
// (pnet, XSalsa20 under every connection, libp2p/specs
// pnet/Private-Networks-PSK-V1.md), so a peer without the key cannot
// complete a connection, let alone join, publish or accuse. It keeps
// non-members out; it does not tell members apart (every holder of the
// key is a member). go-libp2p's QUIC and WebTransport do not support pnet,
// so such a peer listens and dials on TCP and WebSocket only (QUIC listen
// addresses are an error). Browser tabs cannot join a private network yet.
func WithPrivateNetwork(psk []byte) Option {
	return func(s *settings) error {
		if len(psk) != 32 {
			return fmt.Errorf("private network key must be 32 bytes, got %d", len(psk))
		}
		s.psk = append([]byte(nil), psk...)
		return nil
	}
}

// WithGroup names the group. Peers of different groups ignore each other;
// the group name also selects the DHT key under which members advertise.
func WithGroup(name string) Option {
	return func(s *settings) error {
		if name == "" {
			return errors.New("group name must not be empty")
		}
		if len(name) > 200 {
			return errors.New("group name longer than 200 bytes")
		}
		s.group = name
		return nil
	}
}

// WithIdentity sets the peer's libp2p private key (ed25519). Without it a
// fresh key is generated, so the peer ID changes on every start.
func WithIdentity(sk crypto.PrivKey) Option {
	return func(s *settings) error {
		if sk == nil || sk.Type() != crypto.Ed25519 {
			return errors.New("identity must be an ed25519 key")
		}
		s.key = sk
		return nil
	}
}

// WithHost runs Grapevine on an existing libp2p host instead of creating
// one. The host must use an ed25519 identity; Close does not close it.
// Listen, connection-manager and identity options are then ignored.
func WithHost(h host.Host) Option {
	return func(s *settings) error {
		if h == nil {
			return errors.New("host is nil")
		}
		s.host = h
		return nil
	}
}

// WithListenAddrs replaces DefaultListenAddrs.
func WithListenAddrs(addrs ...string) Option {
	return func(s *settings) error {
		for _, a := range addrs {
			if _, err := ma.NewMultiaddr(a); err != nil {
				return fmt.Errorf("invalid listen address %q: %v", a, err)
			}
		}
		s.listen = addrs
		return nil
	}
}

// WithBootstrap adds DHT bootstrap peers (full multiaddrs ending in
// /p2p/<peer ID>). They are also used as membership seeds.
func WithBootstrap(addrs ...string) Option {
	return func(s *settings) error {
		ais, err := ParseAddrInfos(addrs)
		if err != nil {
			return err
		}
		s.bootstrap = append(s.bootstrap, ais...)
		return nil
	}
}

// WithSeeds adds membership seed peers (full multiaddrs). Seeds are joined
// directly; with WithDHT(false) they are the only way in.
func WithSeeds(addrs ...string) Option {
	return func(s *settings) error {
		ais, err := ParseAddrInfos(addrs)
		if err != nil {
			return err
		}
		s.seeds = append(s.seeds, ais...)
		return nil
	}
}

// WithDHT turns the Kademlia DHT on (the default) or off.
func WithDHT(on bool) Option { return func(s *settings) error { s.dht = on; return nil } }

// WithDHTProtocolPrefix sets the DHT's protocol prefix. The default
// "/grapevine" runs a DHT of Grapevine peers only; "/ipfs" joins the public
// IPFS DHT (then bootstrap with IPFS bootstrap peers).
func WithDHTProtocolPrefix(prefix string) Option {
	return func(s *settings) error {
		if len(prefix) == 0 || prefix[0] != '/' {
			return errors.New("DHT protocol prefix must start with /")
		}
		s.dhtPrefix = prefix
		return nil
	}
}

// WithMDNS turns on mDNS discovery of group members on the local network.
func WithMDNS(on bool) Option { return func(s *settings) error { s.mdns = on; return nil } }

// WithConnLimits sets the connection manager's low and high water marks.
func WithConnLimits(low, high int) Option {
	return func(s *settings) error {
		if low < 1 || high < low {
			return errors.New("connection limits need 1 <= low <= high")
		}
		s.connLow, s.connHigh, s.connSet = low, high, true
		return nil
	}
}

// WithMetrics registers the peer's Prometheus metrics (and libp2p's) with
// reg. Without it no metrics are registered.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(s *settings) error { s.registerer = reg; return nil }
}

// WithTick sets the real-time duration of one state-machine tick (default:
// the membership profile's, 100 ms). Every period counted in ticks scales
// with it.
func WithTick(d time.Duration) Option {
	return func(s *settings) error {
		if d < time.Millisecond {
			return errors.New("tick must be at least 1ms")
		}
		s.tick = d
		return nil
	}
}

// WithTickSkipping sets whether the driver sleeps through quiet ticks
// (default: off, a wake-up every tick). On, a tick in which the state
// machine would only keep house (no frame, no event) runs late, back to
// back with the others before the machine's next input or the next tick
// it acts in, at most 10 ticks later; the machine sees the same ticks and
// inputs in the same order. An idle peer then wakes for 2 ticks a second
// instead of 10 (fewer wake-ups for a browser tab or a battery; 3 to 15 %
// less idle CPU for 1,000 peers in one process), but a driver short of
// CPU no longer finds out at every tick that it runs behind: in a group
// of 1,000 peers in one process, overloaded while it formed, members
// suspected each other about four times as often (tick_schedule.go,
// docs/benchmarks/ladder.md, session 39).
func WithTickSkipping(on bool) Option {
	return func(s *settings) error { s.tickSkipping = on; return nil }
}

// WithStarvationLag sets whether the driver acts on this process being
// short of CPU (default: off): when 1 in 100 of the process's goroutines
// waited a tick or more to run over the last half second (starvation.go),
// membership reads it as lag, as it does a frame that waited that long in
// the driver's inbox (probes that go unanswered meanwhile are
// inconclusive and ask no helpers, verdicts wait, the local health
// multiplier rises), and the driver's calls that time IWANTs and resends
// come that much further apart (answerWait). In a group of 1,000 peers in
// one process on two cores, windows that used both cores raised 5 and 16
// suspicions instead of 382-1,031, all of them false, and asked for
// 13,164 bodies instead of 19,858-28,264; but with a tenth of the peers
// crashed, the starved members held their verdicts, and 40 s after the
// crash some survivors had still not declared every victim failed
// (session 40 without it: the last at 24 s; docs/benchmarks/ladder.md,
// session 42). Peers with a process and CPU of their own are starved one
// at a time while the others decide, but that has not been measured;
// hence off by default.
func WithStarvationLag(on bool) Option {
	return func(s *settings) error { s.starvationLag = on; return nil }
}

// WithRandomWalk sets how often a DHT random walk looks for fresh peers
// (0 turns random walks off).
func WithRandomWalk(every time.Duration) Option {
	return func(s *settings) error {
		if every < 0 {
			return errors.New("random walk interval must not be negative")
		}
		s.walkEvery = every
		return nil
	}
}

// WithQueues bounds each peer's outgoing queues: frames for the bulk
// (gossip) and control (membership) streams, and bytes per queue. Frames
// that do not fit are dropped and counted, never waited for.
func WithQueues(bulkFrames, ctrlFrames, bytes int) Option {
	return func(s *settings) error {
		if bulkFrames < 1 || ctrlFrames < 1 || bytes < 1 {
			return errors.New("queue bounds must be positive")
		}
		s.bulkQueue, s.ctrlQueue, s.queueBytes = bulkFrames, ctrlFrames, bytes
		return nil
	}
}

// WithBuffers sizes each subscription's and the event channel's buffer;
// when a reader falls behind by that much, the excess is dropped and counted.
func WithBuffers(subscription, events int) Option {
	return func(s *settings) error {
		if subscription < 1 || events < 1 {
			return errors.New("buffers must be positive")
		}
		s.subBuffer, s.eventBuffer = subscription, events
		return nil
	}
}

// WithLeaveGrace bounds how long Close waits for the leave announcement
// and queued frames to go out.
func WithLeaveGrace(d time.Duration) Option {
	return func(s *settings) error { s.leaveGrace = d; return nil }
}

// WithProfile selects a tuned parameter set (see Profile).
func WithProfile(p Profile) Option {
	return func(s *settings) error {
		if p < ProfileLAN || p > ProfileLocal {
			return errors.New("unknown profile")
		}
		s.profile = p
		return nil
	}
}

// WithEngineConfig lets the caller adjust the gossip engine's configuration
// after the profile has been applied. ID, Sampler, Transport, App,
// Validator, Signer and Piggyback are owned by the adapter and reset.
func WithEngineConfig(f func(*core.Config)) Option {
	return func(s *settings) error { s.engine = f; return nil }
}

// WithFirstSeq overrides the first sequence number this peer publishes with.
// By default it is the current Unix time in microseconds, so it grows across
// restarts and a restarted peer's new messages are never taken for old ones.
func WithFirstSeq(seq uint64) Option {
	return func(s *settings) error {
		if seq == 0 {
			return errors.New("first sequence number must be at least 1")
		}
		s.firstSeq = seq
		return nil
	}
}

// WithDialTimeout bounds opening a stream to a peer.
func WithDialTimeout(d time.Duration) Option {
	return func(s *settings) error { s.dialTimeout = d; return nil }
}

// WithInboundLimits replaces DefaultInboundLimits: the per-peer rates and
// the timeouts of inbound streams.
func WithInboundLimits(l InboundLimits) Option {
	return func(s *settings) error {
		if l.BytesPerSecond < 0 || l.FramesPerSecond < 0 || l.IdleTimeout < 0 || l.FrameTimeout < 0 {
			return errors.New("inbound limits must not be negative")
		}
		s.inbound = l
		return nil
	}
}

// WithWriteTimeout bounds writing one batch of frames to a peer: the
// timeout plus the batch's size at 64 KiB/s (default 10 s). A peer that
// stops reading then costs its queue, not a writer forever.
func WithWriteTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return errors.New("write timeout must be positive")
		}
		s.writeTimeout = d
		return nil
	}
}

// WithLogRate sets how often each kind of warning about a peer's bad input
// (a message that fails verification, a frame too large, ...) may be
// logged (default once per 10 s); the lines held back are counted and
// summed up in one line.
func WithLogRate(every time.Duration) Option {
	return func(s *settings) error {
		if every < 0 {
			return errors.New("log rate period must not be negative")
		}
		s.logEvery = every
		return nil
	}
}

// WithNotice receives human-readable status lines (an unreachable
// bootstrap peer being retried, say). Without it they go to the log at
// warning level.
func WithNotice(f func(msg string)) Option {
	return func(s *settings) error { s.notice = f; return nil }
}

// withoutVerification disables signature checks (tests of the checks only).
func withoutVerification() Option { return func(s *settings) error { s.noVerify = true; return nil } }

// ParseAddrInfos parses full multiaddrs (with /p2p/<peer ID>) and groups
// them by peer.
func ParseAddrInfos(addrs []string) ([]peer.AddrInfo, error) {
	var mas []ma.Multiaddr
	for _, a := range addrs {
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			return nil, fmt.Errorf("invalid multiaddr %q: %v", a, err)
		}
		mas = append(mas, m)
	}
	ais, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil {
		return nil, fmt.Errorf("multiaddr without a peer ID (it must end in /p2p/<peer ID>): %v", err)
	}
	return ais, nil
}
