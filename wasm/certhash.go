package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/security/noise/pb"
	"github.com/multiformats/go-multihash"
)

var _ noise.EarlyDataHandler = (*certhashCheck)(nil)

// certhashCheck verifies, in the responder's Noise payload, that the
// server lists every certificate hash we dialled with. The payload is
// signed with the peer's key, so this binds the certificate the browser
// accepted to the peer ID Noise authenticated (libp2p/specs
// webtransport: the client MUST check it).
type certhashCheck struct {
	dialled []multihash.DecodedMultihash
	ok      bool
}

func (c *certhashCheck) Send(context.Context, net.Conn, peer.ID) *pb.NoiseExtensions { return nil }

func (c *certhashCheck) Received(_ context.Context, _ net.Conn, ext *pb.NoiseExtensions) error {
	if ext == nil {
		return errors.New("no Noise extensions: the server sent no certificate hashes")
	}
	var got []multihash.DecodedMultihash
	for _, b := range ext.WebtransportCerthashes {
		dh, err := multihash.Decode(b)
		if err != nil {
			return fmt.Errorf("bad certhash in the Noise extensions: %w", err)
		}
		got = append(got, *dh)
	}
	for _, want := range c.dialled {
		found := false
		for _, g := range got {
			if g.Code == want.Code && bytes.Equal(g.Digest, want.Digest) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("the server's Noise handshake does not list certhash %x of the address", want.Digest)
		}
	}
	c.ok = true
	return nil
}
