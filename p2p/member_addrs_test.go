package p2p

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// TestAddrMemoryPerMember: with the overlay a peer keeps every member's
// vetted addresses (memberAddrs) and an address-book entry for each of
// them, a term that grows with the group where the rest of a peer's state
// does not. Two addresses per member must stay within 340 bytes of heap
// beyond the member's metadata (294 now, maps included; with entries keyed
// by the address's bytes, claimants' IDs inline and the encoding copied,
// 456; with a slice per address and entries allocated apart, 695), and
// come back out whole.
func TestAddrMemoryPerMember(t *testing.T) {
	const n = 2000
	ids := make([]peer.ID, n)
	addrs := make([][]ma.Multiaddr, n)
	advertised := make([][]byte, n) // the members' metadata, which membership holds anyway
	for i := range ids {
		ids[i] = peer.ID(fmt.Sprintf("member-%06d-padded-to-an-id-length", i))
		addrs[i] = []ma.Multiaddr{
			ma.StringCast(fmt.Sprintf("/ip4/10.%d.%d.1/udp/4001/quic-v1", i>>8, i&255)),
			ma.StringCast(fmt.Sprintf("/ip4/10.%d.%d.1/tcp/4001", i>>8, i&255)),
		}
		advertised[i] = encodeAddrMeta(addrs[i], math.MaxInt)
	}
	book := newAddrBook()
	var known memberAddrs
	now := time.Now()
	refused := func(reason string) { t.Fatalf("refused: %s", reason) }
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range ids {
		known.set(ids[i], book.admit(ids[i], addrs[i], now, refused), advertised[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("a member's two addresses hold %d bytes of heap", per)
	if per > 340 {
		t.Errorf("a member's two addresses hold %d bytes of heap, want at most 340", per)
	}
	for _, i := range []int{0, 777, n - 1} {
		got := known.get(ids[i])
		if len(got) != 2 || !got[0].Equal(addrs[i][0]) || !got[1].Equal(addrs[i][1]) {
			t.Fatalf("member %d's addresses came back as %v, want %v", i, got, addrs[i])
		}
	}
	// Nothing refused: the member's own encoding is kept, not a copy.
	if got := known.addrs[ids[0]]; len(got) == 0 || &got[0] != &advertised[0][0] {
		t.Error("the vetted addresses are a copy of the advertised encoding")
	}
	runtime.KeepAlive(book)
	runtime.KeepAlive(advertised)
}
