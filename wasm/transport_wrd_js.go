//go:build js && wasm

package wasm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall/js"

	webrtc "github.com/grapevine-p2p/grapevine/wasm/internal/jsrtc"
	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/transport"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	ma "github.com/multiformats/go-multiaddr"
)

// wrdAcceptBacklog bounds the streams a native peer opened that the swarm
// has not accepted yet; beyond it new ones are reset.
const wrdAcceptBacklog = 64

// wrdTransport is a dial-only libp2p WebRTC-direct transport over the
// browser's RTCPeerConnection, following libp2p/specs
// webrtc/webrtc-direct.md: the tab makes its offer as usual, builds the
// server's answer itself from the multiaddr (ICE-lite, the server's
// address as candidate, the certhash as DTLS fingerprint, so the browser
// accepts only that certificate) with version 2 ICE credentials (no SDP
// munging: the tab's ICE password rides in the server's ufrag), and, once
// the pre-negotiated data channel 0 opens, answers the server's Noise XX
// handshake on it (the server initiates) with the prologue binding both
// DTLS fingerprints. Each libp2p stream is then one data channel
// (wrdStream).
type wrdTransport struct {
	noise *noise.Transport
	rcmgr network.ResourceManager
}

var _ transport.Transport = (*wrdTransport)(nil)

func newWRDTransport(sk ic.PrivKey, rm network.ResourceManager) (*wrdTransport, error) {
	n, err := noise.New(noise.ID, sk, nil)
	if err != nil {
		return nil, err
	}
	return &wrdTransport{noise: n, rcmgr: rm}, nil
}

func (t *wrdTransport) CanDial(a ma.Multiaddr) bool {
	return js.Global().Get("RTCPeerConnection").Type() == js.TypeFunction && IsWebRTCDirectAddr(a)
}
func (t *wrdTransport) Protocols() []int { return []int{ma.P_WEBRTC_DIRECT} }
func (t *wrdTransport) Proxy() bool      { return false }

func (t *wrdTransport) Listen(ma.Multiaddr) (transport.Listener, error) {
	return nil, errors.New("a browser cannot listen for WebRTC-direct connections")
}

func (t *wrdTransport) Dial(ctx context.Context, raddr ma.Multiaddr, p peer.ID) (transport.CapableConn, error) {
	target, err := ParseWebRTCDirectAddr(raddr)
	if err != nil {
		return nil, err
	}
	scope, err := outboundScope(t.rcmgr, raddr, p)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, wtHandshakeTimeout)
	defer cancel()
	c, err := t.dial(ctx, target, raddr, p)
	if err != nil {
		scope.Done()
		return nil, fmt.Errorf("WebRTC-direct to %s:%d: %w", target.IP, target.Port, err)
	}
	c.scope = scope
	return c, nil
}

func (t *wrdTransport) dial(ctx context.Context, target WebRTCDirectTarget, raddr ma.Multiaddr, p peer.ID) (_ *wrdConn, err error) {
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			pc.Close()
		}
	}()
	c := &wrdConn{connBase: newConnBase(t, "webrtc-direct"), t: t, pc: pc, incoming: make(chan *wrdStream, wrdAcceptBacklog)}
	c.shut = func() { pc.Close() }
	failed := make(chan struct{})
	var failOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			failOnce.Do(func() { close(failed) })
			go c.Close()
		}
	})
	negotiated, id := true, uint16(0)
	hs, err := pc.CreateDataChannel("", &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &id})
	if err != nil {
		return nil, err
	}
	hsPipe := newDCPipe(hs)
	// The native opens streams as soon as its side of the handshake is
	// done, maybe before ours returns: queue them from the start.
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		id := uint16(0)
		if p := dc.ID(); p != nil {
			id = *p
		}
		s := newWRDStream(newDCPipe(dc), id, wrdMaxMessageSize, nil)
		select {
		case c.incoming <- s:
		default:
			go s.Reset()
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("creating the offer: %w", err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, fmt.Errorf("setting the offer: %w", err)
	}
	local := pc.LocalDescription().SDP
	pwd, ok := sdpAttr(local, "ice-pwd")
	if !ok {
		return nil, errors.New("the browser's offer has no ICE password")
	}
	localFP, err := sdpFingerprint(local)
	if err != nil {
		return nil, err
	}
	answer := webRTCDirectAnswer(target, webRTCDirectUfragPrefix+pwd)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return nil, fmt.Errorf("setting the server's answer: %w", err)
	}
	select {
	case <-hsPipe.opened:
	case <-failed:
		return nil, errors.New("the connection failed (is a Grapevine peer listening there, with that certificate? the browser accepts only the DTLS certificate whose SHA-256 is the address's /certhash)")
	case <-ctx.Done():
		return nil, fmt.Errorf("the data channel did not open: %w", ctx.Err())
	}
	prologue, err := webRTCDirectPrologue(localFP, target.Fingerprint)
	if err != nil {
		return nil, err
	}
	n, err := t.noise.WithSessionOptions(noise.Prologue(prologue))
	if err != nil {
		return nil, err
	}
	hsStream := newWRDStream(hsPipe, 0, wrdMaxMessageSize, nil)
	// The server initiates the handshake; we answer (SecureInbound) and
	// check that its key is p's.
	sc, err := n.SecureInbound(ctx, wrdNetConn{hsStream}, p)
	if err != nil {
		hsStream.Reset()
		return nil, fmt.Errorf("Noise handshake: %w", err)
	}
	c.lpeer, c.rpeer, c.rkey = sc.LocalPeer(), sc.RemotePeer(), sc.RemotePublicKey()
	c.local = ma.StringCast("/ip4/0.0.0.0/udp/0/webrtc-direct")
	c.remote, _ = ma.SplitFunc(raddr, func(c ma.Component) bool { return c.Protocol().Code == ma.P_CERTHASH })
	return c, nil
}

// wrdNetConn is the handshake stream as a net.Conn; closing it during the
// handshake resets it (as go-libp2p's netConnWrapper).
type wrdNetConn struct{ *wrdStream }

func (wrdNetConn) LocalAddr() net.Addr  { return rtcNetAddr{} }
func (wrdNetConn) RemoteAddr() net.Addr { return rtcNetAddr{} }
func (w wrdNetConn) Close() error       { return w.wrdStream.Reset() }

// wrdConn is a secured WebRTC-direct peer connection: streams are data
// channels.
type wrdConn struct {
	connBase
	t        *wrdTransport
	pc       *webrtc.PeerConnection
	incoming chan *wrdStream
}

var _ transport.CapableConn = (*wrdConn)(nil)

func (c *wrdConn) OpenStream(ctx context.Context) (network.MuxedStream, error) {
	if c.IsClosed() {
		return nil, net.ErrClosed
	}
	dc, err := c.pc.CreateDataChannel("", nil)
	if err != nil {
		return nil, err
	}
	pipe := newDCPipe(dc)
	select {
	case <-pipe.opened:
	case <-ctx.Done():
		dc.Close()
		return nil, ctx.Err()
	case <-c.done:
		return nil, net.ErrClosed
	}
	id := uint16(0)
	if p := dc.ID(); p != nil {
		id = *p
	}
	return newWRDStream(pipe, id, wrdMaxMessageSize, nil), nil
}

func (c *wrdConn) AcceptStream() (network.MuxedStream, error) {
	select {
	case s := <-c.incoming:
		return s, nil
	case <-c.done:
		return nil, net.ErrClosed
	}
}
