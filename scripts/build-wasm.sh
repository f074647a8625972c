#!/usr/bin/env bash
# Builds the Grapevine browser peer: OUT/grapevine.wasm (stripped), and copies
# Go's wasm_exec.js, grapevine.js and grapevine.d.ts next to it, so OUT can be
# served as is, and writes grapevine.wasm.gz (gzip -9) for servers that send it
# to browsers accepting gzip. Prints the raw and gzipped sizes.
#   scripts/build-wasm.sh [OUT]     (default OUT: build/wasm)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/wasm}"
mkdir -p "$out"
GOOS=js GOARCH=wasm go build -trimpath -ldflags="-s -w" -o "$out/grapevine.wasm" ./wasm/cmd/grapevine
goroot="$(go env GOROOT)"
exec_js="$goroot/lib/wasm/wasm_exec.js"
[ -f "$exec_js" ] || exec_js="$goroot/misc/wasm/wasm_exec.js"
cp "$exec_js" "$out/wasm_exec.js"
cp wasm/grapevine.js wasm/grapevine.d.ts "$out/"
# Precompressed copy, served by examples/browser to browsers that accept gzip.
gzip -9 -c "$out/grapevine.wasm" > "$out/grapevine.wasm.gz"
raw=$(stat -c %s "$out/grapevine.wasm")
gz=$(stat -c %s "$out/grapevine.wasm.gz")
printf 'built %s/grapevine.wasm: %d bytes (%.1f MiB), gzip -9: %d bytes (%.1f MiB)\n' \
  "$out" "$raw" "$(echo "$raw/1048576" | bc -l)" "$gz" "$(echo "$gz/1048576" | bc -l)"
