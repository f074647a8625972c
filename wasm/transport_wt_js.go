//go:build js && wasm

package wasm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall/js"
	"time"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/transport"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multihash"
)

// wtHandshakeTimeout bounds the WebTransport session and Noise handshake.
const wtHandshakeTimeout = 10 * time.Second

// wtTransport is a dial-only libp2p WebTransport transport over the
// browser's WebTransport API, following libp2p/specs
// webtransport/webtransport.md as go-libp2p's and js-libp2p's do: the page
// opens https://<host>:<port>/.well-known/libp2p-webtransport?type=noise,
// trusting the server's self-signed certificate only by the SHA-256
// hashes in the multiaddr (serverCertificateHashes); the first
// bidirectional stream runs Noise XX, whose responder payload lists the
// server's certhashes (NoiseExtensions), which must include every hash we
// dialled with; then every libp2p stream is one WebTransport bidirectional
// stream (no yamux: QUIC multiplexes).
type wtTransport struct {
	noise *noise.Transport
	rcmgr network.ResourceManager
}

var _ transport.Transport = (*wtTransport)(nil)

func newWTTransport(sk ic.PrivKey, rm network.ResourceManager) (*wtTransport, error) {
	n, err := noise.New(noise.ID, sk, nil)
	if err != nil {
		return nil, err
	}
	return &wtTransport{noise: n, rcmgr: rm}, nil
}

// webTransportAvailable reports whether the page has the WebTransport API
// (only in secure contexts: https pages, or http://localhost; tested here
// with Chromium).
func webTransportAvailable() bool {
	return js.Global().Get("WebTransport").Type() == js.TypeFunction
}

// pageIsHTTPS reports whether the page was served over https (where it may
// not open ws:// connections).
func pageIsHTTPS() bool {
	loc := js.Global().Get("location")
	return loc.Type() == js.TypeObject && loc.Get("protocol").String() == "https:"
}

func (t *wtTransport) CanDial(a ma.Multiaddr) bool {
	return webTransportAvailable() && IsWebTransportAddr(a)
}
func (t *wtTransport) Protocols() []int { return []int{ma.P_WEBTRANSPORT} }
func (t *wtTransport) Proxy() bool      { return false }

// Listen fails: a web page cannot accept WebTransport sessions.
func (t *wtTransport) Listen(ma.Multiaddr) (transport.Listener, error) {
	return nil, errors.New("a browser cannot listen for WebTransport sessions")
}

func (t *wtTransport) Dial(ctx context.Context, raddr ma.Multiaddr, p peer.ID) (transport.CapableConn, error) {
	target, err := ParseWebTransportAddr(raddr)
	if err != nil {
		return nil, err
	}
	scope, err := outboundScope(t.rcmgr, raddr, p)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, wtHandshakeTimeout)
	defer cancel()
	wt, err := openWebTransport(ctx, target)
	if err != nil {
		scope.Done()
		return nil, err
	}
	c, err := t.handshake(ctx, wt, raddr, p, target.Hashes)
	if err != nil {
		jsCall(wt, "close")
		scope.Done()
		return nil, fmt.Errorf("securing the WebTransport session to %s: %w", target.URL, err)
	}
	c.scope = scope
	c.start()
	return c, nil
}

// openWebTransport opens the session and waits until it is ready.
func openWebTransport(ctx context.Context, target WebTransportTarget) (js.Value, error) {
	hashes := js.Global().Get("Array").New()
	for _, d := range target.CertHashes {
		v := js.Global().Get("Uint8Array").New(len(d))
		js.CopyBytesToJS(v, d)
		hashes.Call("push", map[string]any{"algorithm": "sha-256", "value": v})
	}
	var wt js.Value
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		wt = js.Global().Get("WebTransport").New(target.URL, map[string]any{"serverCertificateHashes": hashes})
		return nil
	}()
	if err != nil {
		return js.Value{}, fmt.Errorf("cannot open WebTransport %s: %w", target.URL, err)
	}
	settle(wt.Get("closed")) // its rejection is reported through ready
	select {
	case res := <-awaitPromise(wt.Get("ready")):
		if res.err != nil {
			// The browser tells no more (security): say what usually
			// causes it.
			return js.Value{}, fmt.Errorf("cannot open WebTransport %s (is a Grapevine peer listening there, with that certificate? the browser accepts a self-signed certificate only if it is ECDSA, valid for at most 14 days, and its SHA-256 is a /certhash of the address): %w", target.URL, res.err)
		}
		return wt, nil
	case <-ctx.Done():
		jsCall(wt, "close")
		return js.Value{}, fmt.Errorf("opening WebTransport %s: %w", target.URL, ctx.Err())
	}
}

// handshake runs Noise XX as initiator on the session's first
// bidirectional stream and checks the server's certhashes.
func (t *wtTransport) handshake(ctx context.Context, wt js.Value, raddr ma.Multiaddr, p peer.ID, dialled []multihash.DecodedMultihash) (*wtConn, error) {
	sp, err := jsCall(wt, "createBidirectionalStream")
	if err != nil {
		return nil, err
	}
	var res jsResult
	select {
	case res = <-awaitPromise(sp):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if res.err != nil {
		return nil, fmt.Errorf("opening the handshake stream: %w", res.err)
	}
	str, err := newWTStream(res.v)
	if err != nil {
		return nil, err
	}
	defer str.Close()
	check := &certhashCheck{dialled: dialled}
	n, err := t.noise.WithSessionOptions(noise.EarlyData(check, nil))
	if err != nil {
		return nil, err
	}
	sc, err := n.SecureOutbound(ctx, str, p)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	if !check.ok {
		return nil, errors.New("the server's Noise handshake did not list its certificate hashes")
	}
	remote, _ := ma.SplitFunc(raddr, func(c ma.Component) bool { return c.Protocol().Code == ma.P_P2P })
	c := &wtConn{connBase: newConnBase(t, "webtransport"), t: t, wt: wt}
	c.shut = func() { jsCall(wt, "close") }
	c.local = ma.StringCast("/ip4/0.0.0.0/udp/0/quic-v1/webtransport")
	c.remote = remote
	c.lpeer, c.rpeer, c.rkey = sc.LocalPeer(), sc.RemotePeer(), sc.RemotePublicKey()
	return c, nil
}

// wtConn is a secured WebTransport session as a libp2p connection: each
// stream is one WebTransport bidirectional stream.
type wtConn struct {
	connBase
	t  *wtTransport
	wt js.Value // the WebTransport object

	acceptMu sync.Mutex
	incoming js.Value // reader of wt.incomingBidirectionalStreams
	pending  <-chan jsResult
}

var _ transport.CapableConn = (*wtConn)(nil)

// start watches the session's end.
func (c *wtConn) start() {
	c.incoming, _ = jsCall(c.wt.Get("incomingBidirectionalStreams"), "getReader")
	closed := awaitPromise(c.wt.Get("closed"))
	go func() {
		select {
		case <-closed:
			c.Close()
		case <-c.done:
		}
	}()
}

func (c *wtConn) OpenStream(ctx context.Context) (network.MuxedStream, error) {
	if c.IsClosed() {
		return nil, net.ErrClosed
	}
	sp, err := jsCall(c.wt, "createBidirectionalStream")
	if err != nil {
		return nil, err
	}
	select {
	case res := <-awaitPromise(sp):
		if res.err != nil {
			return nil, res.err
		}
		return newWTStream(res.v)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, net.ErrClosed
	}
}

// AcceptStream returns the next stream the native peer opened; it fails
// once the session is over (the swarm then closes the connection).
func (c *wtConn) AcceptStream() (network.MuxedStream, error) {
	c.acceptMu.Lock()
	defer c.acceptMu.Unlock()
	if c.incoming.IsUndefined() {
		return nil, errors.New("no incoming streams")
	}
	for {
		if c.pending == nil {
			p, err := jsCall(c.incoming, "read")
			if err != nil {
				return nil, err
			}
			c.pending = awaitPromise(p)
		}
		select {
		case res := <-c.pending:
			c.pending = nil
			if res.err != nil {
				return nil, res.err
			}
			if res.v.Get("done").Truthy() {
				return nil, net.ErrClosed
			}
			return newWTStream(res.v.Get("value"))
		case <-c.done:
			return nil, net.ErrClosed
		}
	}
}
