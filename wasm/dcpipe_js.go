//go:build js && wasm

package wasm

import (
	"io"
	"net"
	"sync"
	"syscall/js"
	"time"

	webrtc "github.com/grapevine-p2p/grapevine/wasm/internal/jsrtc"
)

// dcPipe is one browser data channel (through wasm/internal/jsrtc) as the
// byte pipe that wrdStream reads its framed messages from and writes them
// to: each Write is one data-channel message; reads see the messages'
// bytes in order. Received bytes not yet read are bounded (dcMaxInbound;
// beyond it the channel is closed; the stream's own flow control keeps far
// below it). The browser's callbacks never block.
type dcPipe struct {
	dc *webrtc.DataChannel

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

func newDCPipe(dc *webrtc.DataChannel) *dcPipe {
	p := &dcPipe{dc: dc, rwake: make(chan struct{}, 1), opened: make(chan struct{})}
	dc.OnOpen(func() { p.openOne.Do(func() { close(p.opened) }) })
	if dc.ReadyState() == webrtc.DataChannelStateOpen {
		p.openOne.Do(func() { close(p.opened) })
	}
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		p.mu.Lock()
		if p.err == nil {
			if p.bufSize+len(m.Data) > dcMaxInbound {
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
	return len(b), nil
}

func (p *dcPipe) Close() error {
	p.mu.Lock()
	if p.err == nil {
		p.err = net.ErrClosed
	}
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
