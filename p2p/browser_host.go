//go:build js

package p2p

import (
	"errors"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peerstore"
)

// peerstoreTTL is how long addresses learned from membership, seeds and the
// DHT stay in the peerstore.
var peerstoreTTL = peerstore.RecentlyConnectedAddrTTL

// ErrAddrInUse is returned (wrapped) when a listen address is taken. A
// browser never listens, so it is never returned there.
var ErrAddrInUse = errors.New("address already in use")

// newHost cannot build go-libp2p's default host in a browser (its TCP, QUIC
// and WebRTC-direct transports need sockets a page does not have). The
// browser peer in package wasm builds its own host (WebSocket and WebRTC
// data-channel transports) and passes it with WithHost.
func newHost(crypto.PrivKey, *settings, [2]int, *gater) (host.Host, error) {
	return nil, errors.New("in a browser, build the host with package wasm (or pass one with WithHost)")
}
