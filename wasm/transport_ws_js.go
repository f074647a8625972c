//go:build js && wasm

package wasm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/coder/websocket"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/transport"
	ma "github.com/multiformats/go-multiaddr"
)

// wsTransport is a dial-only libp2p transport over the browser's WebSocket
// API (through coder/websocket's js implementation). Each WebSocket is one
// raw connection that the upgrader secures with Noise and multiplexes with
// yamux, exactly as go-libp2p's native /ws transport does on the other end.
type wsTransport struct {
	up    transport.Upgrader
	rcmgr network.ResourceManager
}

var _ transport.Transport = (*wsTransport)(nil)

func (t *wsTransport) CanDial(a ma.Multiaddr) bool { return IsWebSocketAddr(a) }
func (t *wsTransport) Protocols() []int            { return []int{ma.P_WS, ma.P_WSS} }
func (t *wsTransport) Proxy() bool                 { return false }

// Listen fails: a web page cannot accept WebSocket connections.
func (t *wsTransport) Listen(ma.Multiaddr) (transport.Listener, error) {
	return nil, errors.New("a browser cannot listen for WebSocket connections")
}

func (t *wsTransport) Dial(ctx context.Context, raddr ma.Multiaddr, p peer.ID) (transport.CapableConn, error) {
	url, err := WebSocketURL(raddr)
	if err != nil {
		return nil, err
	}
	scope, err := t.rcmgr.OpenConnection(network.DirOutbound, true, raddr)
	if err != nil {
		return nil, err
	}
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		scope.Done()
		// The browser hides the reason of a failed WebSocket (security);
		// say what usually causes it.
		return nil, fmt.Errorf("cannot open WebSocket %s (is a Grapevine peer listening there? an https page can only dial wss://): %w", url, err)
	}
	nc := websocket.NetConn(context.Background(), c, websocket.MessageBinary)
	mc := &maConn{Conn: nc, local: ma.StringCast("/ip4/0.0.0.0/tcp/0/ws"), remote: raddr}
	cc, err := t.up.Upgrade(ctx, t, mc, network.DirOutbound, p, scope)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("securing the connection to %s: %w", url, err)
	}
	return cc, nil
}

// maConn is a net.Conn with multiaddrs (manet.Conn).
type maConn struct {
	net.Conn
	local, remote ma.Multiaddr
}

func (c *maConn) LocalMultiaddr() ma.Multiaddr  { return c.local }
func (c *maConn) RemoteMultiaddr() ma.Multiaddr { return c.remote }

// SetDeadline and friends are honoured by the WebSocket net.Conn; the
// wrapper only fixes the method set.
func (c *maConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(t) }
