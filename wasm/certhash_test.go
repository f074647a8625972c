package wasm

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/libp2p/go-libp2p/p2p/security/noise/pb"
	"github.com/multiformats/go-multihash"
)

// TestCerthashCheck: the tab accepts the server's Noise payload only if
// it lists every certhash the tab dialled with.
func TestCerthashCheck(t *testing.T) {
	enc := func(s string) ([]byte, multihash.DecodedMultihash) {
		d := sha256.Sum256([]byte(s))
		mh, err := multihash.Encode(d[:], multihash.SHA2_256)
		if err != nil {
			t.Fatal(err)
		}
		dh, _ := multihash.Decode(mh)
		return mh, *dh
	}
	a, da := enc("a")
	b, db := enc("b")
	c, _ := enc("c")
	for _, tc := range []struct {
		name    string
		dialled []multihash.DecodedMultihash
		ext     *pb.NoiseExtensions
		ok      bool
	}{
		{"both listed", []multihash.DecodedMultihash{da, db}, &pb.NoiseExtensions{WebtransportCerthashes: [][]byte{b, a}}, true},
		{"one dialled, more listed", []multihash.DecodedMultihash{da}, &pb.NoiseExtensions{WebtransportCerthashes: [][]byte{c, a}}, true},
		{"one missing", []multihash.DecodedMultihash{da, db}, &pb.NoiseExtensions{WebtransportCerthashes: [][]byte{a, c}}, false},
		{"no extensions", []multihash.DecodedMultihash{da}, nil, false},
		{"none listed", []multihash.DecodedMultihash{da}, &pb.NoiseExtensions{}, false},
		{"garbage", []multihash.DecodedMultihash{da}, &pb.NoiseExtensions{WebtransportCerthashes: [][]byte{{0xff, 0xff, 0xff}}}, false},
	} {
		ch := &certhashCheck{dialled: tc.dialled}
		err := ch.Received(context.Background(), nil, tc.ext)
		if (err == nil) != tc.ok || ch.ok != tc.ok {
			t.Errorf("%s: err %v, ok %v; want ok %v", tc.name, err, ch.ok, tc.ok)
		}
	}
}
