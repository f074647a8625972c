package core

// Encoding of frames and records (format in wire.go, decoding in
// wire_decode.go).

import (
	"encoding/binary"
	"github.com/grapevine-p2p/grapevine/internal/wire"
)

// NewFrame starts a frame: it appends the version byte to dst.
func NewFrame(dst []byte) []byte { return append(dst, WireVersion) }

// AppendRecord appends one record (type, length, body) to a frame.
func AppendRecord(dst []byte, typ uint8, body []byte) []byte {
	dst = append(dst, typ)
	return wire.AppendBytes(dst, body)
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
	dst = wire.AppendString(dst, string(m.Origin))
	dst = binary.AppendUvarint(dst, m.Seq)
	dst = wire.AppendString(dst, m.Topic)
	dst = append(dst, m.Priority)
	dst = binary.AppendVarint(dst, m.Timestamp)
	dst = wire.AppendBytes(dst, m.Payload)
	dst = wire.AppendBytes(dst, m.Auth)
	if f := m.flags(); f != 0 {
		dst = append(dst, f)
	}
	return dst
}

// encodedMessageSize is the exact size of a message record body.
func encodedMessageSize(m *Message) int {
	return uvarintLen(uint64(len(m.Origin))) + len(m.Origin) +
		uvarintLen(m.Seq) +
		uvarintLen(uint64(len(m.Topic))) + len(m.Topic) +
		1 + varintLen(m.Timestamp) +
		uvarintLen(uint64(len(m.Payload))) + len(m.Payload) +
		uvarintLen(uint64(len(m.Auth))) + len(m.Auth) +
		flagsLen(m)
}

// flagsLen is the size of m's optional flag byte on the wire.
func flagsLen(m *Message) int {
	if m.flags() != 0 {
		return 1
	}
	return 0
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
		dst = wire.AppendString(dst, string(keys[i].Origin))
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
		dst = wire.AppendString(dst, string(e.Origin))
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
	if f.Prune {
		b = AppendRecord(b, RecPrune, nil)
	}
	if f.AckRequest {
		b = AppendRecord(b, RecAckRequest, nil)
	}
	if len(f.TreeAcks) > 0 {
		b = AppendTreeAckRecord(b, f.TreeAcks)
	}
	for _, r := range f.Records {
		b = AppendRecord(b, r.Type, r.Body)
	}
	return b
}

// AppendTreeAckRecord appends a RecTreeAck of the given AckHash values.
func AppendTreeAckRecord(dst []byte, acks []uint64) []byte {
	dst = append(dst, RecTreeAck)
	dst = binary.AppendUvarint(dst, uint64(8*len(acks)))
	for _, h := range acks {
		dst = binary.BigEndian.AppendUint64(dst, h)
	}
	return dst
}
