//go:build !js

package browsertest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// inboundLog records the connections a native host accepts: remote peer
// ID and transport (go-libp2p's ConnState().Transport; an inbound
// WebRTC-direct connection's remote multiaddr is /ip4/.../udp/... only).
type inboundLog struct {
	mu    sync.Mutex
	conns map[string][]string // peer ID -> transports, in order
}

func watchInbound(p *p2p.Peer) *inboundLog {
	l := &inboundLog{conns: map[string][]string{}}
	p.Host().Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.Stat().Direction != network.DirInbound {
			return
		}
		l.mu.Lock()
		l.conns[c.RemotePeer().String()] = append(l.conns[c.RemotePeer().String()], c.ConnState().Transport)
		l.mu.Unlock()
	}})
	return l
}

func (l *inboundLog) from(id string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.conns[id])
}

// TestJSLibp2pDialsNatives: a js-libp2p node (libp2p 3, @libp2p/webtransport,
// @libp2p/webrtc's webRTCDirect, from npm) in a Chromium page dials a native
// Grapevine peer's advertised WebTransport and WebRTC-direct addresses
// (self-signed certificates, trusted by their /certhash only), each with a
// fresh js-libp2p node, pings it and checks what identify learned: the
// native's agent version and exactly the protocols the native's host
// serves; the same addresses with another certificate's hash are refused.
// The natives listen on p2p.DefaultListenAddrs, on loopback.
func TestJSLibp2pDialsNatives(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium and installs js-libp2p; skipped with -short")
	}
	bin := chromium(t)
	bundle := jsLibp2pBundle(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var listen []string
	for _, a := range p2p.DefaultListenAddrs {
		listen = append(listen, strings.Replace(a, "/ip4/0.0.0.0/", "/ip4/127.0.0.1/", 1))
	}
	natives := startNativesOn(t, ctx, "js-interop", listen, 2, func(p *p2p.Peer) []string { return addrsOn(p, "/quic-v1/p2p/") })
	target := natives[1]
	inbound := watchInbound(target.p)
	eventually(t, 20*time.Second, "the natives see each other alive", func() bool {
		return natives[0].state(target.p.ID().String()) == p2p.StateAlive && target.state(natives[0].p.ID().String()) == p2p.StateAlive
	})
	var served []string
	for _, id := range target.p.Host().Mux().Protocols() {
		served = append(served, string(id))
	}
	slices.Sort(served)

	// Chromium with QUIC on (setup turns it off), which WebTransport needs.
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromiumFlags(t, bin)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", bin, err)
	}
	pctx := openJSLibp2pPage(t, bctx, bundle)

	for _, tc := range []struct{ name, part string }{
		{"webtransport", "/quic-v1/webtransport/certhash/"},
		{"webrtc-direct", "/webrtc-direct/certhash/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addrs := addrsOn(target.p, tc.part)
			if len(addrs) != 1 {
				t.Fatalf("native 1 advertises %d %s addresses, want 1: %v", len(addrs), tc.part, target.p.Addrs())
			}
			res, err := jsDial(t, pctx, addrs[0])
			if err != nil {
				t.Fatalf("js-libp2p dialing %s: %v", addrs[0], err)
			}
			if res.RemotePeer != target.p.ID().String() {
				t.Errorf("js-libp2p reached %s, want native 1 (%s)", res.RemotePeer, target.p.ID())
			}
			if !strings.Contains(res.RemoteAddr, strings.TrimSuffix(tc.part, "/certhash/")) || res.Limited {
				t.Errorf("js-libp2p's connection is %s (limited %v), want a direct %s one", res.RemoteAddr, res.Limited, tc.name)
			}
			if res.RTT < 0 || res.RTT > 5000 {
				t.Errorf("ping round trip %.0f ms", res.RTT)
			}
			if want := "grapevine/" + p2p.Version; res.Agent != want {
				t.Errorf("identify: agent %q, want %q", res.Agent, want)
			}
			got := slices.Clone(res.Protocols)
			slices.Sort(got)
			if !slices.Equal(got, served) {
				t.Errorf("identify: js-libp2p learned the protocols %v, native 1 serves %v", got, served)
			}
			for _, p := range []protocol.ID{"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"} {
				if !slices.Contains(got, string(p)) {
					t.Errorf("identify: %s missing from %v", p, got)
				}
			}
			// The certhash is what the browser trusts: with another
			// certificate's hash the dial fails.
			wrong := withOtherCerthash(t, addrs[0])
			if res, err := jsDial(t, pctx, wrong); err == nil {
				t.Errorf("js-libp2p reached %s at %s, a certhash that is not the native's", res.RemotePeer, wrong)
			} else {
				t.Logf("with another certificate's hash: %v", err)
			}
			// The native saw it too: one inbound connection from that
			// js-libp2p peer, over this transport.
			conns := inbound.from(res.Self)
			if !slices.Equal(conns, []string{tc.name}) {
				t.Errorf("native 1's inbound connections from the js-libp2p peer %s: %v, want one over %s", res.Self, conns, tc.name)
			}
		})
	}
}
