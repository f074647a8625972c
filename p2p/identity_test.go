package p2p

import (
	"crypto/rand"
	"testing"
	"unsafe"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestPeerIDSharesBytes checks that PeerID round-trips NodeID, refuses what
// is not a multihash, and neither copies nor allocates: a peer holds a peer
// ID beside every member's addresses.
func TestPeerIDSharesBytes(t *testing.T) {
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	want, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	id := NodeID(want)
	got, err := PeerID(id)
	if err != nil || got != want {
		t.Fatalf("PeerID(NodeID(p)) = %v, %v; want %v", got, err, want)
	}
	if unsafe.StringData(string(got)) != unsafe.StringData(string(id)) {
		t.Error("PeerID copied the ID's bytes")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = PeerID(id) }); n != 0 {
		t.Errorf("PeerID allocated %.0f times per call", n)
	}
	for _, bad := range []core.NodeID{"", "x", "\x00\x24short", id[:len(id)-1], id + "x"} {
		if p, err := PeerID(bad); err == nil {
			t.Errorf("PeerID(%q) = %v, want an error", bad, p)
		}
	}
}
