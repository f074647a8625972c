//go:build !js

package rtcsignal

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// holdTarget makes h accept every exchange (subject to allow) and keep
// it open until the caller closes it; refused counts the callers allow
// refused.
func holdTarget(h host.Host, allow func(peer.ID) bool, refused *atomic.Int64) {
	h.SetStreamHandler(Protocol, func(s network.Stream) {
		_, br, err := AcceptIf(s, allow)
		if errors.Is(err, ErrNotAllowed) {
			refused.Add(1)
			s.Close()
			return
		}
		if err != nil {
			s.Reset()
			return
		}
		for {
			if _, err := ReadMsg(br); err != nil {
				s.Close()
				return
			}
		}
	})
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// One peer cannot hold more than PerPeer exchanges; another peer still gets
// through, and a freed slot can be used again.
func TestRelayPerPeerSlots(t *testing.T) {
	r, a, b, c := newHost(t), newHost(t), newHost(t), newHost(t)
	relay := Serve(r, Limits{PerPeer: 2, PerPeerRate: 100, PerPeerBurst: 100})
	connect(t, a, r)
	connect(t, b, r)
	connect(t, c, r)
	var refused atomic.Int64
	holdTarget(b, nil, &refused)
	ctx := ctx10(t)
	var held []network.Stream
	for i := 0; i < 2; i++ {
		s, _, err := Connect(ctx, a, r.ID(), b.ID())
		if err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		held = append(held, s)
	}
	if _, _, err := Connect(ctx, a, r.ID(), b.ID()); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("third exchange from one peer: %v", err)
	}
	s, _, err := Connect(ctx, c, r.ID(), b.ID())
	if err != nil {
		t.Fatalf("another peer refused while the first holds its share: %v", err)
	}
	s.Close()
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, _, err := Connect(ctx, a, r.ID(), b.ID())
		if err == nil {
			s.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	held[1].Close()
	if st := relay.Stats(); st.RefusedPeerSlots == 0 || st.RefusedPeerRate != 0 || st.Relayed < 4 {
		t.Fatalf("stats %+v", st)
	}
}

// One peer cannot ask more often than PerPeerRate allows (after its
// burst); another peer is unaffected.
func TestRelayPerPeerRate(t *testing.T) {
	r, a, b, c := newHost(t), newHost(t), newHost(t), newHost(t)
	relay := Serve(r, Limits{PerPeer: 10, PerPeerRate: 0.01, PerPeerBurst: 3})
	connect(t, a, r)
	connect(t, b, r)
	connect(t, c, r)
	var refused atomic.Int64
	holdTarget(b, nil, &refused)
	ctx := ctx10(t)
	for i := 0; i < 3; i++ {
		s, _, err := Connect(ctx, a, r.ID(), b.ID())
		if err != nil {
			t.Fatalf("request %d within the burst: %v", i, err)
		}
		s.Close()
	}
	for i := 0; i < 5; i++ {
		if _, _, err := Connect(ctx, a, r.ID(), b.ID()); err == nil || !strings.Contains(err.Error(), "too frequent") {
			t.Fatalf("request over the rate: %v", err)
		}
	}
	s, _, err := Connect(ctx, c, r.ID(), b.ID())
	if err != nil {
		t.Fatalf("another peer limited by the first's rate: %v", err)
	}
	s.Close()
	if st := relay.Stats(); st.RefusedPeerRate != 5 || st.Relayed != 4 {
		t.Fatalf("stats %+v", st)
	}
}

// A target that accepts only members refuses others before sending
// anything: the caller gets the refusal as its status, the target counts it.
func TestAcceptIfRefusesNonMembers(t *testing.T) {
	r, a, b, c := newHost(t), newHost(t), newHost(t), newHost(t)
	Serve(r, Limits{})
	connect(t, a, r)
	connect(t, b, r)
	connect(t, c, r)
	var refused atomic.Int64
	member := c.ID()
	holdTarget(b, func(p peer.ID) bool { return p == member }, &refused)
	ctx := ctx10(t)
	if _, _, err := Connect(ctx, a, r.ID(), b.ID()); err == nil || !strings.Contains(err.Error(), "not a member") {
		t.Fatalf("non-member: %v", err)
	}
	if refused.Load() != 1 {
		t.Fatalf("refusals counted %d, want 1", refused.Load())
	}
	s, _, err := Connect(ctx, c, r.ID(), b.ID())
	if err != nil {
		t.Fatalf("member refused: %v", err)
	}
	s.Close()
}
