package p2p

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
)

// GroupKey is the DHT namespace under which members of group advertise
// (the DHT turns it into a content ID by hashing it).
func GroupKey(group string) string { return "grapevine/group/v1/" + group }

// discovery runs the background joiners: bootstrap peers (each connected,
// with retries and backoff), seeds (at most eight at a time, until joined:
// seeds.go), the DHT (advertise, find members, random walks) and mDNS. It
// only ever feeds peers to membership's Join. The DHT and mDNS
// (discoveryNative) are in discovery_native.go, which the browser build
// (GOOS=js) does not link; discovery_js.go stands in for them there.
type discovery struct {
	p *Peer
	discoveryNative
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startDiscovery(_ context.Context, p *Peer) (*discovery, error) {
	d := &discovery{p: p}
	d.ctx, d.cancel = context.WithCancel(p.ctx)
	s := &p.s
	if err := d.newDHT(); err != nil {
		return nil, err
	}
	boot := map[peer.ID]bool{p.host.ID(): true}
	for _, ai := range mergeAddrInfos(s.bootstrap) {
		if !boot[ai.ID] {
			boot[ai.ID] = true
			d.wg.Add(1)
			go d.connectLoop(ai)
		}
	}
	seeds := slices.DeleteFunc(mergeAddrInfos(s.seeds), func(ai peer.AddrInfo) bool { return boot[ai.ID] })
	if len(seeds) > 0 {
		d.wg.Add(1)
		go d.joinThroughSeeds(seeds) // seeds.go
	}
	if err := d.startDHTAndMDNS(); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

// mergeAddrInfos returns ais with one entry per peer ID, holding every
// address given for it (an option may name a peer more than once).
func mergeAddrInfos(ais []peer.AddrInfo) []peer.AddrInfo {
	var out []peer.AddrInfo
	at := map[peer.ID]int{}
	for _, ai := range ais {
		if i, ok := at[ai.ID]; ok {
			out[i].Addrs = append(out[i].Addrs, ai.Addrs...)
			continue
		}
		at[ai.ID] = len(out)
		out = append(out, peer.AddrInfo{ID: ai.ID, Addrs: slices.Clone(ai.Addrs)})
	}
	return out
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

// connectLoop connects to a bootstrap peer, retrying with
// exponential backoff (1 s doubling to 1 min, with jitter) until it
// succeeds, then asks membership to join through it.
func (d *discovery) connectLoop(ai peer.AddrInfo) {
	defer d.wg.Done()
	p := d.p
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		err := d.dial(ai)
		if d.ctx.Err() != nil {
			return
		}
		if err == nil {
			if attempt > 1 {
				p.notice("connected to %s after %d attempts", ai.ID, attempt)
			}
			p.joinInfos([]peer.AddrInfo{ai})
			d.refreshDHT()
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

// dial connects to ai once, within the dial timeout.
func (d *discovery) dial(ai peer.AddrInfo) error {
	p := d.p
	if sw, ok := p.host.Network().(*swarm.Swarm); ok {
		// Our own backoff paces the retries; libp2p's would turn them
		// into instant "dial backoff" failures.
		sw.Backoff().Clear(ai.ID)
	}
	ctx, cancel := context.WithTimeout(d.ctx, p.s.dialTimeout)
	defer cancel()
	return p.host.Connect(ctx, ai)
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

func (d *discovery) close() {
	d.cancel()
	d.closeMDNS()
	d.wg.Wait()
	d.closeDHT()
}
