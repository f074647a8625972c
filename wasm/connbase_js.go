//go:build js && wasm

package wasm

import (
	"sync"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/transport"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	ma "github.com/multiformats/go-multiaddr"
)

// connBase is what the tab's own secured connections (WebTransport,
// WebRTC-direct) have in common: the two ends' identities and addresses,
// the resource scope, and closing once. The embedding type sets tpt, kind
// and shut (which closes the browser object underneath).
type connBase struct {
	tpt           transport.Transport
	kind          string // ConnectionState's Transport
	shut          func()
	local, remote ma.Multiaddr
	lpeer, rpeer  peer.ID
	rkey          ic.PubKey
	scope         network.ConnManagementScope
	done          chan struct{}
	once          sync.Once
}

// outboundScope opens the resource-manager scope of an outbound connection
// to p at raddr; the caller calls Done on it if the dial fails.
func outboundScope(rcmgr network.ResourceManager, raddr ma.Multiaddr, p peer.ID) (network.ConnManagementScope, error) {
	scope, err := rcmgr.OpenConnection(network.DirOutbound, false, raddr)
	if err != nil {
		return nil, err
	}
	if err := scope.SetPeer(p); err != nil {
		scope.Done()
		return nil, err
	}
	return scope, nil
}

func newConnBase(tpt transport.Transport, kind string) connBase {
	return connBase{tpt: tpt, kind: kind, done: make(chan struct{})}
}

// Close closes the connection once: the browser object, then the scope.
func (c *connBase) Close() error {
	c.once.Do(func() {
		close(c.done)
		if c.shut != nil {
			c.shut()
		}
		if c.scope != nil {
			c.scope.Done()
		}
	})
	return nil
}

func (c *connBase) CloseWithError(network.ConnErrorCode) error { return c.Close() }

func (c *connBase) IsClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *connBase) As(any) bool                    { return false }
func (c *connBase) LocalPeer() peer.ID             { return c.lpeer }
func (c *connBase) RemotePeer() peer.ID            { return c.rpeer }
func (c *connBase) RemotePublicKey() ic.PubKey     { return c.rkey }
func (c *connBase) LocalMultiaddr() ma.Multiaddr   { return c.local }
func (c *connBase) RemoteMultiaddr() ma.Multiaddr  { return c.remote }
func (c *connBase) Scope() network.ConnScope       { return c.scope }
func (c *connBase) Transport() transport.Transport { return c.tpt }

func (c *connBase) ConnState() network.ConnectionState {
	return network.ConnectionState{Transport: c.kind, Security: noise.ID}
}
