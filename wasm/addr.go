package wasm

import (
	"fmt"
	"net"
	"strconv"

	ma "github.com/multiformats/go-multiaddr"
)

// WebSocketURL turns a libp2p WebSocket multiaddr into the URL a browser
// dials: /ip4/127.0.0.1/tcp/4001/ws becomes ws://127.0.0.1:4001/, and
// /dns4/example.org/tcp/443/wss (or .../tls/ws, or .../tls/sni/<name>/ws)
// becomes wss://example.org:443/. A trailing /p2p/<peer ID> is ignored. It
// returns an error for any other address (TCP, QUIC, circuit, ...).
func WebSocketURL(a ma.Multiaddr) (string, error) {
	var host, port string
	secure, ws := false, false
	var bad error
	ma.ForEach(a, func(c ma.Component) bool {
		switch c.Protocol().Code {
		case ma.P_IP4, ma.P_DNS4, ma.P_DNS, ma.P_DNS6:
			if host != "" {
				bad = fmt.Errorf("two host parts in %s", a)
				return false
			}
			host = c.Value()
		case ma.P_IP6:
			if host != "" {
				bad = fmt.Errorf("two host parts in %s", a)
				return false
			}
			host = "[" + c.Value() + "]"
		case ma.P_TCP:
			port = c.Value()
		case ma.P_TLS, ma.P_SNI:
			secure = true
		case ma.P_WS:
			ws = true
		case ma.P_WSS:
			ws, secure = true, true
		case ma.P_P2P:
		default:
			bad = fmt.Errorf("%s is not a WebSocket address (unexpected /%s)", a, c.Protocol().Name)
			return false
		}
		return true
	})
	if bad != nil {
		return "", bad
	}
	if !ws || host == "" || port == "" {
		return "", fmt.Errorf("%s is not a WebSocket address (it needs a host, /tcp/<port> and /ws or /wss)", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("bad port in %s", a)
	}
	scheme := "ws"
	if secure {
		scheme = "wss"
	}
	return scheme + "://" + net.JoinHostPort(trimBrackets(host), port) + "/", nil
}

func trimBrackets(h string) string {
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// IsWebSocketAddr reports whether a browser can dial a (WebSocketURL
// accepts it).
func IsWebSocketAddr(a ma.Multiaddr) bool {
	_, err := WebSocketURL(a)
	return err == nil
}
