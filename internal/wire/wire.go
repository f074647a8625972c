// Package wire holds the primitive encodings the engines' wire formats are
// built from (uvarints, length-prefixed byte strings, a Reader whose first
// error sticks) and the decoding errors they return. It is internal: the
// public format is core's frames and records; core re-exports the errors.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Decoding errors, returned wrapped with context; core.ErrTruncated,
// core.ErrMalformed and core.ErrTooLarge are the same values.
var (
	ErrTruncated = errors.New("grapevine/wire: truncated input")
	ErrMalformed = errors.New("grapevine/wire: malformed input")
	ErrTooLarge  = errors.New("grapevine/wire: size limit exceeded")
)

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

// Reader reads the primitive encodings of this package from a byte slice.
// The first error sticks: later reads return zero values, and Err reports
// it. The engines (core, membership) decode their record bodies with it.
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
func (r *Reader) ID(max int) string {
	return string(r.IDBytes(max))
}

// IDBytes is ID without the copy: the result aliases the input.
func (r *Reader) IDBytes(max int) []byte {
	b := r.Bytes(max, "node id")
	if r.err == nil && len(b) == 0 {
		r.err = fmt.Errorf("%w: empty node id", ErrMalformed)
	}
	return b
}

// Fixed reads exactly len(dst) bytes into dst (no length prefix).
func (r *Reader) Fixed(dst []byte, what string) {
	if r.err != nil {
		return
	}
	if len(r.b) < len(dst) {
		r.err = fmt.Errorf("%w in %s", ErrTruncated, what)
		return
	}
	r.b = r.b[copy(dst, r.b):]
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
