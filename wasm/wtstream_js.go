//go:build js && wasm

package wasm

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall/js"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
)

// wtChunk is the largest piece handed to the browser in one write.
const wtChunk = 64 << 10

// jsResult is the outcome of a JavaScript promise.
type jsResult struct {
	v   js.Value
	err error
}

// awaitPromise returns a channel that receives p's outcome once it
// settles. The callbacks are released then; a caller that stops waiting
// leaks nothing (the channel is buffered).
func awaitPromise(p js.Value) <-chan jsResult {
	ch := make(chan jsResult, 1)
	var onOK, onErr js.Func
	onOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- jsResult{v: v}
		onOK.Release()
		onErr.Release()
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- jsResult{err: jsErrorOf(args)}
		onOK.Release()
		onErr.Release()
		return nil
	})
	p.Call("then", onOK, onErr)
	return ch
}

// settle ignores p's outcome (so that a rejection is not reported as
// unhandled).
func settle(p js.Value) { awaitPromise(p) }

// jsErrorOf turns a rejection reason into a Go error.
func jsErrorOf(args []js.Value) error {
	if len(args) == 0 {
		return errors.New("rejected")
	}
	r := args[0]
	if r.Type() == js.TypeObject && r.Get("message").Type() == js.TypeString {
		name := r.Get("name").String()
		if src := r.Get("source"); src.Type() == js.TypeString { // WebTransportError
			return fmt.Errorf("%s (%s): %s", name, src.String(), r.Get("message").String())
		}
		return fmt.Errorf("%s: %s", name, r.Get("message").String())
	}
	return errors.New(r.String())
}

// jsCall calls a JavaScript method, turning an exception into an error.
func jsCall(v js.Value, method string, args ...any) (res js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %v", method, r)
		}
	}()
	return v.Call(method, args...), nil
}

type wtNetAddr struct{}

func (wtNetAddr) Network() string { return "webtransport" }
func (wtNetAddr) String() string  { return "webtransport" }

// wtStream is one WebTransport bidirectional stream (a
// WebTransportBidirectionalStream's readable and writable halves) as a
// libp2p MuxedStream, and as a net.Conn for the Noise handshake. Reads
// fetch one chunk from the browser at a time, so at most one chunk waits
// unread here; QUIC's flow control holds back the rest.
type wtStream struct {
	reader, writer js.Value // ReadableStreamDefaultReader, WritableStreamDefaultWriter

	rmu      sync.Mutex // one reader at a time
	buf      []byte     // received, not yet read
	rpending <-chan jsResult
	wmu      sync.Mutex // one writer at a time
	wpending <-chan jsResult

	mu       sync.Mutex
	rerr     error // the read side is over (io.EOF, reset, closed)
	werr     error // the write side is over
	rdl, wdl time.Time
	rwake    chan struct{} // read deadline changed
	wwake    chan struct{} // write deadline changed
}

var (
	_ network.MuxedStream = (*wtStream)(nil)
	_ net.Conn            = (*wtStream)(nil)
)

// newWTStream wraps a WebTransportBidirectionalStream.
func newWTStream(bidi js.Value) (*wtStream, error) {
	r, err := jsCall(bidi.Get("readable"), "getReader")
	if err != nil {
		return nil, err
	}
	w, err := jsCall(bidi.Get("writable"), "getWriter")
	if err != nil {
		settle(r.Call("cancel"))
		return nil, err
	}
	return &wtStream{reader: r, writer: w, rwake: make(chan struct{}, 1), wwake: make(chan struct{}, 1)}, nil
}

// wait waits for ch, a deadline change (then it returns ok=false so the
// caller re-reads the deadline) or the deadline.
func wait(ch <-chan jsResult, wake chan struct{}, dl time.Time) (res jsResult, ok bool, err error) {
	var timeout <-chan time.Time
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return jsResult{}, false, os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case res = <-ch:
		return res, true, nil
	case <-wake:
		return jsResult{}, false, nil
	case <-timeout:
		return jsResult{}, false, os.ErrDeadlineExceeded
	}
}

func (s *wtStream) Read(p []byte) (int, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for len(s.buf) == 0 {
		s.mu.Lock()
		rerr, dl := s.rerr, s.rdl
		s.mu.Unlock()
		if rerr != nil {
			return 0, rerr
		}
		if s.rpending == nil {
			p, err := jsCall(s.reader, "read")
			if err != nil {
				s.setReadErr(network.ErrReset)
				continue
			}
			s.rpending = awaitPromise(p)
		}
		res, ok, err := wait(s.rpending, s.rwake, dl)
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		s.rpending = nil
		switch {
		case res.err != nil:
			s.setReadErr(&network.StreamError{Remote: true, TransportError: fmt.Errorf("%w: %v", network.ErrReset, res.err)})
		case res.v.Get("done").Truthy():
			s.setReadErr(io.EOF)
		default:
			chunk := res.v.Get("value")
			b := make([]byte, chunk.Get("byteLength").Int())
			js.CopyBytesToGo(b, chunk)
			s.buf = b
		}
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *wtStream) setReadErr(err error) {
	s.mu.Lock()
	if s.rerr == nil {
		s.rerr = err
	}
	s.mu.Unlock()
}

func (s *wtStream) setWriteErr(err error) {
	s.mu.Lock()
	if s.werr == nil {
		s.werr = err
	}
	s.mu.Unlock()
}

// Write hands p to the browser in chunks, each after the previous one was
// taken (the writer's promise resolved), which is the stream's
// backpressure. A chunk handed over is sent even if the deadline passes
// while it waits: it counts as written.
func (s *wtStream) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	n := 0
	for {
		if err := s.waitWrite(); err != nil {
			return n, err
		}
		if len(p) == 0 {
			return n, nil
		}
		k := min(len(p), wtChunk)
		u8 := js.Global().Get("Uint8Array").New(k)
		js.CopyBytesToJS(u8, p[:k])
		wp, err := jsCall(s.writer, "write", u8)
		if err != nil {
			s.setWriteErr(network.ErrReset)
			return n, network.ErrReset
		}
		s.wpending = awaitPromise(wp)
		n += k
		p = p[k:]
	}
}

// waitWrite waits for the write in flight, if any.
func (s *wtStream) waitWrite() error {
	for {
		s.mu.Lock()
		werr, dl := s.werr, s.wdl
		s.mu.Unlock()
		if werr != nil {
			return werr
		}
		if s.wpending == nil {
			return nil
		}
		res, ok, err := wait(s.wpending, s.wwake, dl)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		s.wpending = nil
		if res.err != nil {
			s.setWriteErr(&network.StreamError{Remote: true, TransportError: fmt.Errorf("%w: %v", network.ErrReset, res.err)})
		}
	}
}

// CloseWrite sends the stream's FIN once what was written is taken; it
// does not wait for that.
func (s *wtStream) CloseWrite() error {
	s.mu.Lock()
	if s.werr != nil {
		s.mu.Unlock()
		return nil
	}
	s.werr = net.ErrClosed
	s.mu.Unlock()
	if p, err := jsCall(s.writer, "close"); err == nil {
		settle(p)
	}
	return nil
}

// CloseRead tells the browser we read no more (STOP_SENDING).
func (s *wtStream) CloseRead() error {
	s.mu.Lock()
	if s.rerr != nil {
		s.mu.Unlock()
		return nil
	}
	s.rerr = net.ErrClosed
	s.mu.Unlock()
	wake(s.rwake)
	if p, err := jsCall(s.reader, "cancel"); err == nil {
		settle(p)
	}
	return nil
}

func (s *wtStream) Close() error {
	s.CloseWrite()
	return s.CloseRead()
}

// Reset aborts both directions. WebTransport in browsers carries no
// libp2p error codes (libp2p/specs error-codes), so errCode is dropped.
func (s *wtStream) ResetWithError(network.StreamErrorCode) error { return s.Reset() }

func (s *wtStream) Reset() error {
	s.mu.Lock()
	rdone, wdone := s.rerr != nil, s.werr != nil
	if !rdone {
		s.rerr = network.ErrReset
	}
	if !wdone {
		s.werr = network.ErrReset
	}
	s.mu.Unlock()
	wake(s.rwake)
	wake(s.wwake)
	if !wdone {
		if p, err := jsCall(s.writer, "abort"); err == nil {
			settle(p)
		}
	}
	if !rdone {
		if p, err := jsCall(s.reader, "cancel"); err == nil {
			settle(p)
		}
	}
	return nil
}

func (s *wtStream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

func (s *wtStream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.rdl = t
	s.mu.Unlock()
	wake(s.rwake)
	return nil
}

func (s *wtStream) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	s.wdl = t
	s.mu.Unlock()
	wake(s.wwake)
	return nil
}

func (s *wtStream) LocalAddr() net.Addr  { return wtNetAddr{} }
func (s *wtStream) RemoteAddr() net.Addr { return wtNetAddr{} }
