package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/p2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

const topic = "bench"

// ---- Grapevine ----

type grapevineSys struct {
	tune  func(*core.Config) // nil: the p2p package's default profile
	hosts []host.Host
	mu    sync.Mutex
	peers map[int]*p2p.Peer
	wg    sync.WaitGroup
	n     int
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
			p2p.WithSeeds(seeds...), p2p.WithNotice(func(string) {})}
		if g.tune != nil {
			opts = append(opts, p2p.WithEngineConfig(g.tune))
		}
		if firstSeq > 0 {
			opts = append(opts, p2p.WithFirstSeq(firstSeq))
		}
		p, err := p2p.New(ctx, opts...)
		if err != nil {
			return err
		}
		sub, err := p.Subscribe(topic)
		if err != nil {
			return err
		}
		g.peers[i] = p
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
			// mesh is formed before its measurement.
			if n >= len(idx)-1 && len(g.hosts[i].Network().Peers()) >= len(idx)-2 {
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
	return nil
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
		var qd, ind uint64
		for _, p := range ps {
			st := p.Stats()
			qd += st.QueueDropped
			ind += st.InDropped
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
		fmt.Fprintf(os.Stderr, "grapevine engine counters (live peers, whole run): delivered %d, bodies sent %d (tree %d, IWANT answers %d, pull answers %d), duplicates %d, IHAVE keys %d, IWANTs %d, digests %d, frames %d; drops: peer budget %d, inbound %d, wants expired %d, queue %d, inbox %d\n",
			e.Delivered, e.MessagesSent, e.TreeSent, e.IWantAnswered, e.PullAnswered, e.Duplicates, e.IHavesSent, e.IWantsSent, e.DigestsSent, e.FramesSent,
			e.PeerBudgetDrops, e.InboundDropped, e.WantsExpired, qd, ind)
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
	wg     sync.WaitGroup
}

func (g *gossipsubSys) start(ctx context.Context, hosts []host.Host, idx []int, nbrs [][]int, deliver func(int, []byte)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ps == nil {
		g.ps, g.topics, g.cancel = map[int]*pubsub.PubSub{}, map[int]*pubsub.Topic{}, map[int]context.CancelFunc{}
	}
	for _, i := range idx {
		cctx, cancel := context.WithCancel(context.Background())
		ps, err := pubsub.NewGossipSub(cctx, hosts[i]) // default parameters
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
	return nil
}

func (g *gossipsubSys) publish(ctx context.Context, i int, payload []byte) error {
	g.mu.Lock()
	t := g.topics[i]
	g.mu.Unlock()
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
