// Package jsrtc is the browser's RTCPeerConnection and RTCDataChannel for
// Go code compiled to js/wasm: the part of pion/webrtc's js wrapper
// (github.com/pion/webrtc/v4, files *_js.go, MIT licence) that the tab's
// WebRTC transports use, with the same names and semantics, so that
// package wasm needs only a different import. pion's wrapper shares its
// types with pion's Go implementation of WebRTC and so links pion's DTLS,
// ICE and STUN packages and encoding/gob, about 0.45 MB of wasm code a tab
// never runs (docs/benchmarks/wasm.md).
//
// Event handlers run in a new goroutine each, as in pion (a js.Func must
// not block). Methods that call into JavaScript turn a JavaScript
// exception into an error.
package jsrtc
