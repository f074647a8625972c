//go:build !js

package p2p

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
)

// discoveryNative is the part of discovery a native peer runs and a
// browser cannot: the Kademlia DHT (with its IPNS, IPLD, OpenTelemetry and
// gonum dependencies) and mDNS (UDP multicast). Moved out of discovery.go
// unchanged so that the GOOS=js build does not link them.
type discoveryNative struct {
	dht  *dht.IpfsDHT
	mdns mdns.Service
}

// newDHT starts the DHT node (server mode) if the DHT is on.
func (d *discovery) newDHT() error {
	p, s := d.p, &d.p.s
	if s.dht {
		var err error
		d.dht, err = dht.New(p.host,
			dht.Mode(dht.ModeServer),
			dht.ProtocolPrefix(protocol.ID(s.dhtPrefix)),
			dht.BootstrapPeers(s.bootstrap...),
			dht.DisableValues(),
		)
		if err != nil {
			return fmt.Errorf("starting DHT: %w", err)
		}
	}
	return nil
}

// startDHTAndMDNS starts the DHT loop and mDNS, each if on.
func (d *discovery) startDHTAndMDNS() error {
	p, s := d.p, &d.p.s
	if d.dht != nil {
		d.wg.Add(1)
		go d.dhtLoop()
	}
	if s.mdns {
		sum := sha256.Sum256([]byte(GroupKey(s.group)))
		d.mdns = mdns.NewMdnsService(p.host, "_grapevine-"+hex.EncodeToString(sum[:6])+"._udp", d)
		if err := d.mdns.Start(); err != nil {
			return fmt.Errorf("starting mDNS: %w", err)
		}
	}
	return nil
}

// refreshDHT refreshes the DHT's routing table (after a seed connected).
func (d *discovery) refreshDHT() {
	if d.dht != nil {
		d.dht.RefreshRoutingTable()
	}
}

func (d *discovery) closeMDNS() {
	if d.mdns != nil {
		d.mdns.Close()
	}
}

func (d *discovery) closeDHT() {
	if d.dht != nil {
		d.dht.Close()
	}
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
