package core

// Decoding of frames and records (format in wire.go, encoding in
// wire_encode.go): Reader and the record decoders, which never panic.

import (
	"encoding/binary"
	"fmt"
	"math"
)

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
	f := &Frame{Size: len(b)}
	records := 0
	keyBudget := lim.MaxKeys // sequence numbers left for this frame
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
			keys, err := decodeKeys(body, lim, &keyBudget)
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
			d, err := decodeDigest(body, lim, &keyBudget)
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

// decodeKeys decodes an IHAVE or IWANT body, taking each key from *budget
// (the frame's Limits.MaxKeys) before allocating for it.
func decodeKeys(body []byte, lim Limits, budget *int) ([]MsgKey, error) {
	r := &Reader{b: body}
	groups := r.Count(lim.MaxRecords, minGroupBytes, "key group")
	var keys []MsgKey
	for g := 0; g < groups && r.err == nil; g++ {
		origin := r.ID(lim.MaxIDLen)
		n := r.Count(math.MaxInt32, minKeyBytes, "key")
		if r.err != nil {
			break
		}
		if n > *budget {
			r.Fail(fmt.Errorf("%w: more than %d keys in a frame", ErrTooLarge, lim.MaxKeys))
			break
		}
		*budget -= n
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

// decodeDigest decodes a digest body, at most Limits.MaxDigestEntries
// entries of at most Limits.MaxDigestAbove numbers each, taking each number
// from *budget (the frame's Limits.MaxKeys) before allocating for it.
func decodeDigest(body []byte, lim Limits, budget *int) (*Digest, error) {
	r := &Reader{b: body}
	flags := r.Byte()
	if r.err == nil && flags&^1 != 0 {
		r.Fail(fmt.Errorf("%w: unknown digest flags %#x", ErrMalformed, flags))
	}
	d := &Digest{Partial: flags&1 != 0}
	n := r.Count(lim.MaxDigestEntries, minGroupBytes, "digest entry")
	if r.err == nil && n > 0 {
		d.Entries = make([]DigestEntry, 0, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		e := DigestEntry{}
		e.Origin = r.ID(lim.MaxIDLen)
		e.Contiguous = r.Uvarint()
		k := r.Count(lim.MaxDigestAbove, 1, "digest seq")
		if r.err != nil {
			break
		}
		if k > *budget {
			r.Fail(fmt.Errorf("%w: more than %d sequence numbers in a frame", ErrTooLarge, lim.MaxKeys))
			break
		}
		*budget -= k
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
