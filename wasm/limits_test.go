package wasm

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/test"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// The tab's resource manager holds Grapevine's per-peer protocol limits
// (a third inbound gossip stream from one peer is refused) and its own
// small fixed limits (connections, memory), and counts what it refuses.
func TestTabResourceManager(t *testing.T) {
	rm, err := newTabResourceManager(p2p.WithGroup("tab"))
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	gossip, _ := p2p.Protocols("tab")
	remote := test.RandPeerIDFatal(t)
	raddr := ma.StringCast("/p2p/" + remote.String() + "/p2p-circuit/webrtc")

	conn, err := rm.OpenConnection(network.DirInbound, false, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Done()
	if err := conn.SetPeer(remote); err != nil {
		t.Fatal(err)
	}
	var streams []network.StreamManagementScope
	defer func() {
		for _, s := range streams {
			s.Done()
		}
	}()
	for i := 0; i < 3; i++ {
		s, err := rm.OpenStream(remote, network.DirInbound)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
		err = s.SetProtocol(gossip)
		if i < 2 && err != nil {
			t.Fatalf("inbound gossip stream %d refused: %v", i+1, err)
		}
		if i == 2 && err == nil {
			t.Fatal("a third inbound gossip stream from one peer was accepted (per-peer protocol limit 2)")
		}
	}
	if st := rm.stats(); st.Streams != 1 {
		t.Fatalf("streams refused: %d, want 1", st.Streams)
	}

	// Connections: 80 outbound, 96 in all (no IP in WebRTC addresses, so
	// no per-IP limit applies), 16 inbound before their peer is known.
	var conns []network.ConnManagementScope
	defer func() {
		for _, c := range conns {
			c.Done()
		}
	}()
	open := func(dir network.Direction, setPeer bool, n int) (opened int) {
		for i := 0; i < n; i++ {
			c, err := rm.OpenConnection(dir, false, raddr)
			if err != nil {
				continue
			}
			conns = append(conns, c)
			if setPeer {
				if err := c.SetPeer(test.RandPeerIDFatal(t)); err != nil {
					t.Fatalf("attaching a connection to a new peer: %v", err)
				}
			}
			opened++
		}
		return opened
	}
	if n := open(network.DirOutbound, true, 100); n != 80 {
		t.Fatalf("opened %d of 100 outbound connections, want 80", n)
	}
	if n := open(network.DirInbound, false, 40); n != 15 {
		t.Fatalf("opened %d of 40 inbound connections with no peer yet (81 open already), want 15 (96 in all)", n)
	}
	if st := rm.stats(); st.Conns != 20+25 {
		t.Fatalf("connections refused: %d, want 45", st.Conns)
	}

	// Memory: one connection's scope holds 16 MiB at most.
	span, err := conn.BeginSpan()
	if err != nil {
		t.Fatal(err)
	}
	defer span.Done()
	if err := span.ReserveMemory(12<<20, network.ReservationPriorityAlways); err != nil {
		t.Fatalf("reserving 12 MiB: %v", err)
	}
	if err := span.ReserveMemory(8<<20, network.ReservationPriorityAlways); err == nil {
		t.Fatal("a connection reserved 20 MiB (limit 16 MiB)")
	}
	if st := rm.stats(); st.Memory != 1 || st.Reserved < 12<<20 {
		t.Fatalf("memory: %+v, want 1 refusal and 12 MiB or more reserved", st)
	}
}
