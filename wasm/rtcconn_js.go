//go:build js && wasm

package wasm

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	webrtc "github.com/grapevine-p2p/grapevine/wasm/internal/jsrtc"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/transport"
)

const (
	// rtcAcceptBacklog bounds the data channels (streams) the remote tab
	// opened that the swarm has not accepted yet; beyond it new ones are
	// reset (and counted).
	rtcAcceptBacklog = 64
	// rtcConnUnread bounds the bytes received and not yet read over all
	// data channels of one connection; a channel that would pass it is
	// closed (and counted). Each stream's sender keeps at most two 16 KiB
	// messages in flight, so only a misbehaving peer comes near.
	rtcConnUnread = 8 << 20
	// rtcInitLabel is the label of the data channel the dialer creates so
	// that its offer has an application section to gather candidates for
	// (js-libp2p's "init" channel); it carries no stream and the dialer
	// closes it once connected.
	rtcInitLabel = "init"
)

// rtcConn is a browser-to-browser WebRTC connection as libp2p/specs
// webrtc/webrtc.md defines it: one RTCPeerConnection, each libp2p stream
// one data channel (label "") carrying the spec's framed messages
// (wrdStream). There is no Noise handshake: the SDPs, with each side's
// DTLS fingerprint, were exchanged over the relayed connection, which
// Noise authenticated, so the browser's DTLS handshake proves the peer
// (the spec's FAQ). The remote identity is the relayed connection's.
type rtcConn struct {
	connBase
	pc       *webrtc.PeerConnection
	incoming chan *wrdStream
	acct     pipeAcct
	// connected closes when the peer connection reaches "connected";
	// failed when it fails or closes before.
	connected, failed chan struct{}
	stateOnce         [2]sync.Once
}

var _ transport.CapableConn = (*rtcConn)(nil)

// newRTCConn wraps pc (fresh, before any description is set) and starts
// queueing the data channels the remote side opens. drops counts the
// streams and channels it drops (backlog full, unread bytes over bound).
// The connection owns scope: closing it, however that happens, releases
// the scope once.
func newRTCConn(tpt transport.Transport, pc *webrtc.PeerConnection, drops *atomic.Uint64, scope network.ConnManagementScope) *rtcConn {
	c := &rtcConn{connBase: newConnBase(tpt, "webrtc"), pc: pc, incoming: make(chan *wrdStream, rtcAcceptBacklog),
		connected: make(chan struct{}), failed: make(chan struct{})}
	c.scope = scope
	c.acct.limit = rtcConnUnread
	c.acct.overflows = drops
	c.shut = func() { pc.Close() }
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			c.stateOnce[0].Do(func() { close(c.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			c.stateOnce[1].Do(func() { close(c.failed) })
			c.Close()
		case webrtc.PeerConnectionStateDisconnected:
			// A closed tab sends nothing; ICE consent checks notice
			// within seconds. A network blip gets dcDisconnectGrace.
			go func() {
				select {
				case <-time.After(dcDisconnectGrace):
					if pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
						c.Close()
					}
				case <-c.done:
				}
			}()
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() == rtcInitLabel {
			// The dialer's "init" channel: no stream; it closes it.
			return
		}
		id := uint16(0)
		if p := dc.ID(); p != nil {
			id = *p
		}
		s := newWRDStream(newDCPipeAcct(dc, &c.acct), id, wrdMaxMessageSize, nil)
		select {
		case c.incoming <- s:
		default:
			drops.Add(1)
			go s.Reset()
		}
	})
	return c
}

// ConnState: no security protocol of libp2p's (DTLS, authenticated by
// the signalling), no stream muxer (data channels).
func (c *rtcConn) ConnState() network.ConnectionState {
	return network.ConnectionState{Transport: "webrtc"}
}

func (c *rtcConn) OpenStream(ctx context.Context) (network.MuxedStream, error) {
	if c.IsClosed() {
		return nil, net.ErrClosed
	}
	// The spec: label "", ordered, reliable; the browser picks the id.
	dc, err := c.pc.CreateDataChannel("", nil)
	if err != nil {
		return nil, err
	}
	pipe := newDCPipeAcct(dc, &c.acct)
	select {
	case <-pipe.opened:
	case <-ctx.Done():
		pipe.Close()
		return nil, ctx.Err()
	case <-c.done:
		pipe.Close()
		return nil, net.ErrClosed
	}
	id := uint16(0)
	if p := dc.ID(); p != nil {
		id = *p
	}
	return newWRDStream(pipe, id, wrdMaxMessageSize, nil), nil
}

func (c *rtcConn) AcceptStream() (network.MuxedStream, error) {
	select {
	case s := <-c.incoming:
		return s, nil
	case <-c.done:
		return nil, net.ErrClosed
	}
}
