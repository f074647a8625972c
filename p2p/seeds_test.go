package p2p

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// seedsAtOnceForTest sets how many seeds a peer tries at once.
func seedsAtOnceForTest(n int) Option {
	return func(s *settings) error { s.seedsAtOnce = n; return nil }
}

// TestJoinThroughFewSeeds: a peer given more seeds than it tries at once
// (every member of a formed group) joins through those it tried first and
// leaves the rest alone.
func TestJoinThroughFewSeeds(t *testing.T) {
	group := startPeers(t, 6, false)
	waitFor(t, 20*time.Second, "the group to form", func() bool {
		for _, p := range group {
			if alive(p) != len(group) {
				return false
			}
		}
		return true
	})
	var seeds []string
	for _, p := range group {
		seeds = append(seeds, p.Addrs()[0].String())
	}
	p, err := New(context.Background(), WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false), WithProfile(ProfileLocal),
		WithNotice(func(string) {}), WithLeaveGrace(300*time.Millisecond), WithSeeds(seeds...), seedsAtOnceForTest(2))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.WaitJoined(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the joiner to see the group", func() bool { return alive(p) == len(group)+1 })
	time.Sleep(seedJoinWait + time.Second)
	if n := p.ctr.seedDials.Load(); n > 2 {
		t.Errorf("the joiner dialled %d of its %d seeds, want at most 2", n, len(seeds))
	}
}

// TestJoinPastDeadSeeds: seeds that refuse connections are passed over,
// and the one that answers lets the peer join.
func TestJoinPastDeadSeeds(t *testing.T) {
	group := startPeers(t, 2, false)
	var seeds []string
	for i := 0; i < 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close() // nobody listens there now
		_, pub, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, id))
	}
	seeds = append(seeds, group[1].Addrs()[0].String())
	p, err := New(context.Background(), WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false), WithProfile(ProfileLocal),
		WithNotice(func(string) {}), WithLeaveGrace(300*time.Millisecond), WithSeeds(seeds...), seedsAtOnceForTest(2))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitFor(t, 20*time.Second, "the joiner to see the group", func() bool { return alive(p) == len(group)+1 })
}

// TestMergeAddrInfos: a peer named twice becomes one seed with both
// addresses, in the order given.
func TestMergeAddrInfos(t *testing.T) {
	_, pub, _ := crypto.GenerateEd25519Key(nil)
	id, _ := peer.IDFromPublicKey(pub)
	_, pub2, _ := crypto.GenerateEd25519Key(nil)
	id2, _ := peer.IDFromPublicKey(pub2)
	a, err := ParseAddrInfos([]string{"/ip4/127.0.0.1/tcp/1/p2p/" + id.String(), "/ip4/127.0.0.1/tcp/3/p2p/" + id2.String()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseAddrInfos([]string{"/ip4/127.0.0.1/udp/2/quic-v1/p2p/" + id.String()})
	if err != nil {
		t.Fatal(err)
	}
	got := mergeAddrInfos(append(a, b...))
	if len(got) != 2 {
		t.Fatalf("merged %v", got)
	}
	for _, ai := range got {
		want := []string{"/ip4/127.0.0.1/tcp/3"}
		if ai.ID == id {
			want = []string{"/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/udp/2/quic-v1"}
		}
		var have []string
		for _, m := range ai.Addrs {
			have = append(have, m.String())
		}
		if !slices.Equal(have, want) {
			t.Errorf("%s: addresses %v, want %v", ai.ID, have, want)
		}
	}
}
