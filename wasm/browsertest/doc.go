// Package browsertest holds the end-to-end test of the browser peer: three
// native peers and two headless Chromium pages running the example page
// (examples/browser) with the wasm peer. It installs Chromium with
// scripts/install-chromium.sh when it is missing and skips, saying why,
// only when that is impossible. Set GRAPEVINE_SCREENSHOTS=dir to keep
// screenshots of both pages.
package browsertest
