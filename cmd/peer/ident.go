package main

import (
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func peerIDOf(sk crypto.PrivKey) (peer.ID, error) { return peer.IDFromPrivateKey(sk) }
