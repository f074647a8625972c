package local

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// faultHost wraps a libp2p host so that every stream it opens passes its
// frames through an Injector. Grapevine's transport writes length-prefixed
// frames (uvarint length, then the frame) on outgoing streams; the wrapper
// splits the written bytes back into frames and drops or delays whole
// frames, so the receiver sees exactly what a lossy, slow datagram link
// would have let through, with stream framing intact. Only outgoing streams
// are wrapped: every peer of a testnet is wrapped, so each frame is judged
// once, by its sender.
type faultHost struct {
	host.Host
	self  int
	in    *Injector
	index func(peer.ID) int // -1 for peers outside the testnet
}

func (h *faultHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	s, err := h.Host.NewStream(ctx, p, pids...)
	if err != nil {
		return nil, err
	}
	to := h.index(p)
	if to < 0 {
		return s, nil
	}
	return &faultStream{Stream: s, in: h.in, from: h.self, to: to}, nil
}

// maxPending bounds the bytes of one incomplete frame held by a stream
// (larger frames pass through unjudged).
const maxPending = 8 << 20

type delayed struct {
	at    time.Time
	b     []byte
	close bool
}

type faultStream struct {
	network.Stream
	in       *Injector
	from, to int

	mu          sync.Mutex
	pend        []byte
	passthrough bool
	q           *delayLine // non-nil once a frame has been delayed

	errMu sync.Mutex // not mu: the delay line's goroutine sets it
	err   error
}

// delayLine is a stream's queue of delayed writes. It holds what is
// pending and no more: a channel sized for the worst case (4,096 slots of a
// struct that holds pointers) cost 229 KB per stream, 330 MB over the
// demo's 30 peers, and the collector's marking of it stalled every peer in
// the process for tens of milliseconds, which was most of the demo's p99.
type delayLine struct {
	mu    sync.Mutex
	items []delayed
	wake  chan struct{}
	stop  bool // after Reset: what is queued is dropped
}

func newDelayLine() *delayLine { return &delayLine{wake: make(chan struct{}, 1)} }

func (l *delayLine) push(d delayed) {
	l.mu.Lock()
	l.items = append(l.items, d)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// halt drops what is queued and ends the line's goroutine.
func (l *delayLine) halt() {
	l.mu.Lock()
	l.stop, l.items = true, nil
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *delayLine) halted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stop
}

// take waits until something is queued and returns it, oldest first; nil
// once the line is halted. done is the batch the caller finished with.
func (l *delayLine) take(done []delayed) []delayed {
	clear(done)
	for {
		l.mu.Lock()
		if l.stop {
			l.mu.Unlock()
			return nil
		}
		if len(l.items) > 0 {
			out := l.items
			l.items = done[:0]
			l.mu.Unlock()
			return out
		}
		l.mu.Unlock()
		<-l.wake
	}
}

func (s *faultStream) failed() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

func (s *faultStream) fail(err error) {
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
}

// Write judges every complete frame in b; an incomplete tail waits for the
// next Write. It reports len(b) written unless the stream has failed.
func (s *faultStream) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.failed(); err != nil {
		return 0, err
	}
	if s.passthrough || len(b) == 0 {
		// An empty write carries no frame to judge, but it is not
		// nothing: on a stream whose protocol libp2p negotiates lazily
		// it sends the protocol header, and a remote that gets no header
		// within its negotiation timeout (10 s) resets the stream. p2p
		// opens streams ahead of need that way; swallowed here, every
		// such stream idle for 10 s lost the frames next written to it
		// (about 160 in a 25 s demo without loss, most of them probes
		// and acks).
		return s.out(b, 0, len(b))
	}
	s.pend = append(s.pend, b...)
	var keep []byte
	var keepDelay time.Duration
	flush := func() error {
		if len(keep) == 0 {
			return nil
		}
		_, err := s.out(keep, keepDelay, 0)
		keep = nil
		return err
	}
	for {
		n, k := binary.Uvarint(s.pend)
		if k == 0 {
			break // header incomplete
		}
		if k < 0 || n > maxPending {
			// Not our framing: stop judging, pass everything through.
			if err := flush(); err != nil {
				return 0, err
			}
			s.passthrough = true
			rest := s.pend
			s.pend = nil
			if _, err := s.out(rest, 0, 0); err != nil {
				return 0, err
			}
			return len(b), nil
		}
		total := k + int(n)
		if len(s.pend) < total {
			break
		}
		frame := s.pend[:total]
		drop, d := s.in.DecideFrame(s.from, s.to, frame[k:])
		if !drop {
			if d != keepDelay {
				if err := flush(); err != nil {
					return 0, err
				}
				keepDelay = d
			}
			keep = append(keep, frame...)
		}
		s.pend = s.pend[total:]
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if len(s.pend) == 0 {
		s.pend = nil
	} else {
		s.pend = append([]byte(nil), s.pend...)
	}
	return len(b), nil
}

// out writes b now, or after delay d through the stream's delay line (once
// one frame has been delayed, later frames follow it so order is kept).
// It returns ret as the count written.
func (s *faultStream) out(b []byte, d time.Duration, ret int) (int, error) {
	if d <= 0 && s.q == nil {
		if _, err := s.Stream.Write(b); err != nil {
			s.fail(err)
			return 0, err
		}
		return ret, nil
	}
	if s.q == nil {
		s.q = newDelayLine()
		go s.line(s.q)
	}
	s.q.push(delayed{at: time.Now().Add(d), b: append([]byte(nil), b...)})
	return ret, nil
}

// line delivers delayed frames in order, each no earlier than its time.
func (s *faultStream) line(q *delayLine) {
	var batch []delayed
	for {
		if batch = q.take(batch); batch == nil {
			return
		}
		for _, x := range batch {
			if x.close {
				s.Stream.Close()
				q.halt()
				return
			}
			if w := time.Until(x.at); w > 0 {
				time.Sleep(w)
			}
			if q.halted() {
				return
			}
			if _, err := s.Stream.Write(x.b); err != nil {
				s.fail(err)
				s.Stream.Reset()
				q.halt()
				return
			}
		}
	}
}

// Close closes after the delay line has drained.
func (s *faultStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.q != nil {
		s.q.push(delayed{close: true})
		s.q = nil
		return nil
	}
	return s.Stream.Close()
}

// Reset resets at once; delayed frames are lost.
func (s *faultStream) Reset() error {
	err := s.Stream.Reset()
	s.mu.Lock()
	if s.q != nil {
		s.q.halt()
		s.q = nil
	}
	s.mu.Unlock()
	s.fail(network.ErrReset)
	return err
}
