package local

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// member is one running peer instance: a libp2p host wrapped with the
// fault injector, a Grapevine peer on it, and the goroutines that turn
// what the peer observes (deliveries, membership events, counters) into
// records. The same code runs in-process and in a --procs worker.
type member struct {
	idx, inst int
	sc        *Scenario
	h         host.Host
	p         *p2p.Peer
	in        *Injector
	index     func(peer.ID) int
	emit      func(Record)
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	once      sync.Once
}

// peerIDs returns the testnet's peer IDs and an index lookup.
func peerIDs(seed uint64, n int) ([]peer.ID, func(peer.ID) int) {
	ids := make([]peer.ID, n)
	m := make(map[peer.ID]int, n)
	for i := range ids {
		id, err := peer.IDFromPrivateKey(PeerKey(seed, i))
		if err != nil {
			panic(err)
		}
		ids[i] = id
		m[id] = i
	}
	return ids, func(p peer.ID) int {
		if i, ok := m[p]; ok {
			return i
		}
		return -1
	}
}

func profileOf(s string) p2p.Profile {
	p, _ := p2p.ParseProfile(s)
	return p
}

// startMember starts peer idx (instance inst) and joins it through seeds.
func startMember(sc *Scenario, idx, inst int, in *Injector, index func(peer.ID) int, seeds []string, emit func(Record)) (*member, error) {
	sk := PeerKey(sc.Seed, idx)
	h, err := libp2p.New(
		libp2p.Identity(sk),
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.DisableMetrics(),
		libp2p.DisableRelay(),
		libp2p.UserAgent("grapevine-testnet/"+p2p.Version),
	)
	if err != nil {
		return nil, fmt.Errorf("peer %d: starting libp2p host: %w", idx, err)
	}
	fh := &faultHost{Host: h, self: idx, in: in, index: index}
	opts := []p2p.Option{
		p2p.WithHost(fh),
		p2p.WithDHT(false),
		p2p.WithProfile(profileOf(sc.Profile)),
		p2p.WithNotice(func(string) {}),
		p2p.WithLeaveGrace(100 * time.Millisecond),
	}
	if sc.Tick > 0 {
		opts = append(opts, p2p.WithTick(sc.Tick.D()))
	}
	if sc.DataDir != "" {
		opts = append(opts, p2p.WithDataDir(filepath.Join(sc.DataDir, fmt.Sprintf("peer-%d", idx))))
	}
	if len(seeds) > 0 {
		opts = append(opts, p2p.WithSeeds(seeds...))
	}
	m := &member{idx: idx, inst: inst, sc: sc, h: h, in: in, index: index, emit: emit}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	// Record the start before the peer can report anything.
	emit(Record{Kind: RecStart, T: time.Now().UnixNano(), Peer: idx, Inst: inst, Addr: firstAddr(h)})
	p, err := p2p.New(m.ctx, opts...)
	if err != nil {
		h.Close()
		m.cancel()
		return nil, fmt.Errorf("peer %d: %w", idx, err)
	}
	m.p = p
	sub, err := p.Subscribe(sc.Publish.Topic)
	if err != nil {
		p.Kill()
		h.Close()
		m.cancel()
		return nil, fmt.Errorf("peer %d: %w", idx, err)
	}
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		for msg := range sub.Messages() {
			if msg.Local {
				continue
			}
			emit(Record{Kind: RecDeliver, T: time.Now().UnixNano(), Peer: idx, Inst: inst,
				Origin: index(msg.From), Seq: msg.Seq, Lat: int64(msg.Latency)})
		}
	}()
	go func() {
		defer m.wg.Done()
		for ev := range p.Events() {
			if ev.Member.Self {
				continue
			}
			emit(Record{Kind: RecEvent, T: time.Now().UnixNano(), Peer: idx, Inst: inst,
				Ev: string(ev.Kind), Subj: index(ev.Member.ID)})
		}
	}()
	if contains(sc.Publish.Publishers, idx) && sc.Publish.Rate > 0 {
		m.wg.Add(1)
		go m.publishLoop()
	}
	return m, nil
}

func firstAddr(h host.Host) string {
	for _, a := range h.Addrs() {
		return a.String() + "/p2p/" + h.ID().String()
	}
	return ""
}

// Addr returns the member's full multiaddr.
func (m *member) Addr() string { return firstAddr(m.h) }

// publishLoop publishes at the scenario's rate on the scenario clock: the
// k-th message is due at start + k/rate, so a restarted publisher resumes
// the schedule instead of bursting.
func (m *member) publishLoop() {
	defer m.wg.Done()
	select {
	case <-m.in.Ready():
	case <-m.ctx.Done():
		return
	}
	p := m.sc.Publish
	t0 := m.in.T0()
	begin := t0.Add(p.Start.D())
	stopAt := t0.Add(m.sc.Duration.D() - p.Drain.D())
	every := time.Duration(float64(time.Second) / p.Rate)
	k := int64(0)
	if now := time.Now(); now.After(begin) {
		k = int64(now.Sub(begin)/every) + 1
	}
	rng := rand.New(rand.NewPCG(m.sc.Seed, uint64(m.idx)<<20|uint64(m.inst)))
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		at := begin.Add(time.Duration(k) * every)
		if !at.Before(stopAt) {
			return
		}
		timer.Reset(time.Until(at))
		select {
		case <-timer.C:
		case <-m.ctx.Done():
			return
		}
		payload := make([]byte, p.Size)
		binary.BigEndian.PutUint32(payload, uint32(m.idx))
		binary.BigEndian.PutUint64(payload[4:], uint64(k))
		for i := 12; i < len(payload); i += 8 {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], rng.Uint64())
			copy(payload[i:], b[:])
		}
		now := time.Now()
		key, err := m.p.PublishKey(m.ctx, p.Topic, payload)
		if err == nil {
			m.emit(Record{Kind: RecPublish, T: now.UnixNano(), Peer: m.idx, Inst: m.inst, Origin: m.idx, Seq: key.Seq})
		}
		k++
	}
}

func (m *member) stats() Record {
	st := m.p.Stats()
	return Record{Kind: RecStats, T: time.Now().UnixNano(), Peer: m.idx, Inst: m.inst,
		Frames: st.FramesSent, Bytes: st.BytesSent, Dropped: st.QueueDropped,
		DropNoStream: st.QueueDroppedBy.NoStream, DropFailed: st.QueueDroppedBy.Failed,
		Pings: st.Membership.PingsSent, LateAcks: st.Membership.LateAcks, PingReqs: st.Membership.PingReqsSent}
}

// Crash kills the member abruptly: no leave, streams reset, host closed.
func (m *member) Crash() {
	m.once.Do(func() {
		t := time.Now()
		m.cancel()
		m.p.Kill()
		m.h.Close()
		m.emit(Record{Kind: RecCrash, T: t.UnixNano(), Peer: m.idx, Inst: m.inst})
		m.emit(m.stats()) // the traffic counters survive Kill
		m.wg.Wait()
	})
}

// Stop records the final counters and shuts the member down (at the end
// of a run; nothing is recorded after it).
func (m *member) Stop() {
	m.once.Do(func() {
		m.emit(m.stats())
		m.cancel()
		m.p.Kill()
		m.h.Close()
		m.wg.Wait()
	})
}
