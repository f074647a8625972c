package p2p

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// InboundLimits bound what one remote peer can make this peer read on one
// of its protocols (gossip or membership). A peer is any libp2p host that
// knows the group's protocol IDs: every length prefix it sends is a claim,
// checked before anything is allocated.
type InboundLimits struct {
	// BytesPerSecond and FramesPerSecond are token-bucket rates per peer
	// and protocol (bursts of one second's worth). A stream over them is
	// read more slowly (its sender is held back by flow control) and each
	// delayed frame is counted (InboundStats.Throttled). 0: no limit.
	BytesPerSecond  float64
	FramesPerSecond float64
	// IdleTimeout closes an inbound stream on which no frame starts for
	// this long: 1.25 to 1.5 times it after its last frame (a sweep every
	// quarter of it arms the deadline: idle.go; honest writers close
	// theirs after 30 to 90 s unused).
	IdleTimeout time.Duration
	// FrameTimeout bounds the time from a frame's length prefix to its last
	// byte (a slow trickle holds a buffer and a reservation meanwhile).
	FrameTimeout time.Duration
}

// DefaultInboundLimits: rates well above what the engine itself lets a
// peer send (MaxPeerBytesPerRound, 4 MiB per 200 ms round, is 20 MiB/s),
// an idle timeout above the writers' idle close, and 30 s for one frame
// (a 1 MiB frame at 280 kbit/s).
func DefaultInboundLimits() InboundLimits {
	return InboundLimits{
		BytesPerSecond:  32 << 20,
		FramesPerSecond: 8192,
		IdleTimeout:     2 * time.Minute,
		FrameTimeout:    30 * time.Second,
	}
}

// InboundStats count what the inbound bounds refused or delayed.
type InboundStats struct {
	TooLarge  uint64 // streams reset: a length prefix above the protocol's frame cap
	Duplicate uint64 // streams reset: replaced by a newer stream of the same peer and protocol
	Idle      uint64 // streams closed: no frame started within IdleTimeout
	SlowFrame uint64 // streams reset: a frame not complete within FrameTimeout
	NoMemory  uint64 // frames skipped: the resource manager refused the memory to buffer them
	Throttled uint64 // frames delayed by the per-peer byte or frame rate
	Penalized uint64 // streams reset, and messages already read dropped unverified: their sender sent messages that fail verification (penaltyFor)
}

// Reasons of the inbound counters (metric label values).
const (
	inTooLarge = iota
	inDuplicate
	inIdle
	inSlowFrame
	inNoMemory
	inThrottled
	inPenalized
	inReasons
)

var inReasonNames = [inReasons]string{"too_large", "duplicate", "idle", "slow_frame", "no_memory", "throttled", "penalized"}

// A peer whose misbehaviour score rises above the threshold (offences
// weighed and decaying: messages failing verification, forged or bad
// membership records, floods; grapevine.ScoreConfig) is disconnected, and
// its streams are reset unread and its connections refused until its
// penalty ends (a minute by default). Honest members verify every message
// before they store or forward it, so they never send one that fails; a
// flood of forged messages would otherwise cost a signature check each
// (the engine bounds them per peer and round, but each still costs CPU),
// and a flood discarded unread would still cost its decryption.

func (r *remote) penaltyActive() bool {
	u := r.penalized.Load()
	return u != 0 && u > monoNanos(time.Now())
}

// penalizedPeer reports whether id is penalized (without creating state).
func (t *transport) penalizedPeer(id peer.ID) bool {
	t.mu.Lock()
	r := t.remotes[id]
	t.mu.Unlock()
	return r != nil && r.penaltyActive()
}

// penalize marks id penalized until until (driver goroutine; the guard
// decided, p2p/guard.go).
func (t *transport) penalize(id peer.ID, until time.Time) {
	t.remote(id).penalized.Store(monoNanos(until))
}

// firstChunk is the most a reader allocates for a frame before its body
// starts arriving; the buffer then doubles as bytes arrive, up to the
// frame's length, so a length prefix alone costs nothing and a frame costs
// at most twice the bytes actually received.
const firstChunk = 4 << 10

// noMemoryWait is how long a stream with no frame waiting for the driver
// waits for memory held by other streams before it skips a frame.
const noMemoryWait = 2 * time.Second

var (
	errFrameTooLarge = errors.New("frame length above the protocol's cap")
	errNoMemory      = errors.New("resource manager refused the frame's memory")
	errReplaced      = errors.New("replaced by a newer stream")
)

// inStream is one inbound stream being served.
type inStream struct {
	t   *transport
	s   network.Stream
	k   kind
	pid peer.ID
	// r buffers the stream while a frame is being read and holds what the
	// stream delivered beyond it; it is nil (back in streamReaders) while
	// the stream is idle, and ReadByte takes one for the next frame.
	r   *bufio.Reader
	one [1]byte

	pending  atomic.Int64  // frames handed to the driver, not yet stepped
	released chan struct{} // signalled (non-blocking) as frames are stepped
	stop     chan struct{} // closed when a newer stream replaces this one
	stopOnce sync.Once
	replaced atomic.Bool

	// The idle timeout (idle.go): while the reader waits for a frame's
	// length it sets no deadline; a sweep arms one on a stream idle for
	// InboundLimits.IdleTimeout. mu orders the sweep's arming with the
	// reader's note that a frame started.
	mu        sync.Mutex
	waiting   bool  // the reader waits for a frame's length
	lastFrame int64 // when the last frame started (monoNanos; the stream's start before any)
	armed     bool  // the sweep set the idle deadline
	bodyRD    bool  // the reader set a deadline for a frame's body (reader only)
}

// streamReaders holds the read buffers of inbound streams between frames.
// An idle stream's reader waits for the first byte of its next frame with
// no buffer: at N = 50 the 4 KiB buffers of about 30 inbound streams per
// peer were 130 KB of its heap, most of them idle at any moment.
var streamReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, streamBuffer) }}

// ReadByte implements io.ByteReader for the frame's length prefix. Without
// a buffer it blocks on the stream for one byte, then takes a buffer for
// the rest of the frame.
func (in *inStream) ReadByte() (byte, error) {
	if in.r != nil {
		return in.r.ReadByte()
	}
	if _, err := io.ReadFull(in.s, in.one[:]); err != nil {
		return 0, err
	}
	in.r = streamReaders.Get().(*bufio.Reader)
	in.r.Reset(in.s)
	return in.one[0], nil
}

// releaseBuffer returns the read buffer to the pool; only called when it
// holds no unread bytes (or the stream is done).
func (in *inStream) releaseBuffer() {
	if in.r == nil {
		return
	}
	in.r.Reset(nil)
	streamReaders.Put(in.r)
	in.r = nil
}

// done is called by the driver once it has stepped a frame of this stream
// (or dropped it): the frame's memory reservation goes back to the stream
// scope (a no-op once the stream is closed, which releases everything).
func (in *inStream) done(reserved int) {
	if reserved > 0 {
		in.s.Scope().ReleaseMemory(reserved)
	}
	in.pending.Add(-1)
	select {
	case in.released <- struct{}{}:
	default:
	}
}

func (in *inStream) replace() {
	in.stopOnce.Do(func() {
		in.replaced.Store(true)
		close(in.stop)
		// Wake a blocked Read.
		in.s.SetReadDeadline(time.Unix(1, 0))
	})
}

// deadline sets the read deadline (zero: none), unless the stream was
// replaced: replace marks the stream before it sets a past deadline, and
// this sets the deadline before it looks at the mark, so a replaced
// stream's reader never runs on with a fresh deadline.
func (in *inStream) deadline(d time.Time) error {
	in.s.SetReadDeadline(d)
	if in.replaced.Load() {
		return errReplaced
	}
	return nil
}

// sleep waits d unless the peer closes or the stream is replaced.
func (in *inStream) sleep(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-in.stop:
	case <-in.t.ctx.Done():
	}
	return false
}

// reserve reserves n bytes in the stream's resource scope before they are
// buffered. When the scope (or the peer's, the protocol's, the system's)
// is full while frames of this stream wait for the driver, it waits for
// them: back-pressure. When none wait, the memory is held by other streams:
// it waits up to noMemoryWait for them, then gives up (errNoMemory).
func (in *inStream) reserve(n int, deadline time.Time) error {
	giveUp := time.Now().Add(noMemoryWait)
	for {
		err := in.s.Scope().ReserveMemory(n, network.ReservationPriorityAlways)
		if err == nil {
			return nil
		}
		if in.pending.Load() == 0 && time.Now().After(giveUp) {
			return fmt.Errorf("%w: %v", errNoMemory, err)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return os.ErrDeadlineExceeded
		}
		tm := time.NewTimer(min(wait, 100*time.Millisecond))
		select {
		case <-in.released:
		case <-tm.C:
		case <-in.stop:
			tm.Stop()
			return errReplaced
		case <-in.t.ctx.Done():
			tm.Stop()
			return in.t.ctx.Err()
		}
		tm.Stop()
	}
}

// readFrame reads one length-prefixed frame. The length is checked against
// the protocol's cap, the per-peer rates are applied, and the body is read
// into a buffer that grows as bytes arrive, each growth reserved in the
// stream's resource scope first. It returns the frame and the bytes
// reserved for it (to release once the driver has stepped it). A frame the
// resource manager has no memory for is read and discarded (counted), and
// (nil, 0, nil) returned.
func (in *inStream) readFrame(rem *remote) ([]byte, int, error) {
	t := in.t
	lim := &t.p.s.inbound
	if in.bodyRD {
		// No deadline while waiting for the next frame (idle.go).
		in.bodyRD = false
		if err := in.deadline(time.Time{}); err != nil {
			return nil, 0, err
		}
	}
	in.setWaiting(true)
	n, err := binary.ReadUvarint(in)
	in.frameStarted(err == nil)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, io.EOF
		}
		if in.replaced.Load() {
			return nil, 0, errReplaced
		}
		if isTimeout(err) {
			return nil, 0, errIdle
		}
		return nil, 0, fmt.Errorf("reading frame length: %w", err)
	}
	limit := t.p.inCap[in.k]
	if n > uint64(limit) {
		return nil, 0, fmt.Errorf("%w: %d bytes > %d", errFrameTooLarge, n, limit)
	}
	size := int(n)
	// Rates: wait for the tokens before reading the body, so a peer over
	// its rate is held back by flow control, not buffered.
	if d := rem.inDelay(in.k, size+uvarintSize(n)); d > 0 {
		t.p.inbound(inThrottled, in.k)
		if !in.sleep(d) {
			return nil, 0, errReplaced
		}
	}
	if rem.penaltyActive() {
		return nil, 0, errPenalized
	}
	if size == 0 {
		return []byte{}, 0, nil
	}
	deadline := time.Now().Add(time.Hour)
	if lim.FrameTimeout > 0 {
		deadline = time.Now().Add(lim.FrameTimeout)
		// A body already buffered is read from the buffer: no deadline
		// (a stream read with one allocates a timer each time it blocks).
		if in.r == nil || in.r.Buffered() < size {
			in.bodyRD = true
			if err := in.deadline(deadline); err != nil {
				return nil, 0, err
			}
		}
	}
	// Allocate nothing until the body starts arriving.
	if _, err := in.r.Peek(1); err != nil {
		return nil, 0, in.bodyErr(err)
	}
	var buf []byte
	reserved := 0
	for len(buf) < size {
		if len(buf) == cap(buf) {
			c := min(size, max(2*cap(buf), firstChunk, in.r.Buffered()))
			if err := in.reserve(c-reserved, deadline); err != nil {
				if reserved > 0 {
					in.s.Scope().ReleaseMemory(reserved)
				}
				if errors.Is(err, errNoMemory) {
					// Skip the frame, keep the stream: the memory is
					// held by other streams or peers.
					t.p.inbound(inNoMemory, in.k)
					if lim.FrameTimeout > 0 {
						in.bodyRD = true
						if err := in.deadline(time.Now().Add(lim.FrameTimeout)); err != nil {
							return nil, 0, err
						}
					}
					if _, derr := in.r.Discard(size - len(buf)); derr != nil {
						return nil, 0, in.bodyErr(derr)
					}
					return nil, 0, nil
				}
				return nil, 0, in.bodyErr(err)
			}
			reserved = c
			nb := make([]byte, len(buf), c)
			copy(nb, buf)
			buf = nb
		}
		m, err := io.ReadFull(in.r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			in.s.Scope().ReleaseMemory(reserved)
			return nil, 0, in.bodyErr(err)
		}
	}
	return buf, reserved, nil
}

var (
	errIdle      = errors.New("idle stream")
	errPenalized = errors.New("the peer sent messages that fail verification")
)

func (in *inStream) bodyErr(err error) error {
	switch {
	case errors.Is(err, errReplaced) || in.replaced.Load():
		return errReplaced
	case isTimeout(err):
		return errSlowFrame
	case errors.Is(err, io.EOF):
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading frame body: %w", err)
}

var errSlowFrame = errors.New("frame not complete within the frame timeout")

// isTimeout reports a deadline error (yamux has its own, a net.Error).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// inDelay takes n bytes and one frame from the peer's inbound buckets for
// kind k and returns how long to wait for them.
func (r *remote) inDelay(k kind, n int) time.Duration {
	lim := r.inLim[k]
	if lim[0] == nil {
		return 0
	}
	now := time.Now()
	var d time.Duration
	if res := lim[0].ReserveN(now, n); res.OK() {
		d = res.DelayFrom(now)
	}
	if res := lim[1].ReserveN(now, 1); res.OK() {
		d = max(d, res.DelayFrom(now))
	}
	return d
}

func newInLimiters(l InboundLimits, maxFrame int) [2]*rate.Limiter {
	bytes, frames := rate.Inf, rate.Inf
	if l.BytesPerSecond > 0 {
		bytes = rate.Limit(l.BytesPerSecond)
	}
	if l.FramesPerSecond > 0 {
		frames = rate.Limit(l.FramesPerSecond)
	}
	// A burst holds at least one largest frame, so every frame can pass.
	return [2]*rate.Limiter{
		rate.NewLimiter(bytes, max(int(l.BytesPerSecond), maxFrame+binary.MaxVarintLen64)),
		rate.NewLimiter(frames, max(int(l.FramesPerSecond), 1)),
	}
}

// inbound counts one event of the inbound bounds.
func (p *Peer) inbound(reason int, k kind) {
	p.ctr.inbound[reason].Add(1)
	p.m.inbound.WithLabelValues(inReasonNames[reason], k.String()).Inc()
}

// handle serves one inbound stream: it reads length-prefixed frames until
// the stream ends and hands each to the driver. One inbound stream per peer
// and protocol is served: a newer one replaces the older (as in
// go-libp2p-pubsub), which stops once the driver has stepped the frames it
// already read.
func (t *transport) handle(k kind) network.StreamHandler {
	return func(s network.Stream) {
		pid := s.Conn().RemotePeer()
		in := &inStream{t: t, s: s, k: k, pid: pid, released: make(chan struct{}, 1), stop: make(chan struct{}), lastFrame: monoNanos(time.Now())}
		key := inKey{pid, k}
		t.streamsMu.Lock()
		if t.ctx.Err() != nil {
			t.streamsMu.Unlock()
			s.Reset()
			return
		}
		if old := t.inbound[key]; old != nil {
			old.replace()
			t.p.inbound(inDuplicate, k)
		}
		t.inbound[key] = in
		t.streams[s] = struct{}{}
		t.wg.Add(1)
		t.streamsMu.Unlock()
		defer func() {
			t.streamsMu.Lock()
			delete(t.streams, s)
			if t.inbound[key] == in {
				delete(t.inbound, key)
			}
			t.streamsMu.Unlock()
			t.wg.Done()
		}()
		from := NodeID(pid)
		rem := t.remote(pid)
		if rem.penaltyActive() {
			in.finish(errPenalized)
			return
		}
		defer in.releaseBuffer()
		for {
			f, reserved, err := in.readFrame(rem)
			if err != nil {
				in.finish(err)
				return
			}
			if in.r.Buffered() == 0 {
				in.releaseBuffer()
			}
			if f == nil {
				continue // skipped: no memory, or the peer is penalized
			}
			size := len(f) + uvarintSize(uint64(len(f)))
			t.p.m.byKind[k].framesIn.Inc()
			t.p.m.byKind[k].bytesIn.Add(float64(size))
			t.p.ctr.framesIn.Add(1)
			t.p.ctr.bytesIn.Add(uint64(size))
			if rem.broken.Load() != 0 {
				rem.broken.Store(0)
			}
			in.pending.Add(1)
			if !t.p.enqueueIn(k, &inFrame{from: from, data: f, src: in, reserved: reserved}) {
				in.finish(context.Canceled)
				return
			}
		}
	}
}

type inKey struct {
	id peer.ID
	k  kind
}

// finish ends the stream after a read error: it waits until the driver
// has stepped the frames already read (their memory stays reserved in the
// stream's scope until then, so closing and reopening streams cannot pile
// up unaccounted frames in the inbox), then closes or resets it.
func (in *inStream) finish(err error) {
	t := in.t
	for in.pending.Load() > 0 && t.ctx.Err() == nil {
		select {
		case <-in.released:
		case <-t.ctx.Done():
		}
	}
	switch {
	case errors.Is(err, io.EOF):
		in.s.Close()
		return
	case errors.Is(err, errIdle):
		// Reset, not Close: a writer that still thinks the stream open
		// learns at its next write, and opens a new one.
		t.p.inbound(inIdle, in.k)
	case errors.Is(err, errReplaced):
	case errors.Is(err, errPenalized):
		t.p.inbound(inPenalized, in.k)
	case errors.Is(err, errFrameTooLarge):
		t.p.inbound(inTooLarge, in.k)
		t.p.warn("inbound_too_large", "closing inbound stream: frame too large", "peer", in.pid, "kind", in.k.String(), "err", err)
	case errors.Is(err, errSlowFrame):
		t.p.inbound(inSlowFrame, in.k)
		t.p.warn("inbound_slow_frame", "closing inbound stream: frame too slow", "peer", in.pid, "kind", in.k.String(), "err", err)
	default:
		if t.ctx.Err() == nil {
			log.Debugw("inbound stream failed", "peer", in.pid, "kind", in.k.String(), "err", err)
			t.markBroken(in.pid)
		}
	}
	in.s.Reset()
}
