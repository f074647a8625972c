//go:build !js

package p2p

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"
)

const hopProto = protocol.ID("/libp2p/circuit/relay/0.2.0/hop")

// TestRelayServiceDefault: the relay service runs on a peer that browsers
// can reach (a WebSocket listener), not on a TCP-only one, and not when
// turned off; a client reserves a slot and gets the limits of
// RelayResources.
func TestRelayServiceDefault(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []struct {
		name   string
		opts   []Option
		relays bool
	}{
		{"websocket", []Option{WithListenAddrs("/ip4/127.0.0.1/tcp/0/ws")}, true},
		{"tcp only", []Option{WithListenAddrs("/ip4/127.0.0.1/tcp/0")}, false},
		{"websocket, off", []Option{WithListenAddrs("/ip4/127.0.0.1/tcp/0/ws"), WithRelayService(false)}, false},
		{"tcp only, on", []Option{WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithRelayService(true)}, true},
	} {
		p, err := New(ctx, append(c.opts, WithDHT(false), WithGroup("relay-test"))...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		has := slices.Contains(p.Host().Mux().Protocols(), hopProto)
		if has != c.relays {
			t.Errorf("%s: relay service running %v, want %v", c.name, has, c.relays)
		}
		if has {
			cl, err := libp2p.New(libp2p.NoListenAddrs, libp2p.DisableMetrics())
			if err != nil {
				t.Fatal(err)
			}
			rsvp, err := client.Reserve(ctx, cl, peer.AddrInfo{ID: p.ID(), Addrs: p.Host().Addrs()})
			if err != nil {
				t.Errorf("%s: reserving a slot: %v", c.name, err)
			} else {
				want := RelayResources()
				if rsvp.LimitData != uint64(want.Limit.Data) || rsvp.LimitDuration != want.Limit.Duration {
					t.Errorf("%s: reservation limits %d B, %s; want %d B, %s", c.name, rsvp.LimitData, rsvp.LimitDuration, want.Limit.Data, want.Limit.Duration)
				}
				if len(rsvp.Addrs) == 0 {
					t.Errorf("%s: the reservation lists no relay address (loopback ones must be sent)", c.name)
				}
			}
			cl.Close()
		}
		if err := p.Close(); err != nil {
			t.Errorf("%s: close: %v", c.name, err)
		}
	}
}

// TestNativeDialGater: a native host refuses to dial browser-to-browser
// WebRTC addresses and nothing else.
func TestNativeDialGater(t *testing.T) {
	g := nativeDialGater{&gater{}}
	relay := "/ip4/127.0.0.1/tcp/1/ws/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"
	for a, dial := range map[string]bool{
		relay + "/p2p-circuit/webrtc":                              false,
		relay + "/p2p-circuit/webrtc/p2p/" + relay[len(relay)-52:]: false,
		relay + "/p2p-circuit":                                     true,
		relay:                                                      true,
		"/ip4/127.0.0.1/udp/1/webrtc-direct":                       true,
	} {
		if got := g.InterceptAddrDial("", ma.StringCast(a)); got != dial {
			t.Errorf("%s: dial %v, want %v", a, got, dial)
		}
	}
}
