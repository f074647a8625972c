package p2p

import (
	"encoding/binary"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine"
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/membership/overlay"
	ma "github.com/multiformats/go-multiaddr"
)

// MembershipStats are membership's counters.
type MembershipStats = membership.Stats

// nodeMachine runs a grapevine.Node (the gossip engine composed with the
// SWIM memberlist: membership is the engine's peer sampler and
// piggybacker, and each inbound frame is decoded once for both). It adds
// the probe round-trip measurement and the event translation.
type nodeMachine struct {
	p *Peer
	n *grapevine.Node
	// probe round-trip times: when this peer's pings left, by sequence number
	pings map[uint64]time.Time
}

// MembershipProfile returns the membership configuration a p2p peer of
// profile p starts from (the peer adds its identity, signer, verifier,
// metadata and admission).
func MembershipProfile(p Profile) membership.Config {
	var c membership.Config
	switch p {
	case ProfileWAN:
		c = membership.DefaultWANConfig()
	case ProfileLocal:
		c = membership.DefaultLocalConfig()
	default:
		c = membership.DefaultLANConfig()
	}
	// Membership frames travel on streams (QUIC, yamux, WebRTC data
	// channels) that deliver what they accept: an update goes once to each
	// member, not λ·log n times to a few (membership/reliable.go).
	c.ReliableLinks = true
	return c
}

func newMachine(p *Peer) (machine, core.Limits, error) {
	m := &nodeMachine{p: p, pings: make(map[uint64]time.Time)}
	cfg := grapevine.DefaultConfig()
	cfg.ID = p.id
	cfg.Transport = m
	cfg.App = p
	cfg.Events = membership.EventFunc(m.handleEvent)
	cfg.Seed = rand.Uint64()

	mc := MembershipProfile(p.s.profile)
	mc.Meta = p.encodeMeta(p.host.Addrs(), mc.MaxMetaSize)
	if p.auth != nil {
		mc.Admit = p.auth.admit
	}
	domain := sigDomain(memberSigKind, p.s.group)
	p.metaMax = mc.MaxMetaSize
	mc.Signer = membership.SignerFunc(func(msg []byte) ([]byte, error) {
		return p.sk.Sign(append([]byte(domain), msg...))
	})
	mc.Verifier = memberVerifier(p.s.group)
	// Incarnations start at the current time in milliseconds, so a
	// restarted member's alive update supersedes its old state at once, and
	// an accusation above this member's incarnation is provably forged
	// (membership's authenticated mode): a previous life could not have
	// refuted a thousand times a second.
	mc.Incarnation = uint64(time.Now().UnixMilli())
	cfg.Membership = mc
	if p.s.tick == 0 {
		p.s.tick = mc.Tick
	}
	cfg.Gossip = engineConfig(p)
	if p.s.overlay {
		cfg.Overlay = overlayConfig(p)
	}
	cfg.Guard = p.guardConfig()
	n, err := grapevine.NewNode(cfg)
	if err != nil {
		return nil, core.Limits{}, err
	}
	m.n = n
	return m, cfg.Gossip.Limits, nil
}

// frameCaps returns the largest inbound frame accepted per kind: what this
// peer's own engine (Config.MaxFrameSize) and memberlist (MaxStateChunk,
// plus one state entry that may overflow a chunk) may send. Members of one
// group run one configuration, so an honest frame is never larger.
func frameCaps(s *settings) [2]int {
	g := core.DefaultConfig()
	tuneEngine(&g, s.profile, s.overlay)
	if s.engine != nil {
		s.engine(&g)
	}
	mc := MembershipProfile(s.profile)
	ml := mc.Limits
	var caps [2]int
	caps[kindMembership] = max(mc.MaxStateChunk, mc.MaxPacketSize) + ml.MaxIDLen + ml.MaxMetaSize + ml.MaxSigSize + 64
	caps[kindGossip] = max(g.MaxFrameSize, caps[kindMembership])
	return caps
}

// memberVerifier checks membership updates signed for group by the member
// they are about (or, for accusations, by their accuser).
func memberVerifier(group string) membership.VerifierFunc {
	domain := sigDomain(memberSigKind, group)
	return func(id core.NodeID, msg, sig []byte) error {
		pk, err := pubKeyOf(id)
		if err != nil {
			return err
		}
		bp := signedBufs.Get().(*[]byte)
		*bp = append(append((*bp)[:0], domain...), msg...)
		ok, err := pk.Verify(*bp, sig)
		signedBufs.Put(bp)
		if err != nil || !ok {
			return ErrBadSignature
		}
		return nil
	}
}

// signedBufs hold a domain and a message while a signature over them is
// checked (Ed25519 keeps neither), so a check allocates no copy of what it
// checks: at N = 300 after a crash these copies were about 1 % of all
// allocations (docs/benchmarks/ladder.md, session 34).
var signedBufs = sync.Pool{New: func() any { return new([]byte) }}

// Send implements core.Transport for both layers: it notes when pings
// leave (for the probe RTT metric) and queues the frame.
func (m *nodeMachine) Send(to core.NodeID, frame []byte) {
	forEachRecord(frame, func(typ uint8, body []byte) {
		if typ == membership.RecPing {
			if seq, n := binary.Uvarint(body); n > 0 {
				if len(m.pings) > 4096 {
					clear(m.pings)
				}
				m.pings[seq] = time.Now()
			}
		}
	})
	m.p.tr.Send(to, frame)
}

// forEachRecord walks a frame's record headers; it stops at the first
// malformed one.
// FrameBuffer implements core.FrameBuffers: the engine builds frames that
// carry bodies in buffers the transport recycles once written.
func (m *nodeMachine) FrameBuffer(n int) []byte { return frameBuffer(n) }

func forEachRecord(frame []byte, f func(typ uint8, body []byte)) {
	if len(frame) < 1 {
		return
	}
	b := frame[1:]
	for len(b) > 0 {
		typ := b[0]
		n, k := binary.Uvarint(b[1:])
		if k <= 0 || n > uint64(len(b)-1-k) {
			return
		}
		f(typ, b[1+k:1+k+int(n)])
		b = b[1+k+int(n):]
	}
}

func (m *nodeMachine) Tick() {
	m.n.Tick()
	m.p.tickAuthority(m.n.Membership().Size())
}

func (m *nodeMachine) NextDue() int { return m.n.NextDue() }

func (m *nodeMachine) ReportLag(ticks int) { m.n.ReportLag(ticks) }

func (m *nodeMachine) Step(from core.NodeID, raw []byte) error {
	if m.p.auth != nil {
		if raw = m.p.auth.filterFrame(from, raw); raw == nil {
			return nil
		}
	}
	forEachRecord(raw, func(typ uint8, body []byte) {
		if typ != membership.RecAck {
			return
		}
		if seq, n := binary.Uvarint(body); n > 0 {
			if t, ok := m.pings[seq]; ok {
				m.p.m.probeRTT.Observe(time.Since(t).Seconds())
				delete(m.pings, seq)
			}
		}
	})
	return m.n.Step(from, raw)
}

func (m *nodeMachine) Publish(topic string, payload []byte, opts ...core.PublishOption) (*core.Message, error) {
	return m.n.Publish(topic, payload, opts...)
}

func (m *nodeMachine) Join(seeds []core.NodeID)  { m.n.Join(seeds) }
func (m *nodeMachine) Leave()                    { m.n.Leave() }
func (m *nodeMachine) SetMeta(meta []byte) error { return m.n.SetMeta(meta) }
func (m *nodeMachine) Pending() int              { return m.n.Pending() }

func (m *nodeMachine) Members() []Member {
	all := m.n.Membership().AllMembers()
	out := make([]Member, 0, len(all))
	for _, mm := range all {
		out = append(out, convertMember(mm, m.p.id))
	}
	return out
}

func (m *nodeMachine) MemberCounts() [4]int { return m.n.Membership().CountStates() }

func convertMember(mm membership.Member, self core.NodeID) Member {
	pid, _ := PeerID(mm.ID)
	return Member{ID: pid, State: mm.State.String(), Incarnation: mm.Incarnation, Addrs: decodeMemberAddrs(mm.Meta), Self: mm.ID == self}
}

func (m *nodeMachine) handleEvent(ev membership.Event) {
	var k EventKind
	switch ev.Kind {
	case membership.EventJoin:
		k = EventJoin
	case membership.EventUpdate:
		k = EventUpdate
	case membership.EventSuspect:
		k = EventSuspect
	case membership.EventAlive:
		k = EventAlive
	case membership.EventFail:
		k = EventFail
	case membership.EventLeave:
		k = EventLeave
	case membership.EventRejoin:
		k = EventRejoin
	default:
		return
	}
	if k == EventJoin || k == EventRejoin {
		m.p.spreadRevocations()
	}
	m.p.emit(k, ev.Member)
}

func (m *nodeMachine) EngineStats() core.Stats          { return m.n.Engine().Stats() }
func (m *nodeMachine) GuardStats() grapevine.GuardStats { return m.n.Guard().Stats() }
func (m *nodeMachine) GapsWaiting() bool                { return m.n.Engine().GapsWaiting() }
func (m *nodeMachine) AskGaps()                         { m.n.Engine().AskGaps() }
func (m *nodeMachine) AwaitingAnswers() bool            { return m.n.Engine().AwaitingAnswers() }
func (m *nodeMachine) ResendUnanswered()                { m.n.Engine().ResendUnanswered() }
func (m *nodeMachine) MembershipStats() MembershipStats { return m.n.Membership().Stats() }

// OverlayStats are the overlay's counters.
type OverlayStats = overlay.Stats

func (m *nodeMachine) OverlayStats() OverlayStats {
	if ov := m.n.Overlay(); ov != nil {
		return ov.Stats()
	}
	return OverlayStats{}
}

func (m *nodeMachine) IsNeighbor(id core.NodeID) bool {
	ov := m.n.Overlay()
	return ov != nil && ov.IsActive(id)
}

func (m *nodeMachine) IsMember(id core.NodeID) bool {
	_, ok := m.n.Membership().Member(id)
	return ok
}

func (m *nodeMachine) Neighbors() []core.NodeID {
	if ov := m.n.Overlay(); ov != nil {
		return ov.Active(nil)
	}
	return nil
}

// Address metadata: version byte 1, then each multiaddr's binary form with
// a uvarint length, as many as fit in max bytes.
const addrMetaVersion = 1

func encodeAddrMeta(addrs []ma.Multiaddr, max int) []byte {
	b := []byte{addrMetaVersion}
	for _, a := range addrs {
		raw := a.Bytes()
		if len(b)+len(raw)+binary.MaxVarintLen16 > max {
			break
		}
		b = wire.AppendBytes(b, raw)
	}
	return b
}

func decodeAddrMeta(b []byte) []ma.Multiaddr {
	if len(b) < 1 || b[0] != addrMetaVersion {
		return nil
	}
	r := wire.NewReader(b[1:])
	var out []ma.Multiaddr
	for r.Len() > 0 {
		raw := r.Bytes(len(b), "address")
		if r.Err() != nil {
			return out
		}
		a, err := ma.NewMultiaddrBytes(raw)
		if err != nil {
			continue
		}
		out = append(out, a)
	}
	return out
}
