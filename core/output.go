package core

import (
	"cmp"
	"slices"
	"strings"
)

type outFrame struct {
	to     NodeID
	buf    []byte
	ihave  []MsgKey
	iwant  []MsgKey
	digest []byte
}

// frameFor returns the frame being built for peer to during this call.
// Calls usually address a handful of peers, found by a linear scan; the map
// index is built only for calls that address many.
func (e *Engine) frameFor(to NodeID) *outFrame {
	if e.outIdx != nil {
		if i, ok := e.outIdx[to]; ok {
			return e.out[i]
		}
	} else {
		for _, f := range e.out {
			if f.to == to {
				return f
			}
		}
	}
	var f *outFrame
	if n := len(e.out); n < cap(e.out) && e.out[:n+1][n] != nil {
		f = e.out[:n+1][n] // reuse a frame struct from an earlier call
	} else {
		f = &outFrame{}
	}
	f.to, f.buf = to, newFrameBuf()
	e.out = append(e.out, f)
	if e.outIdx != nil {
		e.outIdx[to] = len(e.out) - 1
	} else if len(e.out) > 16 {
		e.outIdx = make(map[NodeID]int, len(e.out))
		for i, g := range e.out {
			e.outIdx[g.to] = i
		}
	}
	return f
}

// newFrameBuf starts a frame with room for a small message, so that most
// frames are built in one allocation.
func newFrameBuf() []byte { return NewFrame(make([]byte, 0, 160)) }

// charge accounts n bytes to peer to's budget for this round.
func (e *Engine) charge(to NodeID, n int) bool {
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

func (e *Engine) sendBody(to NodeID, en *entry) bool {
	if !e.charge(to, en.size) {
		return false
	}
	f := e.frameFor(to)
	if len(f.buf)+en.size > e.cfg.MaxFrameSize && len(f.buf) > 1 {
		e.sendFrame(f)
		f.buf = newFrameBuf()
	}
	e.reserve(f, en.size)
	f.buf = AppendMessageRecord(f.buf, en.msg)
	e.stats.MessagesSent++
	e.stats.PayloadSent += uint64(len(en.msg.Payload))
	return true
}

// sendTreeBody sends en's body along a tree push with the receiver's arc.
func (e *Engine) sendTreeBody(to NodeID, en *entry, end uint64) bool {
	size := treeRecordSize(encodedMessageSize(en.msg))
	if !e.charge(to, size) {
		return false
	}
	f := e.frameFor(to)
	if len(f.buf)+size > e.cfg.MaxFrameSize && len(f.buf) > 1 {
		e.sendFrame(f)
		f.buf = newFrameBuf()
	}
	e.reserve(f, size)
	f.buf = AppendTreeMessageRecord(f.buf, en.msg, end)
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

func sortKeys(keys []MsgKey) {
	slices.SortFunc(keys, func(a, b MsgKey) int {
		return cmp.Or(strings.Compare(string(a.Origin), string(b.Origin)), cmp.Compare(a.Seq, b.Seq))
	})
}

// flush sends every frame built during the current call.
func (e *Engine) flush() {
	for _, f := range e.out {
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
		e.sendFrame(f)
		f.to, f.buf, f.digest = "", nil, nil
		f.ihave, f.iwant = f.ihave[:0], f.iwant[:0]
	}
	e.out = e.out[:0] // the frame structs stay in the backing array for reuse
	e.outIdx = nil
}

func (e *Engine) sendFrame(f *outFrame) {
	buf := f.buf
	if e.cfg.Piggyback != nil {
		if room := e.cfg.MaxFrameSize - len(buf); room > 0 {
			buf = e.cfg.Piggyback.Piggyback(f.to, buf, room)
		}
	}
	if len(buf) <= 1 {
		return
	}
	e.stats.FramesSent++
	e.stats.BytesSent += uint64(len(buf))
	e.cfg.Transport.Send(f.to, buf)
}
