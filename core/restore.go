package core

// Export and restore of the state a restarted node needs so that it
// delivers nothing twice and still serves what it held: per origin, how far
// it delivered (Watermark), and the messages of its store (Restore). The
// engine does no I/O: an adapter persists what these return (p2p's data
// directory) and hands it back to a new engine before its first call.

import (
	"errors"
	"slices"
)

// ErrNotFresh is returned by Restore on an engine that has already run.
var ErrNotFresh = errors.New("grapevine/core: Restore must be called before the first Publish, Step or Tick")

// OriginState is how far a node delivered one origin's messages: every
// sequence number up to Delivered was delivered to the application or
// given up (a FIFO gap skipped, a gap abandoned); none above it was.
type OriginState struct {
	Origin    NodeID
	Delivered uint64
}

// StoredMessage is a message of a node's store as an adapter persisted it:
// Age is how many ticks ago the node stored it.
type StoredMessage struct {
	Msg *Message
	Age int
}

// RestoreStats counts what Restore took and what it left out.
type RestoreStats struct {
	Origins  int // origins whose watermark was restored
	Messages int // messages put back into the store
	Expired  int // messages older than StoreTTL, left out
	Unknown  int // messages above their origin's watermark or of an origin not listed, left out
}

// Restore gives a fresh engine the state of a previous life of the same
// node: each listed origin is marked seen and (with FIFO) delivered up to
// its watermark, so none of those messages is delivered again, and the
// messages are put back into the store as held ones, oldest first: they
// answer pull requests and IWANTs for the rest of their StoreTTL, but are
// neither delivered nor pushed again. A message above its origin's
// watermark was never delivered and is left out (pull fetches it again).
// This node's own origin is marked seen up to FirstSeq−1, so it never pulls
// its own earlier messages back. Restore must be called before the first
// Publish, Step or Tick.
func (e *Engine) Restore(origins []OriginState, msgs []StoredMessage) (RestoreStats, error) {
	var st RestoreStats
	if e.ticks != 0 || len(e.originList) != 0 || e.nextSeq != e.cfg.FirstSeq {
		return st, ErrNotFresh
	}
	self := e.trackOrigin(e.cfg.ID)
	self.contiguous = e.cfg.FirstSeq - 1
	self.cursor, self.cursorSet = self.contiguous, true
	for _, os := range origins {
		if os.Origin == "" || os.Origin == e.cfg.ID || e.origins[os.Origin] != nil {
			continue
		}
		if len(e.originList) >= e.cfg.MaxOrigins {
			break
		}
		o := e.trackOrigin(os.Origin)
		o.contiguous = os.Delivered
		o.cursor, o.cursorSet = os.Delivered, true
		st.Origins++
	}
	for _, sm := range msgs {
		m := sm.Msg
		if m == nil {
			continue
		}
		if sm.Age >= e.cfg.StoreTTL {
			st.Expired++
			continue
		}
		o := e.origins[m.Origin]
		if o == nil || m.Seq > o.contiguous || e.store[m.Key()] != nil {
			st.Unknown++
			continue
		}
		en := &storeEntry{
			msg:    m,
			origin: o,
			size:   1 + uvarintLen(uint64(encodedMessageSize(m))) + encodedMessageSize(m),
			expire: uint64(e.cfg.StoreTTL - max(sm.Age, 0)),
			lazy:   e.cfg.LazyThreshold > 0 && len(m.Payload) > e.cfg.LazyThreshold,
			// Restored messages were forwarded in the previous life.
			treeDone: true,
		}
		e.storePut(m.Key(), en, o)
		st.Messages++
	}
	// storePut keeps insertion order for eviction; restored entries may
	// expire out of that order, which expireStore tolerates only if sorted.
	e.sortStoreByExpiry()
	return st, nil
}

// sortStoreByExpiry orders the live store entries by expiry tick (stable),
// as expireStore expects.
func (e *Engine) sortStoreByExpiry() {
	live := e.storeOrder[e.storeHead:]
	slices.SortStableFunc(live, func(a, b *storeEntry) int {
		switch {
		case a.expire < b.expire:
			return -1
		case a.expire > b.expire:
			return 1
		}
		return 0
	})
}

// Watermark returns how far this node delivered origin's messages (see
// OriginState), and false if it tracks nothing of origin yet. With FIFO it
// is the delivery cursor: exact. Without FIFO a message is delivered on
// receipt, possibly above a gap, so it is the highest sequence number seen:
// a node restored from it takes the gap as delivered and may miss a
// message that was still on its way, but never delivers one twice.
func (e *Engine) Watermark(origin NodeID) (uint64, bool) {
	o := e.origins[origin]
	if o == nil {
		return 0, false
	}
	if e.cfg.FIFO {
		return o.cursor, o.cursorSet
	}
	w := o.contiguous
	if n := len(o.above); n > 0 {
		w = o.above[n-1]
	}
	return w, true
}

// NextSeq returns the sequence number the next Publish will use.
func (e *Engine) NextSeq() uint64 { return e.nextSeq }
