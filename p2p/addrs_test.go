package p2p

import (
	"context"
	"fmt"
	"github.com/grapevine-p2p/grapevine/membership"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

func TestAddrBook(t *testing.T) {
	b := newAddrBook()
	now := time.Unix(1000, 0)
	refused := map[string]int{}
	count := func(r string) { refused[r]++ }
	var many []ma.Multiaddr
	for i := 0; i < 12; i++ {
		many = append(many, ma.StringCast(fmt.Sprintf("/ip4/192.0.2.%d/tcp/4001", i+1)))
	}
	if got := b.admit("a", many, now, count); len(got) != maxAdvertisedAddrs || refused[addrTooMany] != 12-maxAdvertisedAddrs {
		t.Fatalf("12 addresses: %d admitted, refused %v", len(got), refused)
	}
	victim := []ma.Multiaddr{ma.StringCast("/ip4/198.51.100.7/tcp/22")}
	for i, id := range []peer.ID{"m1", "m2", "m3", "m4"} {
		got := b.admit(id, victim, now, count)
		if want := i < maxClaimants; (len(got) == 1) != want {
			t.Fatalf("claimant %d admitted: %v, want %v", i+1, len(got) == 1, want)
		}
	}
	if refused[addrShared] != 2 {
		t.Fatalf("shared refused %d, want 2", refused[addrShared])
	}
	// The first claimant again: still admitted.
	if got := b.admit("m1", victim, now, count); len(got) != 1 {
		t.Fatal("a known claimant refused")
	}
	// A failed dial: refused, whoever claims it, until the backoff passes;
	// the backoff grows with each failure.
	b.failed(victim[0], now)
	if got := b.admit("m1", victim, now.Add(time.Second), count); len(got) != 0 || refused[addrBackoff] != 1 {
		t.Fatalf("after a failed dial: %d admitted, refused %v", len(got), refused)
	}
	if got := b.admit("m1", victim, now.Add(addrBackoffMin+time.Millisecond), count); len(got) != 1 {
		t.Fatal("still refused after the first backoff")
	}
	for i := 0; i < 10; i++ {
		b.failed(victim[0], now)
	}
	if got := b.admit("m1", victim, now.Add(addrBackoffMax/2-time.Second), count); len(got) != 0 {
		t.Fatal("admitted within the longest backoff's lower bound")
	}
	b.succeeded(victim[0])
	if got := b.admit("m1", victim, now, count); len(got) != 1 {
		t.Fatal("refused after a successful connection")
	}
	for i := 0; i < 20; i++ {
		if d := backoffDelay(i + 1); d < addrBackoffMin/2 || d > addrBackoffMax {
			t.Fatalf("backoff %d: %v", i+1, d)
		}
	}
}

// A peer that starts listening on a new address announces it in its
// membership metadata; the others see it (update event).
func TestAddressesRefreshed(t *testing.T) {
	peers := startPeers(t, 2, false)
	waitFor(t, 10*time.Second, "membership", func() bool { return alive(peers[0]) == 2 && alive(peers[1]) == 2 })
	old := map[string]bool{}
	for _, a := range peers[1].Host().Addrs() {
		old[a.String()] = true
	}
	extra := ma.StringCast("/ip4/127.0.0.1/tcp/0")
	if err := peers[1].Host().Network().Listen(extra); err != nil {
		t.Fatal(err)
	}
	var newAddr ma.Multiaddr
	waitFor(t, 10*time.Second, "the new listen address", func() bool {
		for _, a := range peers[1].Host().Addrs() {
			if !old[a.String()] {
				newAddr = a
				return true
			}
		}
		return false
	})
	waitFor(t, 20*time.Second, "the new address in peer 0's view", func() bool {
		for _, m := range peers[0].Members() {
			if m.ID != peers[1].ID() {
				continue
			}
			for _, a := range m.Addrs {
				if a.Equal(newAddr) {
					return true
				}
			}
		}
		return false
	})
}

// A member-advertised address that fails to dial goes into backoff and out
// of the peerstore: a second member pointing at it is not dialled there.
func TestFailedAddrBackoff(t *testing.T) {
	peers := startPeers(t, 1, false)
	p := peers[0]
	sk, _ := GenerateKey()
	id, _ := peer.IDFromPrivateKey(sk)
	dead := ma.StringCast("/ip4/127.0.0.1/tcp/1") // nobody listens there
	p.addMemberAddrs(id, []ma.Multiaddr{dead}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.host.Connect(ctx, peer.AddrInfo{ID: id})
	if err == nil {
		t.Fatal("connected to nobody")
	}
	p.dialed(id, err)
	if addrs := p.host.Peerstore().Addrs(id); len(addrs) != 0 {
		t.Fatalf("failed address still in the peerstore: %v", addrs)
	}
	sk2, _ := GenerateKey()
	id2, _ := peer.IDFromPrivateKey(sk2)
	p.addMemberAddrs(id2, []ma.Multiaddr{dead}, nil)
	if addrs := p.host.Peerstore().Addrs(id2); len(addrs) != 0 || p.Stats().AddrsRefused != 1 {
		t.Fatalf("address in backoff admitted for another member: %v (refused %d)", addrs, p.Stats().AddrsRefused)
	}
}

// With the overlay a member's advertised addresses stay out of the
// peerstore until this peer dials it, skip those in backoff, and are
// forgotten when the member is declared failed.
func TestMemberAddrsOnDemand(t *testing.T) {
	p := startPeers(t, 1, false, WithOverlay(true))[0]
	q := startPeers(t, 1, false)[0] // any reachable host
	qid := q.host.ID()
	p.addMemberAddrs(qid, q.Addrs(), nil)
	if addrs := p.host.Peerstore().Addrs(qid); len(addrs) != 0 || p.known.len() != 1 {
		t.Fatalf("a member's addresses went into the peerstore before a dial: %v (kept %d)", addrs, p.known.len())
	}
	if !p.loadAddrs(qid) {
		t.Fatal("no address loaded for the dial")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.host.Connect(ctx, peer.AddrInfo{ID: qid}); err != nil {
		t.Fatalf("dial with the loaded addresses: %v", err)
	}
	// The peerstore forgets addresses after their TTL (15 minutes after a
	// disconnection, 2 after a load); a member learned long ago stays
	// dialable. (Before, its addresses were put into the peerstore once,
	// when membership learned them, and a peer of a group older than 15
	// minutes could not dial a member it had not been connected to.)
	p.host.Peerstore().ClearAddrs(qid)
	if !p.loadAddrs(qid) || len(p.host.Peerstore().Addrs(qid)) == 0 {
		t.Fatal("a member's addresses were not loaded again after the peerstore forgot them")
	}

	sk, _ := GenerateKey()
	dead, _ := peer.IDFromPrivateKey(sk)
	nowhere := ma.StringCast("/ip4/127.0.0.1/tcp/1")
	p.addMemberAddrs(dead, []ma.Multiaddr{nowhere}, nil)
	p.addrs.failed(nowhere, time.Now())
	if p.loadAddrs(dead) || len(p.host.Peerstore().Addrs(dead)) != 0 {
		t.Fatal("an address in backoff was loaded")
	}
	if err := p.call(ctx, func() { p.emit(EventFail, membership.Member{ID: NodeID(dead)}) }); err != nil {
		t.Fatal(err)
	}
	if p.known.len() != 1 {
		t.Fatalf("%d members' addresses kept, want 1 after a failure", p.known.len())
	}
}
