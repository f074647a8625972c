package p2p

import (
	"math/bits"
	"sync"
)

// Outgoing frame buffers are recycled: the engine builds each frame that
// carries a message body in a buffer from frameBuffer (core.FrameBuffers),
// hands it over in Send, and the writer returns it here once written
// (io.Writer implementations, libp2p streams included, do not keep what
// they are given). At 16 KiB per body and several bodies sent per message,
// these were the largest share of a peer's allocations, and with them of
// the collector's work. Frames without a body (announcements, membership
// updates: each a fresh buffer, and together about a tenth of a group of
// 300's allocations after a crash, docs/benchmarks/ladder.md, session 34)
// are built in them too. Buffers are pooled in power-of-two classes from
// 2 KiB to 4 MiB; a pool empties itself over two collections when unused.
const (
	minBufShift = 11
	maxBufShift = 22
)

var framePools [maxBufShift - minBufShift + 1]sync.Pool

// frameBuffer returns a buffer of length 0 and capacity at least n.
func frameBuffer(n int) []byte {
	if n > 1<<maxBufShift {
		return make([]byte, 0, n)
	}
	c := max(bits.Len(uint(max(n, 1)-1)), minBufShift) - minBufShift
	if b, ok := framePools[c].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, 1<<(c+minBufShift))
}

// recycleFrame takes back a written frame whose capacity is one of the
// classes (any frame handed to Send belongs to the transport, so it may
// be reused whatever its origin).
func recycleFrame(b []byte) {
	c := cap(b)
	if c < 1<<minBufShift || c > 1<<maxBufShift || c&(c-1) != 0 {
		return
	}
	b = b[:0]
	framePools[bits.Len(uint(c))-1-minBufShift].Put(&b)
}

// recycleFrames takes back frames that were handed to Send, written or
// dropped (a dropped frame is the transport's as much as a written one:
// frames to a crashed member, dropped for want of a stream, were most of
// the pools' misses at N = 300 after a crash; docs/benchmarks/ladder.md,
// session 34), and clears frames.
func recycleFrames(frames [][]byte) {
	for _, f := range frames {
		recycleFrame(f)
	}
	clear(frames)
}

func appendUvarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func uvarintSize(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
