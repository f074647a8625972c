package core

// Decoding of frames and records (format in wire.go, encoding in
// wire_encode.go): Reader and the record decoders, which never panic.

import (
	"encoding/binary"
	"fmt"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"math"
	"slices"
)

// DecodeFrame decodes one frame. It returns an error, never panics, on any
// input, and the result's byte slices alias b (copy what must outlive b).
func DecodeFrame(b []byte, lim Limits) (*Frame, error) {
	f := &Frame{}
	if err := DecodeFrameInto(f, b, lim); err != nil {
		return nil, err
	}
	return f, nil
}

// maxReusedEntries bounds the capacity of a slice that DecodeFrameInto
// keeps from one frame to the next: a frame of many keys (up to
// Limits.MaxKeys) leaves no large array behind in every peer.
const maxReusedEntries = 256

// DecodeFrameInto is DecodeFrame into f, whose slices it empties and reuses
// (a caller that decodes one frame at a time, as grapevine.Node does,
// allocates a Frame and its slices once rather than for each frame: these
// were 6 % of a group of 300's allocations after a crash,
// docs/benchmarks/ladder.md, session 34). What the previous frame's slices
// held is overwritten, so nothing may keep them; the engine and the
// membership layers keep only the messages and records' bytes, not the
// slices. On an error f holds a part of the frame.
func DecodeFrameInto(f *Frame, b []byte, lim Limits) error {
	*f = Frame{
		Messages: reuse(f.Messages),
		Tree:     reuse(f.Tree),
		IHave:    reuse(f.IHave),
		IWant:    reuse(f.IWant),
		TreeAcks: reuse(f.TreeAcks),
		Records:  reuse(f.Records),
	}
	if len(b) > lim.MaxFrameSize {
		return fmt.Errorf("%w: frame of %d bytes > %d", ErrTooLarge, len(b), lim.MaxFrameSize)
	}
	if len(b) == 0 {
		return fmt.Errorf("%w: empty frame", ErrTruncated)
	}
	if b[0] != WireVersion {
		return fmt.Errorf("%w: %d (this peer speaks %d)", ErrVersion, b[0], WireVersion)
	}
	f.Size = len(b)
	return decodeRecords(f, b, lim)
}

// reuse empties s for the next frame: cleared (so it pins no message or
// frame), its array kept unless it grew past maxReusedEntries.
func reuse[S ~[]E, E any](s S) S {
	if cap(s) > maxReusedEntries {
		return nil
	}
	clear(s)
	return s[:0]
}

func decodeRecords(f *Frame, b []byte, lim Limits) error {
	r := wire.NewReader(b[1:])
	records := 0
	keyBudget := lim.MaxKeys // sequence numbers left for this frame
	for r.Len() > 0 && r.Err() == nil {
		records++
		if records > lim.MaxRecords {
			return fmt.Errorf("%w: more than %d records", ErrTooLarge, lim.MaxRecords)
		}
		typ := r.Byte()
		body := r.Bytes(lim.MaxFrameSize, "record")
		if r.Err() != nil {
			break
		}
		switch typ {
		case RecMessage:
			m, err := decodeMessage(body, lim)
			if err != nil {
				return err
			}
			f.Messages = append(f.Messages, m)
		case RecTreeMessage:
			if len(body) < 8 {
				return fmt.Errorf("decoding tree message: %w", ErrTruncated)
			}
			m, err := decodeMessage(body[8:], lim)
			if err != nil {
				return err
			}
			f.Tree = append(f.Tree, TreeMessage{Msg: m, End: binary.BigEndian.Uint64(body)})
		case RecIHave, RecIWant:
			var err error
			if typ == RecIHave {
				f.IHave, err = decodeKeys(f.IHave, body, lim, &keyBudget)
			} else {
				f.IWant, err = decodeKeys(f.IWant, body, lim, &keyBudget)
			}
			if err != nil {
				return err
			}
		case RecPrune:
			if len(body) != 0 {
				return fmt.Errorf("%w: prune record with a body", ErrMalformed)
			}
			if f.Prune {
				return fmt.Errorf("%w: two prunes in one frame", ErrMalformed)
			}
			f.Prune = true
		case RecAckRequest:
			if len(body) != 0 {
				return fmt.Errorf("%w: ack request with a body", ErrMalformed)
			}
			if f.AckRequest {
				return fmt.Errorf("%w: two ack requests in one frame", ErrMalformed)
			}
			f.AckRequest = true
		case RecTreeAck:
			n := len(body) / 8
			if len(body) == 0 || len(body)%8 != 0 {
				return fmt.Errorf("%w: tree ack of %d bytes", ErrMalformed, len(body))
			}
			if n > keyBudget {
				return fmt.Errorf("%w: more than %d keys in a frame", ErrTooLarge, lim.MaxKeys)
			}
			keyBudget -= n
			for i := 0; i < n; i++ {
				f.TreeAcks = append(f.TreeAcks, binary.BigEndian.Uint64(body[8*i:]))
			}
		case RecDigest:
			if f.Digest != nil {
				return fmt.Errorf("%w: two digests in one frame", ErrMalformed)
			}
			d, err := decodeDigest(body, lim, &keyBudget)
			if err != nil {
				return err
			}
			f.Digest = d
		default:
			if typ == 0 {
				return fmt.Errorf("%w: record type 0", ErrMalformed)
			}
			f.Records = append(f.Records, Record{Type: typ, Body: body})
		}
	}
	if r.Err() != nil {
		return fmt.Errorf("decoding frame: %w", r.Err())
	}
	return nil
}

func decodeMessage(body []byte, lim Limits) (*Message, error) {
	r := wire.NewReader(body)
	m := &Message{}
	m.Origin = NodeID(r.ID(lim.MaxIDLen))
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
	if r.Err() == nil && r.Len() > 0 {
		// The flag byte is written only when non-zero: a zero byte or an
		// unknown flag would give one message two encodings.
		switch f := r.Byte(); {
		case f == 0 || f&^msgFlagsKnown != 0:
			r.Fail(fmt.Errorf("%w: message flags %#x", ErrMalformed, f))
		default:
			m.First = f&msgFlagFirst != 0
		}
	}
	r.End("message")
	if r.Err() == nil && m.Seq == 0 {
		r.Fail(fmt.Errorf("%w: sequence number 0", ErrMalformed))
	}
	if r.Err() != nil {
		return nil, fmt.Errorf("decoding message: %w", r.Err())
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
// decodeKeys appends the keys of a key list to keys.
func decodeKeys(keys []MsgKey, body []byte, lim Limits, budget *int) ([]MsgKey, error) {
	r := wire.NewReader(body)
	groups := r.Count(lim.MaxRecords, minGroupBytes, "key group")
	for g := 0; g < groups && r.Err() == nil; g++ {
		origin := NodeID(r.ID(lim.MaxIDLen))
		n := r.Count(math.MaxInt32, minKeyBytes, "key")
		if r.Err() != nil {
			break
		}
		if n > *budget {
			r.Fail(fmt.Errorf("%w: more than %d keys in a frame", ErrTooLarge, lim.MaxKeys))
			break
		}
		*budget -= n
		keys = slices.Grow(keys, n)
		var prev uint64
		for k := 0; k < n && r.Err() == nil; k++ {
			seq := prev + uint64(r.Varint())
			if r.Err() == nil && seq == 0 {
				r.Fail(fmt.Errorf("%w: sequence number 0", ErrMalformed))
			}
			keys = append(keys, MsgKey{Origin: origin, Seq: seq})
			prev = seq
		}
	}
	r.End("key list")
	if r.Err() != nil {
		return keys, fmt.Errorf("decoding key list: %w", r.Err())
	}
	return keys, nil
}

// decodeDigest decodes a digest body, at most Limits.MaxDigestEntries
// entries of at most Limits.MaxDigestAbove numbers each, taking each number
// from *budget (the frame's Limits.MaxKeys) before allocating for it.
func decodeDigest(body []byte, lim Limits, budget *int) (*Digest, error) {
	r := wire.NewReader(body)
	flags := r.Byte()
	if r.Err() == nil && flags&^1 != 0 {
		r.Fail(fmt.Errorf("%w: unknown digest flags %#x", ErrMalformed, flags))
	}
	d := &Digest{Partial: flags&1 != 0}
	n := r.Count(lim.MaxDigestEntries, minGroupBytes, "digest entry")
	if r.Err() == nil && n > 0 {
		d.Entries = make([]DigestEntry, 0, n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		e := DigestEntry{}
		e.Origin = NodeID(r.ID(lim.MaxIDLen))
		e.Contiguous = r.Uvarint()
		k := r.Count(lim.MaxDigestAbove, 1, "digest seq")
		if r.Err() != nil {
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
		for j := 0; j < k && r.Err() == nil; j++ {
			delta := r.Uvarint()
			if r.Err() == nil && (delta == 0 || prev+delta < prev) {
				r.Fail(fmt.Errorf("%w: digest sequence numbers not ascending", ErrMalformed))
			}
			prev += delta
			e.Above = append(e.Above, prev)
		}
		d.Entries = append(d.Entries, e)
	}
	r.End("digest")
	if r.Err() != nil {
		return nil, fmt.Errorf("decoding digest: %w", r.Err())
	}
	return d, nil
}
