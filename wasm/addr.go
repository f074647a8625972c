package wasm

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

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

// isRTCAddr reports whether a is a browser's WebRTC address:
// .../p2p/<relay>/p2p-circuit/webrtc[/p2p/<peer>].
func isRTCAddr(a ma.Multiaddr) bool {
	_, ok := splitRTCAddr(a)
	return ok
}

// splitRTCAddr returns the relay part of a WebRTC address (everything
// before /p2p-circuit).
func splitRTCAddr(a ma.Multiaddr) (relay ma.Multiaddr, ok bool) {
	var before []ma.Component
	seenCircuit, seenRTC := false, false
	for _, c := range a {
		switch {
		case c.Protocol().Code == ma.P_CIRCUIT:
			if seenCircuit {
				return nil, false
			}
			seenCircuit = true
		case c.Protocol().Code == ma.P_WEBRTC:
			if !seenCircuit || seenRTC {
				return nil, false
			}
			seenRTC = true
		case seenRTC:
			if c.Protocol().Code != ma.P_P2P {
				return nil, false
			}
		case seenCircuit:
			return nil, false
		default:
			before = append(before, c)
		}
	}
	if !seenRTC || len(before) == 0 {
		return nil, false
	}
	return ma.Multiaddr(before), true
}

// ICEServer is one STUN or TURN server for WebRTC.
type ICEServer struct {
	URL                  string // stun:host:port, turn:host:port?transport=udp, ...
	Username, Credential string // TURN credentials
}

// ParseICEServers parses ICE server URLs: "stun:host:port",
// "turn:host:port", and TURN with credentials written
// "turn:user:password@host:port" (user and password percent-encoded if
// they contain ':' or '@'). Empty entries are skipped.
func ParseICEServers(urls []string) ([]ICEServer, error) {
	var out []ICEServer
	for _, s := range urls {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		scheme, rest, ok := strings.Cut(s, ":")
		if !ok || (scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns") {
			return nil, fmt.Errorf("ICE server %q must start with stun:, stuns:, turn: or turns:", s)
		}
		srv := ICEServer{URL: s}
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if scheme == "stun" || scheme == "stuns" {
				return nil, fmt.Errorf("ICE server %q: STUN servers take no credentials", s)
			}
			user, pass, ok := strings.Cut(rest[:at], ":")
			u, err1 := url.PathUnescape(user)
			p, err2 := url.PathUnescape(pass)
			if !ok || err1 != nil || err2 != nil || u == "" {
				return nil, fmt.Errorf("ICE server %q: credentials must be written user:password@", s)
			}
			srv = ICEServer{URL: scheme + ":" + rest[at+1:], Username: u, Credential: p}
		}
		if strings.TrimPrefix(srv.URL, scheme+":") == "" {
			return nil, fmt.Errorf("ICE server %q has no host", s)
		}
		out = append(out, srv)
	}
	return out, nil
}
