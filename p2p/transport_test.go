package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A writer exits when its queue is empty and parks the stream: later frames
// reuse that one stream instead of opening new ones, and no writer goroutine
// stays behind for an idle peer.
func TestWritersParkAndReuseStreams(t *testing.T) {
	peers := startPeers(t, 2, false)
	waitFor(t, 10*time.Second, "membership", func() bool { return alive(peers[0]) == 2 && alive(peers[1]) == 2 })
	for i := 0; i < 20; i++ {
		if err := peers[0].Publish(context.Background(), "t", []byte("x")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // let the writer drain and exit in between
	}
	r := remoteOf(t, peers[0], peers[1])
	waitFor(t, 5*time.Second, "idle gossip writer", func() bool { return !r.active[kindGossip].Load() })
	if r.q[kindGossip].len() != 0 {
		t.Fatal("frames left behind")
	}
	if gossip := outboundStreams(peers[0], peers[1], kindGossip); gossip != 1 {
		t.Fatalf("%d outgoing gossip streams to the peer, want the one parked stream", gossip)
	}
}

// The periodic sweep closes parked streams that have been idle and forgets
// the peer's queues; the next frame opens a new stream and gets through.
func TestReapClosesIdleStreams(t *testing.T) {
	peers, sub, ctx := twoPeersOneMessage(t)
	tr := peers[0].tr
	outbound := func() int { return outboundStreams(peers[0], peers[1], kindGossip) }
	waitFor(t, 5*time.Second, "a parked gossip stream", func() bool { return outbound() == 1 })
	later := time.Now().Add(time.Hour)
	waitFor(t, 5*time.Second, "the sweep to close it", func() bool {
		tr.reap(later, time.Now()) // everything counts as idle
		return outbound() == 0
	})
	if err := peers[0].Publish(context.Background(), "t", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.Next(ctx); err != nil || string(m.Data) != "two" {
		t.Fatalf("after the sweep: %v %v", m, err)
	}
}

// twoPeersOneMessage starts two peers, subscribes the second to "t" and
// waits until a message "one" from the first reached it; ctx bounds the
// test's further waits (20 s).
func twoPeersOneMessage(t *testing.T) ([]*Peer, *Subscription, context.Context) {
	t.Helper()
	peers := startPeers(t, 2, false)
	waitFor(t, 10*time.Second, "membership", func() bool { return alive(peers[0]) == 2 && alive(peers[1]) == 2 })
	sub, err := peers[1].Subscribe("t")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	if err := peers[0].Publish(ctx, "t", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Next(ctx); err != nil {
		t.Fatal(err)
	}
	return peers, sub, ctx
}

// remoteOf returns p's outgoing state for q (failing the test if none).
func remoteOf(t *testing.T, p, q *Peer) *remote {
	t.Helper()
	p.tr.mu.Lock()
	r := p.tr.remotes[q.ID()]
	p.tr.mu.Unlock()
	if r == nil {
		t.Fatal("no remote for the other peer")
	}
	return r
}

// outboundStreams counts the streams of kind k that p opened to q.
func outboundStreams(p, q *Peer, k kind) int { return countStreams(p, q, k, network.DirOutbound) }

// countStreams counts p's streams of kind k in direction dir on its
// connections to q.
func countStreams(p, q *Peer, k kind, dir network.Direction) int {
	n := 0
	for _, c := range p.host.Network().ConnsToPeer(q.ID()) {
		for _, s := range c.GetStreams() {
			if s.Stat().Direction == dir && s.Protocol() == p.proto(k) {
				n++
			}
		}
	}
	return n
}

// Streams are opened when a member joins, not on the first frame: before
// anything is published, each side already has its outgoing gossip stream
// to the other, negotiated (the other side serves it).
func TestStreamsOpenedOnJoin(t *testing.T) {
	// No pull requests for the length of the test: no gossip frame at all
	// is sent before the check, so only the join can have opened a stream.
	peers := startPeers(t, 2, false, WithEngineConfig(func(c *core.Config) { c.PullEvery = 1 << 20 }))
	waitFor(t, 10*time.Second, "membership", func() bool { return alive(peers[0]) == 2 && alive(peers[1]) == 2 })
	for _, pq := range [][2]*Peer{{peers[0], peers[1]}, {peers[1], peers[0]}} {
		p, q := pq[0], pq[1]
		waitFor(t, 5*time.Second, "a gossip stream opened ahead of traffic", func() bool {
			return outboundStreams(p, q, kindGossip) == 1 && inboundStreams(q, p, kindGossip) == 1
		})
	}
	if got := peers[0].Stats().Engine.MessagesSent; got != 0 {
		t.Fatalf("%d message bodies sent before any publish", got)
	}
}

// inboundStreams counts the streams of kind k that q accepted from p.
func inboundStreams(q, p *Peer, k kind) int { return countStreams(q, p, k, network.DirInbound) }

func TestFrameBufferClasses(t *testing.T) {
	for _, n := range []int{0, 1, 4096, 4097, 16*1024 + 600, 1 << 22, 1<<22 + 1} {
		b := frameBuffer(n)
		if len(b) != 0 || cap(b) < n {
			t.Fatalf("frameBuffer(%d): len %d cap %d", n, len(b), cap(b))
		}
		if n <= 1<<maxBufShift && cap(b)&(cap(b)-1) != 0 {
			t.Fatalf("frameBuffer(%d): capacity %d is not a class", n, cap(b))
		}
		recycleFrame(append(b, 1, 2, 3))
		if c := frameBuffer(n); len(c) != 0 || cap(c) < n {
			t.Fatalf("frameBuffer(%d) after recycling: len %d cap %d", n, len(c), cap(c))
		}
	}
}

// When the last connection to a peer closes, the streams parked for it are
// dropped at once rather than after idleWriter: each held its closed
// connection's whole state (docs/benchmarks/ladder.md, session 16: about
// 0.8 MB of heap per peer with bench -degree 22 at N = 50). The next frame
// opens a new stream.
func TestDisconnectDropsParkedStreams(t *testing.T) {
	peers, sub, ctx := twoPeersOneMessage(t)
	r := remoteOf(t, peers[0], peers[1])
	// parked returns the stream parked for kind k, taking it as reap does
	// (busy: a writer holds it).
	parked := func(k kind) (s network.Stream, busy bool) {
		if !r.active[k].CompareAndSwap(false, true) {
			return nil, true
		}
		defer r.active[k].Store(false)
		return r.stream[k], false
	}
	var old [2]network.Stream
	waitFor(t, 5*time.Second, "parked streams", func() bool {
		for k := range old {
			if old[k], _ = parked(kind(k)); old[k] == nil {
				return false
			}
		}
		return true
	})
	if err := peers[0].host.Network().ClosePeer(peers[1].ID()); err != nil {
		t.Fatal(err)
	}
	// Each stream still parked then is let go and counted; one a writer
	// took meanwhile (a gossip round) fails and is replaced by that writer.
	waitFor(t, 5*time.Second, "the parked streams released", func() bool {
		return peers[0].Stats().StreamsReleased > 0
	})
	for k := range old {
		waitFor(t, 5*time.Second, "the old stream gone", func() bool {
			s, busy := parked(kind(k))
			return !busy && s != old[k]
		})
	}
	if err := peers[0].Publish(ctx, "t", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.Next(ctx); err != nil || string(m.Data) != "two" {
		t.Fatalf("after the disconnection: %v %v", m, err)
	}
}

// Send parses a node ID only for a peer it has no entry for: frames to this
// peer itself or to an ID that is not a peer ID are dropped and counted,
// and leave no entry behind; a valid peer gets one, which later frames
// reuse.
func TestSendChecksNewPeers(t *testing.T) {
	p := startPeers(t, 1, false)[0]
	frame := func() []byte { return core.NewFrame(nil) }
	before := p.Stats().QueueDropped
	p.tr.Send(p.id, frame())
	p.tr.Send(core.NodeID("not a peer id"), frame())
	if d := p.Stats().QueueDropped - before; d != 2 {
		t.Fatalf("%d frames to itself and to a bad ID dropped, want 2", d)
	}
	p.tr.mu.Lock()
	_, self := p.tr.remotes[peer.ID(p.id)]
	_, bad := p.tr.remotes[peer.ID("not a peer id")]
	p.tr.mu.Unlock()
	if self || bad {
		t.Fatalf("entries left behind: for itself %v, for the bad ID %v", self, bad)
	}
	sk, _ := GenerateKey()
	other, _ := peer.IDFromPrivateKey(sk)
	p.tr.Send(NodeID(other), frame())
	p.tr.mu.Lock()
	r := p.tr.remotes[other]
	p.tr.mu.Unlock()
	if r == nil {
		t.Fatal("no entry for a valid peer")
	}
	p.tr.Send(NodeID(other), frame())
	p.tr.mu.Lock()
	again := p.tr.remotes[other]
	p.tr.mu.Unlock()
	if again != r {
		t.Fatal("a second frame made a new entry")
	}
}
