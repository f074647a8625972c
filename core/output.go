package core

// Output: every record the engine sends during one call (Publish, Step,
// Tick) is gathered into one frame per peer, charged to the peer's
// per-round byte budget, and sent by flush at the end of the call.

import (
	"cmp"
	"slices"
	"strings"
)

// outFrame is the frame being built for one peer during the current call.
type outFrame struct {
	to     NodeID
	buf    []byte
	ihave  []MsgKey
	iwant  []MsgKey
	digest []byte
	prune  bool     // Plumtree PRUNE for this link
	ackReq bool     // ask to acknowledge the tree bodies (treeack.go)
	acks   []uint64 // acknowledgements of tree bodies received (treeack.go)
	// origins of the bodies in buf, without repeats (for an OriginVoucher)
	origins []NodeID
}

// frameFor returns the frame being built for peer to during this call.
// Calls usually address a handful of peers, found by a linear scan; the map
// index is built only for calls that address many.
func (e *Engine) frameFor(to NodeID) *outFrame {
	if e.outFrameIdx != nil {
		if i, ok := e.outFrameIdx[to]; ok {
			return e.outFrames[i]
		}
	} else {
		for _, f := range e.outFrames {
			if f.to == to {
				return f
			}
		}
	}
	var f *outFrame
	if n := len(e.outFrames); n < cap(e.outFrames) && e.outFrames[:n+1][n] != nil {
		f = e.outFrames[:n+1][n] // reuse a frame struct from an earlier call
	} else {
		f = &outFrame{}
	}
	f.to, f.buf = to, e.newFrameBuf()
	e.outFrames = append(e.outFrames, f)
	if e.outFrameIdx != nil {
		e.outFrameIdx[to] = len(e.outFrames) - 1
	} else if len(e.outFrames) > 16 {
		e.outFrameIdx = make(map[NodeID]int, len(e.outFrames))
		for i, g := range e.outFrames {
			e.outFrameIdx[g.to] = i
		}
	}
	return f
}

// noteOrigin records the origin of a body added to f (frames carry a few
// bodies, mostly of one origin: a linear scan).
func (f *outFrame) noteOrigin(o NodeID) {
	if !slices.Contains(f.origins, o) {
		f.origins = append(f.origins, o)
	}
}

// newFrameBuf starts a frame: in a buffer from the Transport's
// FrameBuffers if it has them, with room for a small message, the frame's
// keys and a membership piggyback (a frame without a body, begun in a
// fresh 160-byte buffer and grown for the piggyback, was about 6 % of a
// group of 300's allocations after a crash: docs/benchmarks/ladder.md,
// session 34); else in a fresh one with room for a small message, so that
// most frames are built in one allocation.
func (e *Engine) newFrameBuf() []byte {
	if e.bufs != nil {
		return NewFrame(e.bufs.FrameBuffer(pooledFrameStart))
	}
	return NewFrame(make([]byte, 0, 160))
}

// pooledFrameStart is the capacity a frame starts with in a recycled
// buffer: a 256-byte message, a few keys and a 1,400-byte piggyback.
const pooledFrameStart = 2048

// chargePeer accounts n bytes to peer to's budget for this round.
func (e *Engine) chargePeer(to NodeID, n int) bool {
	if e.peerBytes == nil {
		e.peerBytes = make(map[NodeID]int)
	}
	if e.peerBytes[to]+n > e.cfg.MaxPeerBytesPerRound {
		e.stats.PeerBudgetDrops++
		return false
	}
	e.peerBytes[to] += n
	return true
}

// sendBody adds en's body to the frame for to, within the peer's budget,
// first sending the frame if the body would overflow MaxFrameSize.
func (e *Engine) sendBody(to NodeID, en *storeEntry) bool {
	if !e.chargePeer(to, en.size) {
		return false
	}
	f := e.frameFor(to)
	if len(f.buf)+en.size > e.cfg.MaxFrameSize && len(f.buf) > 1 {
		e.sendFrame(f)
		f.buf = e.newFrameBuf()
	}
	e.reserve(f, en.size)
	f.buf = AppendMessageRecord(f.buf, en.msg)
	f.noteOrigin(en.msg.Origin)
	e.markSent(to, en.msg.Key())
	e.stats.MessagesSent++
	e.stats.PayloadSent += uint64(len(en.msg.Payload))
	return true
}

// sendTreeBody sends en's body along a tree push with the receiver's arc.
func (e *Engine) sendTreeBody(to NodeID, en *storeEntry, end uint64) bool {
	size := treeRecordSize(encodedMessageSize(en.msg))
	if !e.chargePeer(to, size) {
		return false
	}
	f := e.frameFor(to)
	if len(f.buf)+size > e.cfg.MaxFrameSize && len(f.buf) > 1 {
		if f.ackReq {
			f.buf = AppendRecord(f.buf, RecAckRequest, nil)
			f.ackReq = false
		}
		e.sendFrame(f)
		f.buf = e.newFrameBuf()
	}
	e.reserve(f, size)
	f.buf = AppendTreeMessageRecord(f.buf, en.msg, end)
	f.noteOrigin(en.msg.Origin)
	e.markSent(to, en.msg.Key())
	e.stats.MessagesSent++
	e.stats.PayloadSent += uint64(len(en.msg.Payload))
	return true
}

// frameSlack is the room left in a recycled frame buffer beyond the body
// that called for it: enough for the frame's IHAVE keys and a typical
// membership piggyback without growing the buffer again.
const frameSlack = 512

// reserve makes room for n more bytes in f's buffer, taking a buffer from
// the Transport's FrameBuffers if it has them and the current one is too
// small (so the body is copied once, into memory the transport recycles).
func (e *Engine) reserve(f *outFrame, n int) {
	if e.bufs == nil || cap(f.buf)-len(f.buf) >= n {
		return
	}
	b := e.bufs.FrameBuffer(len(f.buf) + n + frameSlack)
	f.buf = append(b[:0], f.buf...)
}

// sortKeys sorts keys by origin, then sequence number.
func sortKeys(keys []MsgKey) {
	slices.SortFunc(keys, func(a, b MsgKey) int {
		return cmp.Or(strings.Compare(string(a.Origin), string(b.Origin)), cmp.Compare(a.Seq, b.Seq))
	})
}

// flush sends every frame built during the current call.
func (e *Engine) flush() {
	for _, f := range e.outFrames {
		if len(f.ihave) > 0 {
			sortKeys(f.ihave)
			f.buf = AppendKeysRecord(f.buf, RecIHave, slices.Compact(f.ihave))
		}
		if len(f.iwant) > 0 {
			sortKeys(f.iwant)
			f.buf = AppendKeysRecord(f.buf, RecIWant, slices.Compact(f.iwant))
		}
		if f.digest != nil {
			f.buf = AppendRecord(f.buf, RecDigest, f.digest)
		}
		if f.prune {
			f.buf = AppendRecord(f.buf, RecPrune, nil)
		}
		if f.ackReq {
			f.buf = AppendRecord(f.buf, RecAckRequest, nil)
		}
		if len(f.acks) > 0 {
			f.buf = AppendTreeAckRecord(f.buf, f.acks)
		}
		e.sendFrame(f)
		f.to, f.buf, f.digest, f.prune, f.ackReq = "", nil, nil, false, false
		f.ihave, f.iwant, f.acks = f.ihave[:0], f.iwant[:0], f.acks[:0]
	}
	e.outFrames = e.outFrames[:0] // the frame structs stay in the backing array for reuse
	e.outFrameIdx = nil
}

// sendFrame adds the Piggybacker's records to f (first what vouches for the
// origins of its bodies, if the Piggybacker is an OriginVoucher) and hands
// it to the Transport, unless it is empty. f's origins are spent.
func (e *Engine) sendFrame(f *outFrame) {
	buf := f.buf
	if e.cfg.Piggyback != nil {
		if v, ok := e.cfg.Piggyback.(OriginVoucher); ok && len(f.origins) > 0 {
			if room := e.cfg.MaxFrameSize - len(buf); room > 0 {
				buf = v.Vouch(f.to, f.origins, buf, room)
			}
		}
		if room := e.cfg.MaxFrameSize - len(buf); room > 0 {
			buf = e.cfg.Piggyback.Piggyback(f.to, buf, room)
		}
	}
	clear(f.origins)
	f.origins = f.origins[:0]
	if len(buf) <= 1 {
		return
	}
	e.stats.FramesSent++
	e.stats.BytesSent += uint64(len(buf))
	e.cfg.Transport.Send(f.to, buf)
}
