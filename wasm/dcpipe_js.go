//go:build js && wasm

package wasm

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	webrtc "github.com/grapevine-p2p/grapevine/wasm/internal/jsrtc"
)

const (
	// dcMaxInbound bounds the received bytes of one data channel not yet
	// read; beyond it the channel is closed (the stream's own flow control
	// keeps far below it).
	dcMaxInbound = 16 << 20
	// dcDisconnectGrace is how long a disconnected peer connection may
	// take to reconnect before the connection is closed.
	dcDisconnectGrace = 5 * time.Second
)

var errInboundOverflow = errors.New("webrtc: too much unread data; channel closed")

type rtcNetAddr struct{}

func (rtcNetAddr) Network() string { return "webrtc" }
func (rtcNetAddr) String() string  { return "webrtc" }

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// waitWake waits for a wake-up, done, or the deadline.
func waitWake(ch, done chan struct{}, dl time.Time) error {
	var timeout <-chan time.Time
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ch:
	case <-done:
	case <-timeout:
		return os.ErrDeadlineExceeded
	}
	return nil
}

// dcPipe is one browser data channel (through wasm/internal/jsrtc) as the
// byte pipe that wrdStream reads its framed messages from and writes them
// to: each Write is one data-channel message; reads see the messages'
// bytes in order. Received bytes not yet read are bounded (dcMaxInbound;
// beyond it the channel is closed; the stream's own flow control keeps far
// below it). The browser's callbacks never block.
type dcPipe struct {
	dc   *webrtc.DataChannel
	acct *pipeAcct // the connection's shared counters and bound; nil for none

	mu      sync.Mutex
	bufs    [][]byte
	bufSize int
	err     error // set when closed; reads drain bufs first
	rdl     time.Time
	rwake   chan struct{}
	onLow   func()
	opened  chan struct{}
	openOne sync.Once
}

// pipeAcct is what the data channels of one connection share: their
// payload bytes each way, and a bound on the bytes received and not yet
// read over all of them (a peer can open many channels; each one's own
// bound, dcMaxInbound, is not enough). A channel whose message would go
// beyond it is closed, and counted in overflows.
type pipeAcct struct {
	in, out   atomic.Uint64
	unread    atomic.Int64
	limit     int64
	overflows *atomic.Uint64
}

// take reserves n unread bytes, or reports that the bound is reached.
func (a *pipeAcct) take(n int) bool {
	if a.unread.Add(int64(n)) > a.limit {
		a.unread.Add(-int64(n))
		a.overflows.Add(1)
		return false
	}
	a.in.Add(uint64(n))
	return true
}

func newDCPipe(dc *webrtc.DataChannel) *dcPipe { return newDCPipeAcct(dc, nil) }

// newDCPipeAcct is newDCPipe with the connection's shared counters.
func newDCPipeAcct(dc *webrtc.DataChannel, acct *pipeAcct) *dcPipe {
	p := &dcPipe{dc: dc, acct: acct, rwake: make(chan struct{}, 1), opened: make(chan struct{})}
	dc.OnOpen(func() { p.openOne.Do(func() { close(p.opened) }) })
	if dc.ReadyState() == webrtc.DataChannelStateOpen {
		p.openOne.Do(func() { close(p.opened) })
	}
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		p.mu.Lock()
		if p.err == nil {
			if p.bufSize+len(m.Data) > dcMaxInbound || (p.acct != nil && !p.acct.take(len(m.Data))) {
				p.err = errInboundOverflow
				p.mu.Unlock()
				go dc.Close()
				wake(p.rwake)
				return
			}
			p.bufs = append(p.bufs, m.Data)
			p.bufSize += len(m.Data)
		}
		p.mu.Unlock()
		wake(p.rwake)
	})
	dc.OnClose(func() {
		p.mu.Lock()
		if p.err == nil {
			p.err = io.EOF
		}
		p.mu.Unlock()
		wake(p.rwake)
	})
	dc.OnBufferedAmountLow(func() {
		p.mu.Lock()
		f := p.onLow
		p.mu.Unlock()
		if f != nil {
			f()
		}
	})
	return p
}

func (p *dcPipe) Read(b []byte) (int, error) {
	for {
		p.mu.Lock()
		if len(p.bufs) > 0 {
			n := copy(b, p.bufs[0])
			if n == len(p.bufs[0]) {
				p.bufs[0] = nil
				p.bufs = p.bufs[1:]
			} else {
				p.bufs[0] = p.bufs[0][n:]
			}
			p.bufSize -= n
			if p.acct != nil {
				p.acct.unread.Add(-int64(n))
			}
			p.mu.Unlock()
			return n, nil
		}
		if p.err != nil {
			err := p.err
			p.mu.Unlock()
			return 0, err
		}
		dl := p.rdl
		p.mu.Unlock()
		// A deadline change wakes us (rwake) to re-read it.
		if err := waitWake(p.rwake, nil, dl); err != nil {
			return 0, err
		}
	}
}

func (p *dcPipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	if err != nil && err != io.EOF {
		return 0, net.ErrClosed
	}
	if err := p.dc.Send(b); err != nil {
		return 0, err
	}
	if p.acct != nil {
		p.acct.out.Add(uint64(len(b)))
	}
	return len(b), nil
}

func (p *dcPipe) Close() error {
	p.mu.Lock()
	if p.err == nil {
		p.err = net.ErrClosed
	}
	// Nobody reads a closed pipe: give its unread bytes back.
	if p.acct != nil {
		p.acct.unread.Add(-int64(p.bufSize))
	}
	p.bufs, p.bufSize = nil, 0
	p.mu.Unlock()
	wake(p.rwake)
	// jsrtc's Close releases its Go callbacks, but the browser still fires
	// the channel's close (and other) events afterwards, each logging "call
	// to released function": unhook them first.
	u := p.dc.JSValue()
	for _, h := range []string{"onopen", "onclose", "onclosing", "onmessage", "onbufferedamountlow", "onerror"} {
		u.Set(h, js.Null())
	}
	return p.dc.Close()
}

func (p *dcPipe) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	p.rdl = t
	p.mu.Unlock()
	wake(p.rwake)
	return nil
}

func (p *dcPipe) BufferedAmount() uint64 { return p.dc.BufferedAmount() }

func (p *dcPipe) SetBufferedAmountLowThreshold(n uint64) { p.dc.SetBufferedAmountLowThreshold(n) }

func (p *dcPipe) OnBufferedAmountLow(f func()) {
	p.mu.Lock()
	p.onLow = f
	p.mu.Unlock()
}
