package p2p

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// memberIDs returns the IDs in p's view other than p itself.
func memberIDs(p *Peer) map[string]string {
	out := map[string]string{}
	for _, m := range p.Members() {
		if !m.Self {
			out[m.ID.String()] = m.State
		}
	}
	return out
}

// TestCertNonMemberCannotJoinOrPublish: in a closed group, a peer without a
// certificate (an open-group peer of the same group name) and a peer with
// a certificate from another authority both seed into a member, stay
// connected and publish; no member ever lists either (0 of their records
// believed), none of their messages is delivered, and both are counted.
// A read-only member is a member, but its messages are dropped too (and,
// sent anyway, count as its offences).
func TestCertNonMemberCannotJoinOrPublish(t *testing.T) {
	ask, _ := testAuthority(t)
	peers := startClosed(t, ask, "", memberSpec{roles: RolePublish, serial: 1}, memberSpec{roles: RolePublish, serial: 2}, memberSpec{serial: 3})
	waitForDiag(t, 20*time.Second, "the closed group of 3", peers, func() bool {
		return alive(peers[0]) == 3 && alive(peers[1]) == 3 && alive(peers[2]) == 3
	})
	seed := peers[0].Addrs()[0].String()
	open, err := New(context.Background(), WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false),
		WithProfile(ProfileLocal), WithNotice(func(string) {}), WithSeeds(seed))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	otherAuth, _ := testAuthority(t)
	foreign := startClosed(t, otherAuth, seed, memberSpec{roles: RolePublish, serial: 1})[0]

	subs := make([]*Subscription, 2)
	for i := range subs {
		if subs[i], err = peers[i].Subscribe("t"); err != nil {
			t.Fatal(err)
		}
	}
	// Outsiders' membership: they keep sending alive, state and probes.
	time.Sleep(3 * time.Second)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		_ = open.Publish(ctx, "t", []byte("from-open"))
		_ = foreign.Publish(ctx, "t", []byte("from-foreign"))
		// A hostile reader bypasses Publish's own check.
		_ = peers[2].call(ctx, func() {
			_, _ = peers[2].mc.Publish("t", []byte("from-reader"), core.WithTimestamp(time.Now().UnixNano()))
		})
		time.Sleep(100 * time.Millisecond)
	}
	if err := peers[2].Publish(ctx, "t", []byte("x")); !errors.Is(err, ErrNotPublisher) {
		t.Errorf("a read-only member's Publish: %v, want ErrNotPublisher", err)
	}
	if err := peers[1].Publish(ctx, "t", []byte("from-member")); err != nil {
		t.Fatal(err)
	}
	for i, s := range subs {
		got := received(s, 2*time.Second)
		if !slices.Equal(got, []string{"from-member"}) {
			t.Errorf("member %d received %q, want only the member's message", i, got)
		}
	}
	outsiders := []string{open.ID().String(), foreign.ID().String()}
	for i, p := range peers {
		view := memberIDs(p)
		for _, o := range outsiders {
			if _, ok := view[o]; ok {
				t.Errorf("member %d lists outsider %s (%s)", i, o, view[o])
			}
		}
		// The publishers stay alive in every view (the hostile reader may
		// be penalised for its messages, and then lose or be lost).
		for j := 0; j < 2; j++ {
			if id := peers[j].ID().String(); i < 2 && j != i && view[id] != StateAlive {
				t.Errorf("member %d sees member %d as %q", i, j, view[id])
			}
		}
		if len(view) > 2 {
			t.Errorf("member %d lists %d others: %v", i, len(view), view)
		}
	}
	// Members' own frames all decode (a closed group's digest exchange
	// carries the sender's alive; 59f625d fixed it double-wrapped).
	for i, p := range peers {
		if n := p.Stats().Membership.DecodeErrors; n != 0 {
			t.Errorf("member %d: %d membership records did not decode", i, n)
		}
	}
	st, ms := peers[0].AuthorityStats(), peers[0].Stats().Membership
	if st.RefusedRecords == 0 || ms.NotAdmitted == 0 || st.DroppedMessages == 0 {
		t.Errorf("refusals not counted: %+v, membership NotAdmitted %d", st, ms.NotAdmitted)
	}
	if alive(open) > 1 && alive(foreign) > 1 {
		t.Logf("outsiders' own views: %d and %d alive", alive(open), alive(foreign))
	}
	if _, err := New(ctx, WithGroupAuthority(ask.GetPublic(), []byte{1, 2, 3})); err == nil {
		t.Error("a malformed own certificate accepted")
	}
}

// TestCertExpiry: a member whose certificate expires is admitted and
// delivered before, and after expiry its messages are dropped and the
// others declare it failed (its refutations are no longer believed).
func TestCertExpiry(t *testing.T) {
	ask, _ := testAuthority(t)
	peers := startClosed(t, ask, "", memberSpec{roles: RolePublish, serial: 1}, memberSpec{roles: RolePublish, serial: 2},
		memberSpec{roles: RolePublish, serial: 3, expiry: 6 * time.Second})
	waitForDiag(t, 5*time.Second, "the closed group of 3", peers, func() bool {
		return alive(peers[0]) == 3 && alive(peers[1]) == 3
	})
	sub, err := peers[0].Subscribe("t")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = peers[2].Publish(ctx, "t", []byte("before"))
	if got := received(sub, time.Second); !slices.Equal(got, []string{"before"}) {
		t.Fatalf("before expiry received %q", got)
	}
	exp := peers[2].ID().String()
	waitFor(t, 30*time.Second, "the expired member declared failed", func() bool {
		return memberIDs(peers[0])[exp] != StateAlive && memberIDs(peers[1])[exp] != StateAlive
	})
	_ = peers[2].Publish(ctx, "t", []byte("after"))
	if got := received(sub, 2*time.Second); len(got) != 0 {
		t.Fatalf("after expiry received %q", got)
	}
	if alive(peers[0]) != 2 {
		t.Fatalf("the remaining members: %d alive", alive(peers[0]))
	}
}

// TestRevocation: a revocation list loaded on one member spreads to the
// others (and to a member that joins later), the revoked member's messages
// stop being delivered and it is declared failed.
func TestRevocation(t *testing.T) {
	ask, _ := testAuthority(t)
	peers := startClosed(t, ask, "", memberSpec{roles: RolePublish, serial: 1}, memberSpec{roles: RolePublish, serial: 2},
		memberSpec{roles: RolePublish, serial: 3})
	waitForDiag(t, 20*time.Second, "the closed group of 3", peers, func() bool {
		return alive(peers[0]) == 3 && alive(peers[1]) == 3 && alive(peers[2]) == 3
	})
	sub, err := peers[1].Subscribe("t")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	old, _ := SignRevocationList(ask, "default", 1, nil)
	list, _ := SignRevocationList(ask, "default", 2, []uint64{3})
	if err := peers[0].LoadRevocationList(ctx, list.Marshal()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the list spread", func() bool { return peers[1].AuthorityStats().Revocations == 1 })
	if err := peers[0].LoadRevocationList(ctx, old.Marshal()); err != nil {
		t.Fatal(err)
	}
	_ = peers[2].Publish(ctx, "t", []byte("revoked"))
	_ = peers[0].Publish(ctx, "t", []byte("member"))
	if got := received(sub, 2*time.Second); !slices.Equal(got, []string{"member"}) {
		t.Fatalf("after revocation received %q", got)
	}
	rev := peers[2].ID().String()
	waitFor(t, 30*time.Second, "the revoked member declared failed", func() bool {
		return memberIDs(peers[0])[rev] != StateAlive && memberIDs(peers[1])[rev] != StateAlive
	})
	if st := peers[0].AuthorityStats(); st.Revocations != 1 {
		t.Fatalf("the lower version replaced the list: %+v", st)
	}
	late := startClosed(t, ask, peers[1].Addrs()[0].String(), memberSpec{roles: RolePublish, serial: 4})[0]
	waitFor(t, 15*time.Second, "the list spread to a new member", func() bool { return late.AuthorityStats().Revocations == 1 })
	forged, _ := SignRevocationList(late.sk, "default", 9, []uint64{1})
	if err := peers[0].LoadRevocationList(ctx, forged.Marshal()); err == nil {
		t.Fatal("a list not signed by the authority accepted")
	}
}
