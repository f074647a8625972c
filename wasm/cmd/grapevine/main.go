//go:build js && wasm

// Command grapevine is the WebAssembly program behind grapevine.js: it
// installs the JavaScript entry point and keeps the Go runtime alive.
// Build it with scripts/build-wasm.sh.
package main

import "github.com/grapevine-p2p/grapevine/wasm"

func main() {
	wasm.Export()
	select {}
}
