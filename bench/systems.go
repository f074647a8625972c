package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/p2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

const topic = "bench"

// ---- Grapevine ----

type grapevineSys struct {
	tune    func(*core.Config) // nil: the p2p package's default profile
	overlay bool               // p2p.WithOverlay(true): the bounded HyParView overlay
	budget  int                // > 0: p2p.WithOverlayBudget(budget)
	hosts   []host.Host
	mu      sync.Mutex
	peers   map[int]*p2p.Peer
	wg      sync.WaitGroup
	n       int
	fails   failLog
}

// failLog records, per host, when its peer first declared each member
// failed (EventFail).
type failLog struct {
	mu sync.Mutex
	at map[int]map[peer.ID]time.Time
}

func (f *failLog) record(host int, id peer.ID, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.at == nil {
		f.at = map[int]map[peer.ID]time.Time{}
	}
	if f.at[host] == nil {
		f.at[host] = map[peer.ID]time.Time{}
	}
	if _, ok := f.at[host][id]; !ok {
		f.at[host][id] = t
	}
}

// detection reports when the last of the survivors had declared every
// victim failed (ok false if some survivor has not yet), and how many
// survivors declared a live member failed after since (false positives,
// one count per observer and member).
func (g *grapevineSys) detection(hosts []host.Host, victims, live []int, since time.Time) (last time.Time, ok bool, falsePos int) {
	g.fails.mu.Lock()
	defer g.fails.mu.Unlock()
	ok = true
	for _, s := range live {
		for _, v := range victims {
			t, seen := g.fails.at[s][hosts[v].ID()]
			if !seen {
				ok = false
				continue
			}
			if t.After(last) {
				last = t
			}
		}
		for _, l := range live {
			if t, seen := g.fails.at[s][hosts[l].ID()]; seen && t.After(since) {
				falsePos++
			}
		}
	}
	return last, ok, falsePos
}

// printDeclarations prints, under -stats, when the survivors declared the
// victims failed: per half second after the kill, how many (survivor,
// victim) declarations fell in it, and the index of the message published
// then, to set beside the slow messages.
func (g *grapevineSys) printDeclarations(hosts []host.Host, victims, live []int, killAt time.Time, killMsg int, rate float64) {
	g.fails.mu.Lock()
	defer g.fails.mu.Unlock()
	buckets := map[int]int{}
	for _, s := range live {
		for _, v := range victims {
			if t, ok := g.fails.at[s][hosts[v].ID()]; ok {
				buckets[int(t.Sub(killAt)/(500*time.Millisecond))]++
			}
		}
	}
	keys := slices.Sorted(maps.Keys(buckets))
	for _, k := range keys {
		fmt.Fprintf(os.Stderr, "declared failed %.1f-%.1f s after the kill (messages from %d): %d\n",
			float64(k)/2, float64(k+1)/2, killMsg+int(float64(k)/2*rate), buckets[k])
	}
}

func (g *grapevineSys) start(ctx context.Context, hosts []host.Host, idx []int, nbrs [][]int, deliver func(int, []byte)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.peers == nil {
		g.peers = map[int]*p2p.Peer{}
	}
	g.n = len(hosts)
	g.hosts = hosts
	for k, i := range idx {
		if k > 0 {
			// Members arrive one after another (40 ms apart), as a group
			// forms in practice, not all in the same instant.
			g.mu.Unlock()
			time.Sleep(40 * time.Millisecond)
			g.mu.Lock()
		}
		var seeds []string
		for _, j := range nbrs[i] {
			ai := peer.AddrInfo{ID: hosts[j].ID(), Addrs: hosts[j].Addrs()}
			mas, _ := peer.AddrInfoToP2pAddrs(&ai)
			for _, m := range mas {
				seeds = append(seeds, m.String())
			}
		}
		opts := []p2p.Option{p2p.WithHost(hosts[i]), p2p.WithGroup("bench"), p2p.WithDHT(false),
			p2p.WithSeeds(seeds...), p2p.WithNotice(func(string) {}), p2p.WithTickSkipping(tickSkipping), p2p.WithStarvationLag(starvationLag)}
		if g.tune != nil {
			opts = append(opts, p2p.WithEngineConfig(g.tune))
		}
		if firstSeq > 0 {
			opts = append(opts, p2p.WithFirstSeq(firstSeq))
		}
		opts = append(opts, overlayOptions(g.overlay, g.budget)...)
		p, err := p2p.New(ctx, opts...)
		if err != nil {
			return err
		}
		sub, err := p.Subscribe(topic)
		if err != nil {
			return err
		}
		g.peers[i] = p
		go func(i int) {
			for ev := range p.Events() {
				if ev.Kind == p2p.EventFail {
					g.fails.record(i, ev.Member.ID, time.Now())
				}
			}
		}(i)
		g.wg.Add(1)
		go func(i int) {
			defer g.wg.Done()
			for m := range sub.Messages() {
				if !m.Local {
					deliver(i, m.Data)
				}
			}
		}(i)
	}
	return nil
}

func (g *grapevineSys) ready(ctx context.Context, idx []int, full bool) error {
	for _, i := range idx {
		g.mu.Lock()
		p := g.peers[i]
		g.mu.Unlock()
		if !full {
			if err := p.WaitJoined(ctx); err != nil {
				return err
			}
			continue
		}
		for {
			n := 0
			for _, m := range p.Members() {
				if m.State == p2p.StateAlive || m.State == p2p.StateSuspect {
					n++ // live: what gossip samples from
				}
			}
			// Formed: the view holds the group (one member may still be
			// joining) and connections to it are up, as GossipSub's
			// mesh is formed before its measurement. With the overlay a
			// peer is connected to its neighbours only.
			if n >= len(idx)-1 && g.connected(i, p, len(idx)) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("host %d sees %d of %d live members and has %d connections: %w",
					i, n, len(idx), len(g.hosts[i].Network().Peers()), ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	if full {
		// The same settling time GossipSub gets after its mesh formed
		// (three heartbeats): the overlay's views and links settle too.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
	return nil
}

// connected: without the overlay, connections to (almost) every member are
// up; with it, to at least min(4, n−1) overlay neighbours.
func (g *grapevineSys) connected(i int, p *p2p.Peer, n int) bool {
	if !g.overlay {
		return len(g.hosts[i].Network().Peers()) >= n-2
	}
	return len(p.Neighbors()) >= min(4, n-1)
}

func (g *grapevineSys) publish(ctx context.Context, i int, payload []byte) error {
	g.mu.Lock()
	p := g.peers[i]
	g.mu.Unlock()
	return p.Publish(ctx, topic, payload)
}

func (g *grapevineSys) kill(i int) {
	g.mu.Lock()
	p := g.peers[i]
	delete(g.peers, i)
	g.mu.Unlock()
	if p != nil {
		p.Kill()
	}
}

func (g *grapevineSys) close() {
	g.mu.Lock()
	ps := g.peers
	g.peers = nil
	g.mu.Unlock()
	if printStats {
		var e core.Stats
		var pl core.PlumStats
		var gaps core.GapStats
		var asked core.TreeAckStats
		var plEager, plLazy int
		var qd, qFull, qNoStream, qFailed, ind, pen, refused, nUp, nDown, nFail uint64
		var cOpened, cTrimmed, sReleased uint64
		var hold core.HoldStats
		var vouched uint64
		var lastNoStream string
		var off [core.NumOffences]uint64
		for _, p := range ps {
			st := p.Stats()
			qd += st.QueueDropped
			qFull += st.QueueDroppedBy.Full
			qNoStream += st.QueueDroppedBy.NoStream
			qFailed += st.QueueDroppedBy.Failed
			if st.LastNoStream != "" {
				lastNoStream = st.LastNoStream
			}
			ind += st.InDropped
			hs := p.OriginHoldStats()
			hold.Held += hs.Held
			hold.Released += hs.Released
			hold.Expired += hs.Expired
			hold.Dropped += hs.Dropped
			vouched += hs.Vouches.Vouched
			gs := p.GuardStats()
			pen += gs.Score.Penalized
			refused += gs.Refused
			for i, n := range gs.Offences {
				off[i] += n
			}
			nUp += st.Overlay.NeighborUp
			nDown += st.Overlay.NeighborDown
			nFail += st.Overlay.Failures
			cOpened += st.ConnsOpened
			cTrimmed += st.ConnsTrimmed
			sReleased += st.StreamsReleased
			pl.EagerSent += st.Plum.EagerSent
			pl.Duplicates += st.Plum.Duplicates
			pl.PrunesSent += st.Plum.PrunesSent
			pl.PrunesReceived += st.Plum.PrunesReceived
			pl.Grafts += st.Plum.Grafts
			pl.LazySent += st.Plum.LazySent
			pl.LazySuppressed += st.Plum.LazySuppressed
			plEager += st.PlumEager
			gaps.Wanted += st.Gaps.Wanted
			gaps.Asked += st.Gaps.Asked
			gaps.Filled += st.Gaps.Filled
			asked.WantsAskedEarly += st.TreeAck.WantsAskedEarly
			asked.WantsRetried += st.TreeAck.WantsRetried
			plLazy += st.PlumLazy
			x := st.Engine
			e.Delivered += x.Delivered
			e.MessagesSent += x.MessagesSent
			e.TreeSent += x.TreeSent
			e.Duplicates += x.Duplicates
			e.IHavesSent += x.IHavesSent
			e.IWantsSent += x.IWantsSent
			e.IWantAnswered += x.IWantAnswered
			e.PullAnswered += x.PullAnswered
			e.DigestsSent += x.DigestsSent
			e.FramesSent += x.FramesSent
			e.PeerBudgetDrops += x.PeerBudgetDrops
			e.InboundDropped += x.InboundDropped
			e.WantsExpired += x.WantsExpired
		}
		fmt.Fprintf(os.Stderr, "grapevine engine counters (live peers, whole run): delivered %d, bodies sent %d (tree %d, IWANT answers %d, pull answers %d), duplicates %d, IHAVE keys %d, IWANTs %d, digests %d, frames %d; drops: peer budget %d, inbound %d, wants expired %d, queue %d (full %d, no stream %d, failed %d), inbox %d\n",
			e.Delivered, e.MessagesSent, e.TreeSent, e.IWantAnswered, e.PullAnswered, e.Duplicates, e.IHavesSent, e.IWantsSent, e.DigestsSent, e.FramesSent,
			e.PeerBudgetDrops, e.InboundDropped, e.WantsExpired, qd, qFull, qNoStream, qFailed, ind)
		if pl.EagerSent+pl.Duplicates > 0 {
			fmt.Fprintf(os.Stderr, "grapevine plumtree (live peers, whole run): eager bodies %d, duplicates %d, prunes sent %d (received %d), grafts %d, announcements %d (left out %d); links now eager %d, lazy %d (%.1f and %.1f a peer)\n",
				pl.EagerSent, pl.Duplicates, pl.PrunesSent, pl.PrunesReceived, pl.Grafts, pl.LazySent, pl.LazySuppressed,
				plEager, plLazy, float64(plEager)/float64(max(1, len(ps))), float64(plLazy)/float64(max(1, len(ps))))
		}
		fmt.Fprintf(os.Stderr, "grapevine asks (live peers, whole run): announced bodies asked between ticks %d, asked again %d; gap wants %d (asked %d, filled %d)\n",
			asked.WantsAskedEarly, asked.WantsRetried, gaps.Wanted, gaps.Asked, gaps.Filled)
		if lastNoStream != "" {
			fmt.Fprintf(os.Stderr, "grapevine: a stream that could not be opened: %s\n", lastNoStream)
		}
		fmt.Fprintf(os.Stderr, "grapevine guard and overlay (live peers, whole run): penalties %d, refused %d, offences", pen, refused)
		for i, n := range off {
			if n > 0 {
				fmt.Fprintf(os.Stderr, " %s %d", core.Offence(i), n)
			}
		}
		fmt.Fprintf(os.Stderr, "; neighbours up %d, down %d (failed %d); connections opened %d, trimmed %d; parked streams released %d; held for their origin %d (released %d, expired %d, dropped %d), joiners vouched for %d\n",
			nUp, nDown, nFail, cOpened, cTrimmed, sReleased, hold.Held, hold.Released, hold.Expired, hold.Dropped, vouched)
	}
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func(p *p2p.Peer) { defer wg.Done(); p.Kill() }(p)
	}
	wg.Wait()
	g.wg.Wait()
}

// ---- GossipSub ----

type gossipsubSys struct {
	mu     sync.Mutex
	ps     map[int]*pubsub.PubSub
	topics map[int]*pubsub.Topic
	cancel map[int]context.CancelFunc
	mesh   map[int]*meshTracer
	wg     sync.WaitGroup
	// meshWait: the publisher publishes only once its mesh holds
	// min(Dlo, its neighbours) peers (scenario first-mesh).
	meshWait int
}

// meshTracer counts the peers in this router's mesh for the bench topic
// (GRAFTs minus PRUNEs, from pubsub's RawTracer).
type meshTracer struct{ n atomic.Int64 }

func (t *meshTracer) Graft(_ peer.ID, tp string) {
	if tp == topic {
		t.n.Add(1)
	}
}
func (t *meshTracer) Prune(_ peer.ID, tp string) {
	if tp == topic {
		t.n.Add(-1)
	}
}
func (*meshTracer) OnNewOutboundStream(peer.ID, protocol.ID)             {}
func (*meshTracer) OnClosedOutboundStream(peer.ID)                       {}
func (*meshTracer) Join(string)                                          {}
func (*meshTracer) Leave(string)                                         {}
func (*meshTracer) ValidateMessage(*pubsub.Message)                      {}
func (*meshTracer) DeliverMessage(*pubsub.Message)                       {}
func (*meshTracer) RejectMessage(*pubsub.Message, string)                {}
func (*meshTracer) DuplicateMessage(*pubsub.Message)                     {}
func (*meshTracer) ThrottlePeer(peer.ID)                                 {}
func (*meshTracer) RecvRPC(*pubsub.RPC)                                  {}
func (*meshTracer) SendRPC(*pubsub.RPC, peer.ID)                         {}
func (*meshTracer) SendRPCCompleted(*pubsub.RPC, peer.ID, time.Duration) {}
func (*meshTracer) DropRPC(*pubsub.RPC, peer.ID)                         {}
func (*meshTracer) UndeliverableMessage(*pubsub.Message)                 {}

func (g *gossipsubSys) start(ctx context.Context, hosts []host.Host, idx []int, nbrs [][]int, deliver func(int, []byte)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ps == nil {
		g.ps, g.topics, g.cancel = map[int]*pubsub.PubSub{}, map[int]*pubsub.Topic{}, map[int]context.CancelFunc{}
		g.mesh = map[int]*meshTracer{}
	}
	for _, i := range idx {
		cctx, cancel := context.WithCancel(context.Background())
		mt := &meshTracer{}
		g.mesh[i] = mt
		ps, err := pubsub.NewGossipSub(cctx, hosts[i], pubsub.WithRawTracer(mt)) // default parameters
		if err != nil {
			cancel()
			return err
		}
		t, err := ps.Join(topic)
		if err != nil {
			cancel()
			return err
		}
		sub, err := t.Subscribe()
		if err != nil {
			cancel()
			return err
		}
		g.ps[i], g.topics[i], g.cancel[i] = ps, t, cancel
		self := hosts[i].ID()
		g.wg.Add(1)
		go func(i int) {
			defer g.wg.Done()
			for {
				m, err := sub.Next(cctx)
				if err != nil {
					return
				}
				if m.ReceivedFrom != self {
					deliver(i, m.Data)
				}
			}
		}(i)
	}
	return nil
}

// ready: every host knows a topic peer; for the formed group, three more
// heartbeats (1 s each) let the mesh settle, as in the reference setup.
func (g *gossipsubSys) ready(ctx context.Context, idx []int, full bool) error {
	for _, i := range idx {
		g.mu.Lock()
		t := g.topics[i]
		g.mu.Unlock()
		for len(t.ListPeers()) == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	if full {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
	if !full && g.meshWait > 0 {
		// The fair first message: wait until the publisher's mesh has
		// formed (min(Dlo, its neighbours) peers grafted).
		for _, i := range idx {
			g.mu.Lock()
			mt := g.mesh[i]
			g.mu.Unlock()
			for mt.n.Load() < int64(g.meshWait) {
				select {
				case <-ctx.Done():
					return fmt.Errorf("mesh of %d peers, want %d: %w", mt.n.Load(), g.meshWait, ctx.Err())
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
	}
	return nil
}

func (g *gossipsubSys) publish(ctx context.Context, i int, payload []byte) error {
	g.mu.Lock()
	t := g.topics[i]
	g.mu.Unlock()
	if g.meshWait > 0 {
		return t.Publish(ctx, payload, pubsub.WithReadiness(pubsub.MinTopicSize(g.meshWait)))
	}
	return t.Publish(ctx, payload)
}

func (g *gossipsubSys) kill(i int) {
	g.mu.Lock()
	c := g.cancel[i]
	delete(g.cancel, i)
	g.mu.Unlock()
	if c != nil {
		c()
	}
}

func (g *gossipsubSys) close() {
	g.mu.Lock()
	for _, c := range g.cancel {
		c()
	}
	g.cancel = nil
	g.mu.Unlock()
	g.wg.Wait()
}
