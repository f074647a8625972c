package wasm

import _ "embed"

// GrapevineJS is grapevine.js, the ES module that loads grapevine.wasm and
// exposes the browser API. Native programs that serve the browser peer
// (examples/browser) serve it next to the wasm and Go's wasm_exec.js.
//
//go:embed grapevine.js
var GrapevineJS []byte

// GrapevineDTS is grapevine.d.ts, the TypeScript declarations of
// grapevine.js.
//
//go:embed grapevine.d.ts
var GrapevineDTS []byte
