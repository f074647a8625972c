package core

import (
	"crypto/sha256"
	"encoding/binary"
)

// NodeID identifies a node. It is opaque to the engine: the libp2p adapter
// uses the bytes of a libp2p peer ID, the simulator a short index.
type NodeID string

// MsgKey identifies a message within the group: its origin and the origin's
// sequence number. Because sequence numbers are per origin and consecutive,
// a node can tell from the keys it holds which messages it has missed.
type MsgKey struct {
	Origin NodeID
	Seq    uint64
}

// Message is one application message.
type Message struct {
	Origin    NodeID // the node that published it
	Seq       uint64 // the origin's sequence number, from 1, consecutive
	Topic     string
	Priority  uint8  // higher is gossiped first under the Priority policy
	Timestamp int64  // the origin's clock at publish (Unix ns); set by the adapter, never read by the engine
	Payload   []byte // the application's bytes
	Auth      []byte // authenticator (e.g. the origin's signature over ID()); opaque to the engine
	// First says that no message of Origin precedes this one in its current
	// numbering: Seq is the origin's Config.FirstSeq. A receiver that has not
	// started Origin's FIFO order starts it here at once instead of waiting
	// FIFOStart for an earlier message that might be in flight. Signed with
	// the rest (ID), and on the wire only when set.
	First bool
}

// Message flags: an optional byte after the authenticator, present only when
// non-zero, so a message without flags encodes (and hashes) as before.
const (
	msgFlagFirst  uint8 = 1 << 0
	msgFlagsKnown       = msgFlagFirst
)

// flags returns m's flag byte.
func (m *Message) flags() uint8 {
	if m.First {
		return msgFlagFirst
	}
	return 0
}

// Key returns the message's key.
func (m *Message) Key() MsgKey { return MsgKey{Origin: m.Origin, Seq: m.Seq} }

// ID returns a digest of the message's origin, sequence number, topic,
// priority, timestamp, payload and flags (not Auth): the bytes an origin signs and
// a stable identifier for the application.
func (m *Message) ID() [32]byte {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	put := func(b []byte) {
		n := binary.PutUvarint(buf[:], uint64(len(b)))
		h.Write(buf[:n])
		h.Write(b)
	}
	h.Write([]byte("grapevine/msg/v1"))
	put([]byte(m.Origin))
	n := binary.PutUvarint(buf[:], m.Seq)
	h.Write(buf[:n])
	put([]byte(m.Topic))
	h.Write([]byte{m.Priority})
	n = binary.PutVarint(buf[:], m.Timestamp)
	h.Write(buf[:n])
	put(m.Payload)
	if f := m.flags(); f != 0 {
		h.Write([]byte{f})
	}
	var id [32]byte
	h.Sum(id[:0])
	return id
}

// Clone returns a deep copy of m, so that a stored message does not alias a
// caller's or a decoder's buffer.
func (m *Message) Clone() *Message {
	c := *m
	// One allocation for payload and authenticator together.
	buf := make([]byte, len(m.Payload)+len(m.Auth))
	copy(buf, m.Payload)
	copy(buf[len(m.Payload):], m.Auth)
	c.Payload = buf[:len(m.Payload):len(m.Payload)]
	if len(m.Auth) > 0 {
		c.Auth = buf[len(m.Payload):]
	} else {
		c.Auth = nil
	}
	return &c
}
