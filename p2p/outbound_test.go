package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"go.uber.org/goleak"
)

// stalledPair starts b, makes it accept gossip streams without ever
// reading them, and starts a joining b through it: a's writer to b blocks
// once yamux's window is full.
func stalledPair(t *testing.T, opts ...Option) (a, b *Peer, release func()) {
	t.Helper()
	base := []Option{WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false), WithProfile(ProfileLocal),
		WithNotice(func(string) {}), WithLeaveGrace(300 * time.Millisecond)}
	b, err := New(context.Background(), base...)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	b.host.SetStreamHandler(b.gossipProto, func(s network.Stream) {
		<-stop
		s.Reset()
	})
	a, err = New(context.Background(), append(append(base, opts...), WithSeeds(b.Addrs()[0].String()))...)
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "membership", func() bool { return alive(a) == 2 && alive(b) == 2 })
	big := make([]byte, 100<<10) // six of them overflow yamux's 256 KiB window
	for i := 0; i < 6; i++ {
		if err := a.Publish(context.Background(), "t", big); err != nil {
			t.Fatal(err)
		}
	}
	return a, b, func() { close(stop) }
}

// A member that stops reading costs its queue, not a writer forever: the
// batch's write deadline resets the stream (counted).
func TestWriteDeadline(t *testing.T) {
	a, b, release := stalledPair(t, WithWriteTimeout(300*time.Millisecond), withMinWriteRate(16<<20))
	defer b.Close()
	defer release()
	defer a.Close()
	waitFor(t, 10*time.Second, "a write timeout", func() bool { return a.Stats().WriteTimeouts >= 1 })
	// Connected, and its membership frames still arrive, but the tree
	// push routes around it.
	if !a.tr.Unreachable(NodeID(b.ID())) {
		t.Fatal("a member whose writes time out is not reported unreachable")
	}
}

// Close returns within a bounded time while a writer is blocked on a peer
// that stopped reading (the write timeout is far away), and leaves no
// goroutine behind.
func TestCloseWithStalledPeer(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	a, b, release := stalledPair(t, WithWriteTimeout(time.Hour))
	time.Sleep(300 * time.Millisecond) // let the writer fill the window and block
	start := time.Now()
	a.Close()
	el := time.Since(start)
	release()
	b.Close()
	t.Logf("Close took %v with a stalled peer", el)
	if el > 2*time.Second {
		t.Fatalf("Close took %v with a stalled peer, want at most 2 s", el)
	}
	goleak.VerifyNone(t, ignore)
}
