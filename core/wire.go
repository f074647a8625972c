package core

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
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

	RecMembershipFirst uint8 = 0x40
	RecMembershipLast  uint8 = 0x7f
)

// Decoding errors. Every decoder in this package returns one of these
// (wrapped with context) on malformed input and never panics.
var (
	ErrVersion   = errors.New("grapevine/wire: unsupported frame version")
	ErrTruncated = errors.New("grapevine/wire: truncated input")
	ErrMalformed = errors.New("grapevine/wire: malformed input")
	ErrTooLarge  = errors.New("grapevine/wire: size limit exceeded")
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
	Records  []Record // records of types the core does not own
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

// ---- encoding ----

// AppendUvarint appends v as an unsigned varint.
func AppendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

// AppendBytes appends b with a uvarint length prefix.
func AppendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// AppendString appends s with a uvarint length prefix.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// NewFrame starts a frame: it appends the version byte to dst.
func NewFrame(dst []byte) []byte { return append(dst, WireVersion) }

// AppendRecord appends one record (type, length, body) to a frame.
func AppendRecord(dst []byte, typ uint8, body []byte) []byte {
	dst = append(dst, typ)
	return AppendBytes(dst, body)
}

// RecordOverhead is the number of bytes a record of bodyLen bytes adds to a
// frame beyond its body.
func RecordOverhead(bodyLen int) int {
	return 1 + uvarintLen(uint64(bodyLen))
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendMessageBody(dst []byte, m *Message) []byte {
	dst = AppendString(dst, string(m.Origin))
	dst = binary.AppendUvarint(dst, m.Seq)
	dst = AppendString(dst, m.Topic)
	dst = append(dst, m.Priority)
	dst = binary.AppendVarint(dst, m.Timestamp)
	dst = AppendBytes(dst, m.Payload)
	dst = AppendBytes(dst, m.Auth)
	return dst
}

// encodedMessageSize is the exact size of a message record body.
func encodedMessageSize(m *Message) int {
	return uvarintLen(uint64(len(m.Origin))) + len(m.Origin) +
		uvarintLen(m.Seq) +
		uvarintLen(uint64(len(m.Topic))) + len(m.Topic) +
		1 + varintLen(m.Timestamp) +
		uvarintLen(uint64(len(m.Payload))) + len(m.Payload) +
		uvarintLen(uint64(len(m.Auth))) + len(m.Auth)
}

func varintLen(v int64) int {
	ux := uint64(v) << 1
	if v < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}

// AppendMessageRecord appends a full message record to a frame.
func AppendMessageRecord(dst []byte, m *Message) []byte {
	dst = append(dst, RecMessage)
	dst = binary.AppendUvarint(dst, uint64(encodedMessageSize(m)))
	return appendMessageBody(dst, m)
}

// AppendTreeMessageRecord appends a message sent along a tree push, with the
// end of the receiver's arc.
func AppendTreeMessageRecord(dst []byte, m *Message, end uint64) []byte {
	dst = append(dst, RecTreeMessage)
	dst = binary.AppendUvarint(dst, uint64(8+encodedMessageSize(m)))
	dst = binary.BigEndian.AppendUint64(dst, end)
	return appendMessageBody(dst, m)
}

// treeRecordSize is the size of a tree message record whose message body
// takes n bytes.
func treeRecordSize(n int) int { return 1 + uvarintLen(uint64(8+n)) + 8 + n }

// appendKeys encodes a list of keys grouped by origin: uvarint(groups), then
// per group origin, uvarint(count), and the sequence numbers delta-encoded.
// Keys must be grouped by origin and ascending within a group for the delta
// encoding to be compact; any order is still encoded correctly.
func appendKeys(dst []byte, keys []MsgKey) []byte {
	groups := 0
	for i := range keys {
		if i == 0 || keys[i].Origin != keys[i-1].Origin {
			groups++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(groups))
	for i := 0; i < len(keys); {
		j := i
		for j < len(keys) && keys[j].Origin == keys[i].Origin {
			j++
		}
		dst = AppendString(dst, string(keys[i].Origin))
		dst = binary.AppendUvarint(dst, uint64(j-i))
		var prev uint64
		for k := i; k < j; k++ {
			dst = binary.AppendVarint(dst, int64(keys[k].Seq-prev))
			prev = keys[k].Seq
		}
		i = j
	}
	return dst
}

// AppendKeysRecord appends an IHAVE or IWANT record.
func AppendKeysRecord(dst []byte, typ uint8, keys []MsgKey) []byte {
	return AppendRecord(dst, typ, appendKeys(nil, keys))
}

func appendDigestBody(dst []byte, d *Digest) []byte {
	var flags byte
	if d.Partial {
		flags |= 1
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(d.Entries)))
	for i := range d.Entries {
		e := &d.Entries[i]
		dst = AppendString(dst, string(e.Origin))
		dst = binary.AppendUvarint(dst, e.Contiguous)
		dst = binary.AppendUvarint(dst, uint64(len(e.Above)))
		prev := e.Contiguous
		for _, s := range e.Above {
			dst = binary.AppendUvarint(dst, s-prev)
			prev = s
		}
	}
	return dst
}

// AppendDigestRecord appends a pull request record.
func AppendDigestRecord(dst []byte, d *Digest) []byte {
	return AppendRecord(dst, RecDigest, appendDigestBody(nil, d))
}

// EncodeFrame encodes f as a complete frame.
func EncodeFrame(f *Frame) []byte {
	b := NewFrame(nil)
	for _, m := range f.Messages {
		b = AppendMessageRecord(b, m)
	}
	for _, t := range f.Tree {
		b = AppendTreeMessageRecord(b, t.Msg, t.End)
	}
	if len(f.IHave) > 0 {
		b = AppendKeysRecord(b, RecIHave, f.IHave)
	}
	if len(f.IWant) > 0 {
		b = AppendKeysRecord(b, RecIWant, f.IWant)
	}
	if f.Digest != nil {
		b = AppendDigestRecord(b, f.Digest)
	}
	for _, r := range f.Records {
		b = AppendRecord(b, r.Type, r.Body)
	}
	return b
}

// ---- decoding ----

// Reader reads the primitive encodings of this package from a byte slice.
// The first error sticks: later reads return zero values, and Err reports
// it. Other layers (membership) decode their record bodies with it.
type Reader struct {
	b   []byte
	err error
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err is the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Len is the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) }

// Fail records err (if no error is recorded yet).
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.err = ErrTruncated
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	return r.advance(n, v)
}

// Varint reads a signed (zig-zag) varint.
func (r *Reader) Varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	return int64(r.advance(n, uint64(v)))
}

// advance consumes a varint of n bytes (n as encoding/binary reports it:
// 0 for a short buffer, negative for an overflow) and returns v, or records
// the error and returns 0.
func (r *Reader) advance(n int, v uint64) uint64 {
	switch {
	case n == 0:
		r.err = ErrTruncated
		return 0
	case n < 0:
		r.err = fmt.Errorf("%w: varint overflows 64 bits", ErrMalformed)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Count reads a uvarint element count and checks it against max and against
// the unread bytes, given that each element takes at least minSize bytes.
func (r *Reader) Count(max, minSize int, what string) int {
	v := r.Uvarint()
	if r.err != nil {
		return 0
	}
	if v > uint64(max) {
		r.err = fmt.Errorf("%w: %s count %d > %d", ErrTooLarge, what, v, max)
		return 0
	}
	if minSize > 0 && v > uint64(len(r.b)/minSize) {
		r.err = fmt.Errorf("%w: %s count %d exceeds remaining input", ErrTruncated, what, v)
		return 0
	}
	return int(v)
}

// Bytes reads a length-prefixed byte string of at most max bytes. The result
// aliases the input.
func (r *Reader) Bytes(max int, what string) []byte {
	n := r.Uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(max) {
		r.err = fmt.Errorf("%w: %s of %d bytes > %d", ErrTooLarge, what, n, max)
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w in %s", ErrTruncated, what)
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

// String reads a length-prefixed string of at most max bytes.
func (r *Reader) String(max int, what string) string {
	return string(r.Bytes(max, what))
}

// ID reads a length-prefixed, non-empty node ID.
func (r *Reader) ID(max int) NodeID {
	b := r.Bytes(max, "node id")
	if r.err == nil && len(b) == 0 {
		r.err = fmt.Errorf("%w: empty node id", ErrMalformed)
	}
	return NodeID(b)
}

// Rest returns the unread bytes and consumes them.
func (r *Reader) Rest() []byte {
	b := r.b
	r.b = nil
	return b
}

// End fails with ErrMalformed if bytes remain unread.
func (r *Reader) End(what string) {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes in %s", ErrMalformed, len(r.b), what)
	}
}

// DecodeFrame decodes one frame. It returns an error, never panics, on any
// input, and the result's byte slices alias b (copy what must outlive b).
func DecodeFrame(b []byte, lim Limits) (*Frame, error) {
	if len(b) > lim.MaxFrameSize {
		return nil, fmt.Errorf("%w: frame of %d bytes > %d", ErrTooLarge, len(b), lim.MaxFrameSize)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty frame", ErrTruncated)
	}
	if b[0] != WireVersion {
		return nil, fmt.Errorf("%w: %d (this peer speaks %d)", ErrVersion, b[0], WireVersion)
	}
	r := &Reader{b: b[1:]}
	f := &Frame{}
	records := 0
	for r.Len() > 0 && r.err == nil {
		records++
		if records > lim.MaxRecords {
			return nil, fmt.Errorf("%w: more than %d records", ErrTooLarge, lim.MaxRecords)
		}
		typ := r.Byte()
		body := r.Bytes(lim.MaxFrameSize, "record")
		if r.err != nil {
			break
		}
		switch typ {
		case RecMessage:
			m, err := decodeMessage(body, lim)
			if err != nil {
				return nil, err
			}
			f.Messages = append(f.Messages, m)
		case RecTreeMessage:
			if len(body) < 8 {
				return nil, fmt.Errorf("decoding tree message: %w", ErrTruncated)
			}
			m, err := decodeMessage(body[8:], lim)
			if err != nil {
				return nil, err
			}
			f.Tree = append(f.Tree, TreeMessage{Msg: m, End: binary.BigEndian.Uint64(body)})
		case RecIHave, RecIWant:
			keys, err := decodeKeys(body, lim)
			if err != nil {
				return nil, err
			}
			if typ == RecIHave {
				f.IHave = append(f.IHave, keys...)
			} else {
				f.IWant = append(f.IWant, keys...)
			}
		case RecDigest:
			if f.Digest != nil {
				return nil, fmt.Errorf("%w: two digests in one frame", ErrMalformed)
			}
			d, err := decodeDigest(body, lim)
			if err != nil {
				return nil, err
			}
			f.Digest = d
		default:
			if typ == 0 {
				return nil, fmt.Errorf("%w: record type 0", ErrMalformed)
			}
			f.Records = append(f.Records, Record{Type: typ, Body: body})
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("decoding frame: %w", r.err)
	}
	return f, nil
}

func decodeMessage(body []byte, lim Limits) (*Message, error) {
	r := &Reader{b: body}
	m := &Message{}
	m.Origin = r.ID(lim.MaxIDLen)
	m.Seq = r.Uvarint()
	m.Topic = r.String(lim.MaxTopicLen, "topic")
	m.Priority = r.Byte()
	m.Timestamp = r.Varint()
	// Payload and Auth alias the frame with their capacity capped, so an
	// append to one can never overwrite what follows it in the frame.
	if p := r.Bytes(lim.MaxMessageSize, "payload"); p != nil {
		m.Payload = p[:len(p):len(p)]
	}
	if a := r.Bytes(lim.MaxAuthLen, "authenticator"); len(a) > 0 {
		m.Auth = a[:len(a):len(a)]
	}
	r.End("message")
	if r.err == nil && m.Seq == 0 {
		r.err = fmt.Errorf("%w: sequence number 0", ErrMalformed)
	}
	if r.err != nil {
		return nil, fmt.Errorf("decoding message: %w", r.err)
	}
	return m, nil
}

// minKeyBytes is the smallest encoding of one key inside a group (a 1-byte
// delta); minGroupBytes of a group (1-byte ID length, 1-byte ID, 1-byte count).
const (
	minKeyBytes   = 1
	minGroupBytes = 3
)

func decodeKeys(body []byte, lim Limits) ([]MsgKey, error) {
	r := &Reader{b: body}
	groups := r.Count(lim.MaxRecords, minGroupBytes, "key group")
	var keys []MsgKey
	for g := 0; g < groups && r.err == nil; g++ {
		origin := r.ID(lim.MaxIDLen)
		n := r.Count(math.MaxInt32, minKeyBytes, "key")
		if r.err != nil {
			break
		}
		if keys == nil {
			keys = make([]MsgKey, 0, n)
		}
		var prev uint64
		for k := 0; k < n && r.err == nil; k++ {
			seq := prev + uint64(r.Varint())
			if r.err == nil && seq == 0 {
				r.Fail(fmt.Errorf("%w: sequence number 0", ErrMalformed))
			}
			keys = append(keys, MsgKey{Origin: origin, Seq: seq})
			prev = seq
		}
	}
	r.End("key list")
	if r.err != nil {
		return nil, fmt.Errorf("decoding key list: %w", r.err)
	}
	return keys, nil
}

func decodeDigest(body []byte, lim Limits) (*Digest, error) {
	r := &Reader{b: body}
	flags := r.Byte()
	if r.err == nil && flags&^1 != 0 {
		r.Fail(fmt.Errorf("%w: unknown digest flags %#x", ErrMalformed, flags))
	}
	d := &Digest{Partial: flags&1 != 0}
	n := r.Count(lim.MaxRecords, minGroupBytes, "digest entry")
	if r.err == nil && n > 0 {
		d.Entries = make([]DigestEntry, 0, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		e := DigestEntry{}
		e.Origin = r.ID(lim.MaxIDLen)
		e.Contiguous = r.Uvarint()
		k := r.Count(math.MaxInt32, 1, "digest seq")
		if r.err != nil {
			break
		}
		if k > 0 {
			e.Above = make([]uint64, 0, k)
		}
		prev := e.Contiguous
		for j := 0; j < k && r.err == nil; j++ {
			delta := r.Uvarint()
			if r.err == nil && (delta == 0 || prev+delta < prev) {
				r.Fail(fmt.Errorf("%w: digest sequence numbers not ascending", ErrMalformed))
			}
			prev += delta
			e.Above = append(e.Above, prev)
		}
		d.Entries = append(d.Entries, e)
	}
	r.End("digest")
	if r.err != nil {
		return nil, fmt.Errorf("decoding digest: %w", r.err)
	}
	return d, nil
}

// ---- stream framing ----

// AppendLengthPrefixed appends frame with a uvarint length prefix, the
// framing used on byte streams (libp2p streams, WebSocket, WebRTC channels).
func AppendLengthPrefixed(dst, frame []byte) []byte { return AppendBytes(dst, frame) }

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
