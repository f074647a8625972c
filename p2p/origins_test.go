package p2p

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestNewMemberPublishesAtOnce: a member that publishes the moment it
// starts, before the group has heard of it, has every message delivered
// by every member (held until its origin is known, not dropped), and no
// member charges anyone an unknown-origin offence for relaying them.
func TestNewMemberPublishesAtOnce(t *testing.T) {
	peers := startPeers(t, 4, false)
	waitFor(t, 10*time.Second, "the group", func() bool {
		for _, p := range peers {
			if alive(p) != 4 {
				return false
			}
		}
		return true
	})
	subs := make([]*Subscription, len(peers))
	for i, p := range peers {
		subs[i], _ = p.Subscribe("t")
	}
	ctx := context.Background()
	late, err := New(ctx, WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false), WithProfile(ProfileLocal),
		WithNotice(func(string) {}), WithLeaveGrace(300*time.Millisecond), WithSeeds(peers[0].Addrs()[0].String()))
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	const n = 20
	for i := 0; i < n; i++ {
		if err := late.Publish(ctx, "t", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, s := range subs {
		got := 0
		for got < n {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := s.Next(rctx)
			cancel()
			if err != nil {
				t.Fatalf("peer %d: %d of the new member's %d messages delivered", i, got, n)
			}
			if m.From == late.ID() {
				got++
			}
		}
	}
	held := uint64(0)
	for i, p := range append(peers, late) {
		if c := p.Penalties()[core.OffenceUnknownOrigin.String()]; c != 0 {
			t.Errorf("peer %d charged %d unknown-origin offences", i, c)
		}
		st := p.OriginHoldStats()
		held += st.Held
		t.Logf("peer %d: %+v", i, st)
	}
	t.Logf("%d messages held for their origin in all", held)
}

// TestNonMemberOriginsHeldNotDelivered: validly signed messages of origins
// that are not members, from a host that speaks no membership, are held
// and dropped, never delivered; since the sender never answered the state
// request, their expiry proves nothing and it is not charged.
func TestNonMemberOriginsHeldNotDelivered(t *testing.T) {
	peers := startPeers(t, 1, false)
	victim := peers[0]
	sub, _ := victim.Subscribe("t")
	_, send := rogue(t, victim)
	var ms []*core.Message
	for i := 0; i < 5; i++ {
		k, _ := GenerateKey()
		ms = append(ms, signedMessage(t, k, 1, fmt.Sprint("invented ", i)))
	}
	send(frameOf(ms...))
	waitFor(t, 5*time.Second, "the messages held", func() bool { return victim.OriginHoldStats().Held == 5 })
	waitFor(t, 10*time.Second, "the hold to expire", func() bool { return victim.OriginHoldStats().Expired == 5 })
	expectOnly(t, sub)
	st := victim.OriginHoldStats()
	if st.Unproven != 5 || st.Asks.Asked == 0 || victim.Penalties()[core.OffenceUnknownOrigin.String()] != 0 {
		t.Fatalf("unproven %d, asks %+v, penalties %v: want 5 unproven, the sender asked, no offence", st.Unproven, st.Asks, victim.Penalties())
	}
	if s := victim.Stats(); s.Invalid != 0 || s.Engine.Delivered != 0 {
		t.Fatalf("invalid %d, delivered %d", s.Invalid, s.Engine.Delivered)
	}
}

// TestDepartedMemberHistory: a newcomer that never knew a member that
// published and left still receives that member's messages the group
// holds (WithHistory(HistoryAll())): the peers it pulls them from list the
// member as departed in their state (membership.Vouched), and nobody is
// charged an offence.
func TestDepartedMemberHistory(t *testing.T) {
	peers := startPeers(t, 2, false)
	ctx := context.Background()
	boot := peers[0].Addrs()[0].String()
	opts := []Option{WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false), WithProfile(ProfileLocal),
		WithNotice(func(string) {}), WithLeaveGrace(300 * time.Millisecond), WithSeeds(boot)}
	gone, err := New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	goneID := gone.ID()
	waitFor(t, 10*time.Second, "the group", func() bool { return alive(peers[0]) == 3 && alive(peers[1]) == 3 })
	sub1, _ := peers[1].Subscribe("t")
	log1 := newDeliveryLog()
	log1.follow(sub1)
	const n = 10
	for i := 0; i < n; i++ {
		if err := gone.Publish(ctx, "t", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the messages", func() bool { return log1.count(goneID) == n })
	gone.Close()
	waitFor(t, 10*time.Second, "the departure", func() bool { return alive(peers[0]) == 2 && alive(peers[1]) == 2 })

	late, err := New(ctx, append(opts, WithHistory(HistoryAll()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	sub, _ := late.Subscribe("t")
	logL := newDeliveryLog()
	logL.follow(sub)
	waitFor(t, 15*time.Second, "the departed member's messages at the newcomer", func() bool { return logL.count(goneID) == n })
	for i, p := range []*Peer{peers[0], peers[1], late} {
		if c := p.Penalties()[core.OffenceUnknownOrigin.String()]; c != 0 {
			t.Errorf("peer %d charged %d unknown-origin offences", i, c)
		}
	}
	t.Logf("newcomer: %+v", late.OriginHoldStats())
}
