package p2p

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
)

// GroupKey is the DHT namespace under which members of group advertise
// (the DHT turns it into a content ID by hashing it).
func GroupKey(group string) string { return "grapevine/group/v1/" + group }

// discovery runs the background joiners: seeds and bootstrap peers (with
// retries and backoff), the DHT (advertise, find members, random walks) and
// mDNS. It only ever feeds peers to membership's Join.
type discovery struct {
	p      *Peer
	dht    *dht.IpfsDHT
	mdns   mdns.Service
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startDiscovery(_ context.Context, p *Peer) (*discovery, error) {
	d := &discovery{p: p}
	d.ctx, d.cancel = context.WithCancel(p.ctx)
	s := &p.s
	if s.dht {
		var err error
		d.dht, err = dht.New(p.host,
			dht.Mode(dht.ModeServer),
			dht.ProtocolPrefix(protocol.ID(s.dhtPrefix)),
			dht.BootstrapPeers(s.bootstrap...),
			dht.DisableValues(),
		)
		if err != nil {
			return nil, fmt.Errorf("starting DHT: %w", err)
		}
	}
	seeds := append(append([]peer.AddrInfo(nil), s.bootstrap...), s.seeds...)
	for _, ai := range seeds {
		if ai.ID == p.host.ID() {
			continue
		}
		d.wg.Add(1)
		go d.connectLoop(ai)
	}
	if d.dht != nil {
		d.wg.Add(1)
		go d.dhtLoop()
	}
	if s.mdns {
		sum := sha256.Sum256([]byte(GroupKey(s.group)))
		d.mdns = mdns.NewMdnsService(p.host, "_grapevine-"+hex.EncodeToString(sum[:6])+"._udp", d)
		if err := d.mdns.Start(); err != nil {
			d.close()
			return nil, fmt.Errorf("starting mDNS: %w", err)
		}
	}
	return d, nil
}

// notice reports something the user should see (an unreachable bootstrap
// peer, say) through the WithNotice callback, or the log.
func (p *Peer) notice(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p.s.notice != nil {
		p.s.notice(msg)
		return
	}
	log.Warn(msg)
}

// connectLoop connects to a seed or bootstrap peer, retrying with
// exponential backoff (1 s doubling to 1 min, with jitter) until it
// succeeds, then asks membership to join through it.
func (d *discovery) connectLoop(ai peer.AddrInfo) {
	defer d.wg.Done()
	p := d.p
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		if sw, ok := p.host.Network().(*swarm.Swarm); ok {
			// Our own backoff paces the retries; libp2p's would turn
			// them into instant "dial backoff" failures.
			sw.Backoff().Clear(ai.ID)
		}
		ctx, cancel := context.WithTimeout(d.ctx, p.s.dialTimeout)
		err := p.host.Connect(ctx, ai)
		cancel()
		if d.ctx.Err() != nil {
			return
		}
		if err == nil {
			if attempt > 1 {
				p.notice("connected to %s after %d attempts", ai.ID, attempt)
			}
			p.joinInfos([]peer.AddrInfo{ai})
			if d.dht != nil {
				d.dht.RefreshRoutingTable()
			}
			return
		}
		wait := backoff + time.Duration(mrand.Int64N(int64(backoff)/4+1))
		p.notice("peer %s is unreachable (%v); retrying in %s", ai.ID, shortErr(err), wait.Round(100*time.Millisecond))
		select {
		case <-time.After(wait):
		case <-d.ctx.Done():
			return
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func shortErr(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	// libp2p lists every address tried; the last reason is the useful part.
	if i := strings.LastIndex(s, "] "); i >= 0 {
		s = s[i+2:]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// dhtLoop bootstraps the DHT, advertises this member under the group key,
// looks up other members, and runs random walks.
func (d *discovery) dhtLoop() {
	defer d.wg.Done()
	p := d.p
	if err := d.dht.Bootstrap(d.ctx); err != nil {
		log.Debugw("DHT bootstrap", "err", err)
	}
	rd := drouting.NewRoutingDiscovery(d.dht)
	ns := GroupKey(p.s.group)
	var nextAdvertise, nextFind, nextWalk time.Time
	findEvery := 2 * time.Second
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		now := time.Now()
		if d.dht.RoutingTable().Size() > 0 {
			if now.After(nextAdvertise) {
				ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
				ttl, err := rd.Advertise(ctx, ns)
				cancel()
				if err != nil {
					log.Debugw("DHT advertise", "err", err)
					nextAdvertise = now.Add(10 * time.Second)
				} else {
					nextAdvertise = now.Add(max(ttl*7/8, time.Minute))
				}
			}
			if now.After(nextFind) {
				d.findMembers(rd, ns)
				nextFind = now.Add(findEvery)
				findEvery = min(2*findEvery, 5*time.Minute)
			}
			if p.s.walkEvery > 0 && now.After(nextWalk) {
				d.randomWalk()
				nextWalk = now.Add(p.s.walkEvery)
			}
		}
		select {
		case <-t.C:
		case <-d.ctx.Done():
			return
		}
	}
}

// findMembers looks up providers of the group key and joins through a few.
func (d *discovery) findMembers(rd *drouting.RoutingDiscovery, ns string) {
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	ch, err := rd.FindPeers(ctx, ns)
	if err != nil {
		log.Debugw("DHT find members", "err", err)
		return
	}
	var found []peer.AddrInfo
	for ai := range ch {
		if ai.ID != d.p.host.ID() && len(ai.Addrs) > 0 {
			found = append(found, ai)
		}
	}
	log.Debugw("DHT members found", "n", len(found))
	mrand.Shuffle(len(found), func(i, j int) { found[i], found[j] = found[j], found[i] })
	if len(found) > 8 {
		found = found[:8]
	}
	d.p.joinInfos(found)
}

// randomWalk looks up a random key: the peers met on the way are a fresh,
// roughly uniform sample of the DHT. Those that speak Grapevine are handed
// to membership.
func (d *discovery) randomWalk() {
	var key [32]byte
	rand.Read(key[:])
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	ids, err := d.dht.GetClosestPeers(ctx, string(key[:]))
	if err != nil {
		log.Debugw("DHT random walk", "err", err)
		return
	}
	var ais []peer.AddrInfo
	ps := d.p.host.Peerstore()
	for _, id := range ids {
		if id == d.p.host.ID() {
			continue
		}
		if ok, _ := ps.SupportsProtocols(id, d.p.gossipProto); len(ok) == 0 {
			continue
		}
		ais = append(ais, ps.PeerInfo(id))
	}
	log.Debugw("DHT random walk", "met", len(ids), "grapevine", len(ais))
	d.p.joinInfos(ais)
}

// HandlePeerFound implements mdns.Notifee.
func (d *discovery) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == d.p.host.ID() || d.ctx.Err() != nil {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		ctx, cancel := context.WithTimeout(d.ctx, d.p.s.dialTimeout)
		defer cancel()
		if err := d.p.host.Connect(ctx, ai); err == nil {
			d.p.joinInfos([]peer.AddrInfo{ai})
		}
	}()
}

func (d *discovery) close() {
	d.cancel()
	if d.mdns != nil {
		d.mdns.Close()
	}
	d.wg.Wait()
	if d.dht != nil {
		d.dht.Close()
	}
}
