package p2p

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestDHTDiscovery: the only bootstrap peer is a plain DHT node that is not
// a group member, so members can find each other only by advertising under
// the group key and looking it up.
func TestDHTDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("DHT")
	}
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	d, err := dht.New(h, dht.Mode(dht.ModeServer), dht.ProtocolPrefix("/grapevine"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ai := peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}
	mas, _ := peer.AddrInfoToP2pAddrs(&ai)
	boot := mas[0].String()

	var peers []*Peer
	for i := 0; i < 4; i++ {
		p, err := New(context.Background(), WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithProfile(ProfileLocal),
			WithGroup("dht-test"), WithBootstrap(boot), WithNotice(func(string) {}))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		peers = append(peers, p)
	}
	waitForDiag(t, 60*time.Second, "members to find each other through the DHT", peers, func() bool {
		for _, p := range peers {
			if alive(p) != len(peers) {
				return false
			}
		}
		return true
	})
	// A member of another group advertises under another key: not found.
	other, err := New(context.Background(), WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithProfile(ProfileLocal),
		WithGroup("another-group"), WithBootstrap(boot), WithNotice(func(string) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	time.Sleep(3 * time.Second)
	if n := alive(other); n != 1 {
		t.Errorf("a member of another group sees %d members", n)
	}
}

// TestTransports: peers listening on QUIC v1 only, WebTransport only,
// WebRTC-direct only and WebSocket only reach each other and deliver; the
// default listen set covers all four plus TCP.
func TestTransports(t *testing.T) {
	for _, tc := range []struct{ name, addr string }{
		{"quic-v1", "/ip4/127.0.0.1/udp/0/quic-v1"},
		{"webtransport", "/ip4/127.0.0.1/udp/0/quic-v1/webtransport"},
		{"webrtc-direct", "/ip4/127.0.0.1/udp/0/webrtc-direct"},
		{"websocket", "/ip4/127.0.0.1/tcp/0/ws"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(context.Background(), WithListenAddrs(tc.addr), WithDHT(false), WithProfile(ProfileLocal))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			seed := a.Addrs()[0].String()
			if !strings.Contains(seed, "/"+strings.Split(tc.addr, "/")[len(strings.Split(tc.addr, "/"))-1]) {
				t.Fatalf("address %s is not %s", seed, tc.name)
			}
			b, err := New(context.Background(), WithListenAddrs(tc.addr), WithDHT(false), WithProfile(ProfileLocal), WithSeeds(seed))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			sub, _ := a.Subscribe("t")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := b.WaitJoined(ctx); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(ctx, "t", []byte("over "+tc.name)); err != nil {
				t.Fatal(err)
			}
			m, err := sub.Next(ctx)
			if err != nil || string(m.Data) != "over "+tc.name {
				t.Fatalf("got %v, %v", m, err)
			}
		})
	}
	if len(DefaultListenAddrs) != 5 {
		t.Fatalf("default listen addresses %v", DefaultListenAddrs)
	}
}
