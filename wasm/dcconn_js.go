//go:build js && wasm

package wasm

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	webrtc "github.com/grapevine-p2p/grapevine/wasm/internal/jsrtc"
	ma "github.com/multiformats/go-multiaddr"
)

const (
	// dcChunk is the largest data-channel message sent; 16 KiB is what every
	// browser delivers without fragmentation trouble.
	dcChunk = 16 << 10
	// dcHighWater pauses writers while this much is buffered in the browser.
	dcHighWater = 1 << 20
	dcLowWater  = 256 << 10
	// dcMaxInbound bounds received bytes not yet read; beyond it the
	// connection is closed (yamux's flow control keeps far below it).
	dcMaxInbound = 16 << 20
	// dcDisconnectGrace is how long a disconnected peer connection may
	// take to reconnect before the connection is closed.
	dcDisconnectGrace = 5 * time.Second
)

var errInboundOverflow = errors.New("webrtc: too much unread data; connection closed")

type rtcNetAddr struct{}

func (rtcNetAddr) Network() string { return "webrtc" }
func (rtcNetAddr) String() string  { return "webrtc" }

// dcConn is a net.Conn (and manet.Conn) over one WebRTC data channel, so
// the libp2p upgrader can run Noise and yamux over it. The browser's
// callbacks only append to a bounded buffer and never block.
type dcConn struct {
	bytesIn, bytesOut atomic.Uint64 // data-channel payload bytes

	pc     *webrtc.PeerConnection
	dc     *webrtc.DataChannel
	raddr  ma.Multiaddr
	opened chan struct{}

	mu      sync.Mutex
	bufs    [][]byte
	bufSize int
	err     error // set when closed; reads drain bufs first
	rdl     time.Time
	wdl     time.Time
	rwake   chan struct{} // readers
	wwake   chan struct{} // writers (buffered amount went low)
	done    chan struct{}
	once    sync.Once
	openOne sync.Once
}

func newDCConn(pc *webrtc.PeerConnection, dc *webrtc.DataChannel, raddr ma.Multiaddr) *dcConn {
	c := &dcConn{pc: pc, dc: dc, raddr: raddr, opened: make(chan struct{}),
		rwake: make(chan struct{}, 1), wwake: make(chan struct{}, 1), done: make(chan struct{})}
	dc.SetBufferedAmountLowThreshold(dcLowWater)
	dc.OnBufferedAmountLow(func() { wake(c.wwake) })
	dc.OnOpen(func() { c.openOne.Do(func() { close(c.opened) }) })
	if dc.ReadyState() == webrtc.DataChannelStateOpen {
		c.openOne.Do(func() { close(c.opened) })
	}
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		c.mu.Lock()
		if c.err == nil {
			if c.bufSize+len(m.Data) > dcMaxInbound {
				c.mu.Unlock()
				go c.closeWith(errInboundOverflow)
				return
			}
			c.bufs = append(c.bufs, m.Data)
			c.bufSize += len(m.Data)
			c.bytesIn.Add(uint64(len(m.Data)))
		}
		c.mu.Unlock()
		wake(c.rwake)
	})
	dc.OnClose(func() { go c.closeWith(io.EOF) })
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go c.closeWith(io.EOF)
		case webrtc.PeerConnectionStateDisconnected:
			// A closed tab sends nothing; ICE consent checks notice within
			// seconds. Give a network blip dcDisconnectGrace to recover.
			go func() {
				select {
				case <-time.After(dcDisconnectGrace):
					if pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
						c.closeWith(io.EOF)
					}
				case <-c.done:
				}
			}()
		}
	})
	return c
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (c *dcConn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		if len(c.bufs) > 0 {
			n := copy(p, c.bufs[0])
			if n == len(c.bufs[0]) {
				c.bufs[0] = nil
				c.bufs = c.bufs[1:]
			} else {
				c.bufs[0] = c.bufs[0][n:]
			}
			c.bufSize -= n
			c.mu.Unlock()
			return n, nil
		}
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return 0, err
		}
		dl := c.rdl
		c.mu.Unlock()
		if err := waitWake(c.rwake, c.done, dl); err != nil {
			return 0, err
		}
	}
}

// waitWake waits for a wake-up, the connection's end, or the deadline.
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

func (c *dcConn) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c.mu.Lock()
		err, dl := c.err, c.wdl
		c.mu.Unlock()
		if err != nil {
			return n, net.ErrClosed
		}
		if c.dc.BufferedAmount() > dcHighWater {
			if err := waitWake(c.wwake, c.done, dl); err != nil {
				return n, err
			}
			continue
		}
		k := min(len(p), dcChunk)
		// Send copies the bytes into a JS array before returning.
		if err := c.dc.Send(p[:k]); err != nil {
			go c.closeWith(io.EOF)
			return n, err
		}
		n += k
		c.bytesOut.Add(uint64(k))
		p = p[k:]
	}
	return n, nil
}

func (c *dcConn) closeWith(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
		c.dc.Close()
		c.pc.Close()
	})
}

func (c *dcConn) Close() error {
	c.closeWith(net.ErrClosed)
	return nil
}

func (c *dcConn) LocalAddr() net.Addr           { return rtcNetAddr{} }
func (c *dcConn) RemoteAddr() net.Addr          { return rtcNetAddr{} }
func (c *dcConn) LocalMultiaddr() ma.Multiaddr  { return rtcListenAddr }
func (c *dcConn) RemoteMultiaddr() ma.Multiaddr { return c.raddr }

func (c *dcConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *dcConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	c.mu.Unlock()
	wake(c.rwake)
	return nil
}

func (c *dcConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdl = t
	c.mu.Unlock()
	wake(c.wwake)
	return nil
}
