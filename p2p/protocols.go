package p2p

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Protocol IDs. Gossip (message bodies, IHAVE/IWANT, pull digests, with
// membership updates piggybacked) travels on GossipProtocol; frames that
// carry only membership records (SWIM ping, ack, ping-req, nack, join,
// state exchange) travel on MembershipProtocol, a second long-lived stream
// with its own queue and writer, so a probe never waits behind bulk data.
// Each group speaks them under its own suffix (Protocols), so members of
// different groups never exchange a frame, even on a shared host or DHT.
const (
	GossipProtocol     protocol.ID = "/grapevine/1.0.0"
	MembershipProtocol protocol.ID = "/grapevine/swim/1.0.0"
)

// Protocols returns the protocol IDs a group's members speak: the base IDs
// followed by "/" and the first 16 hex digits of SHA-256 of the group name.
func Protocols(group string) (gossip, membership protocol.ID) {
	sum := sha256.Sum256([]byte("grapevine/group/" + group))
	tag := "/" + hex.EncodeToString(sum[:8])
	return GossipProtocol + protocol.ID(tag), MembershipProtocol + protocol.ID(tag)
}

type kind uint8

const (
	kindGossip kind = iota
	kindMembership
)

func (k kind) String() string {
	if k == kindMembership {
		return "membership"
	}
	return "gossip"
}

func (p *Peer) proto(k kind) protocol.ID {
	if k == kindMembership {
		return p.swimProto
	}
	return p.gossipProto
}

// classify returns kindMembership for a frame whose records are all
// membership records (types 0x40-0x7f), kindGossip otherwise. It walks the
// record headers only; a malformed frame is gossip (the receiver rejects it).
func classify(frame []byte) kind {
	if len(frame) < 2 {
		return kindGossip
	}
	b := frame[1:]
	for len(b) > 0 {
		t := b[0]
		if t < core.RecMembershipFirst || t > core.RecMembershipLast {
			return kindGossip
		}
		b = b[1:]
		var n uint64
		var s uint
		i := 0
		for ; i < len(b) && i < 10; i++ {
			n |= uint64(b[i]&0x7f) << s
			s += 7
			if b[i] < 0x80 {
				break
			}
		}
		if i >= len(b) || n > uint64(len(b)-i-1) {
			return kindGossip
		}
		b = b[i+1+int(n):]
	}
	return kindMembership
}
