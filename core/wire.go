package core

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"io"
)

// WireVersion is the version byte that opens every frame. A decoder rejects
// frames of any other version with ErrVersion, so that a future format can be
// introduced without old peers misreading it.
const WireVersion = 1

// Record types. A frame is a version byte followed by records, each
// (type byte, uvarint length, body). Types 0x01-0x3f belong to the gossip
// engine, 0x40-0x7f to the membership layer, 0x80-0xff to applications and
// adapters. A decoder hands records it does not know back as raw Records, so
// each layer decodes only its own and unknown record types from newer peers
// are skipped rather than rejected.
const (
	RecMessage uint8 = 0x01 // one full message
	RecIHave   uint8 = 0x02 // announcement of message keys (lazy push)
	RecIWant   uint8 = 0x03 // request for message bodies by key
	RecDigest  uint8 = 0x04 // pull request: what the sender already has
	// RecTreeMessage is a full message sent along a tree push (see
	// Config.TreeFanout): an 8-byte big-endian ring position, the end of the
	// arc the receiver forwards to, then the message as in RecMessage.
	RecTreeMessage uint8 = 0x05
	// RecPrune is a Plumtree PRUNE (see Config.Plumtree): the sender asks
	// the receiver to stop pushing bodies over this link. Its body is empty.
	RecPrune uint8 = 0x06
	// RecAckRequest asks the receiver to acknowledge the tree messages of
	// this frame with a RecTreeAck (see Config.TreeAckTicks). Its body is
	// empty. A peer that does not know it skips it.
	RecAckRequest uint8 = 0x07
	// RecTreeAck acknowledges tree messages: one 8-byte big-endian AckHash
	// of each message's key.
	RecTreeAck uint8 = 0x08

	RecMembershipFirst uint8 = 0x40
	RecMembershipLast  uint8 = 0x7f
)

// Decoding errors. Every decoder in this package returns one of these
// (wrapped with context) on malformed input and never panics.
var (
	ErrVersion   = errors.New("grapevine/wire: unsupported frame version")
	ErrTruncated = wire.ErrTruncated
	ErrMalformed = wire.ErrMalformed
	ErrTooLarge  = wire.ErrTooLarge
)

// Limits bound what a decoder accepts. Every length read from the wire is
// checked against both these limits and the bytes actually remaining, so a
// decoder never allocates more than the frame it was given can justify.
type Limits struct {
	MaxFrameSize   int // whole frame, bytes
	MaxMessageSize int // one message's payload, bytes
	MaxRecords     int // records in one frame
	MaxIDLen       int // a node ID, bytes
	MaxTopicLen    int // a topic, bytes
	MaxAuthLen     int // a message's authenticator (signature), bytes
	// MaxKeys bounds the sequence numbers one frame may carry in total:
	// IHAVE and IWANT keys plus every digest entry's Above list. A key
	// costs as little as one byte on the wire and 24 decoded, so without it
	// a 4 MiB frame decoded to ~100 MB; with it a frame decodes to at most
	// 24·MaxKeys bytes of keys whatever its size.
	MaxKeys int
	// MaxDigestEntries bounds the origins in one digest, MaxDigestAbove
	// the Above list of one digest entry.
	MaxDigestEntries int
	MaxDigestAbove   int
}

// DefaultLimits are generous enough for every frame the engine builds with
// its default Config (1 MiB messages, as GossipSub's default) and tight
// enough that a hostile peer cannot make a decoder hold more than a few MiB.
func DefaultLimits() Limits {
	return Limits{
		MaxFrameSize:   4 << 20,
		MaxMessageSize: 1 << 20,
		MaxRecords:     4096,
		MaxIDLen:       128,
		MaxTopicLen:    256,
		MaxAuthLen:     256,
		// Room for a full default digest (MaxDigestOrigins 256 ×
		// MaxDigestAbove 1024); 6 MiB decoded at most.
		MaxKeys:          1 << 18,
		MaxDigestEntries: 4096,
		MaxDigestAbove:   4096,
	}
}

// Record is a record the core does not interpret, handed to other layers.
// Body aliases the decoded frame's buffer.
type Record struct {
	Type uint8
	Body []byte
}

// Frame is one decoded frame: everything one node sends another in one
// datagram or one length-delimited stream chunk.
type Frame struct {
	Messages []*Message
	Tree     []TreeMessage // messages sent along a tree push, with their arcs
	IHave    []MsgKey
	IWant    []MsgKey
	Digest   *Digest
	Prune    bool // a RecPrune record was present
	// AckRequest says a RecAckRequest record was present: the sender asks
	// for an acknowledgement of this frame's Tree messages.
	AckRequest bool
	// TreeAcks are the AckHash values of tree messages the sender
	// acknowledges (RecTreeAck).
	TreeAcks []uint64
	Records  []Record // records of types the core does not own
	// Size is the length of the encoded frame the slices above alias, set
	// by DecodeFrame (0 for a frame built in memory). With
	// Config.KeepFrames the engine copies a message out of a frame much
	// larger than it rather than let it pin the whole frame.
	Size int
}

// TreeMessage is a message received along a tree push: the receiver
// forwards it to the members it knows strictly inside the ring arc from its
// own position (RingPos) to End.
type TreeMessage struct {
	Msg *Message
	End uint64
}

// Digest summarises what a node holds, per origin: every sequence number up
// to Contiguous, plus the few listed in Above. It is the body of a pull
// request. Partial says the sender left some origins out for size.
type Digest struct {
	Partial bool
	Entries []DigestEntry
}

// DigestEntry is one origin's part of a Digest. Above is sorted ascending and
// every element is greater than Contiguous.
type DigestEntry struct {
	Origin     NodeID
	Contiguous uint64
	Above      []uint64
}

// AppendLengthPrefixed appends frame with a uvarint length prefix, the
// framing used on byte streams (libp2p streams, WebSocket, WebRTC channels).
func AppendLengthPrefixed(dst, frame []byte) []byte { return wire.AppendBytes(dst, frame) }

// ReadFrame reads one length-prefixed frame from r. A length above max is
// rejected before anything is allocated, and the stream is then unusable
// (the caller should reset it).
func ReadFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("reading frame length: %w", err)
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: frame of %d bytes > %d", ErrTooLarge, n, max)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading frame body: %w", err)
	}
	return buf, nil
}
