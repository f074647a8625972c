#!/usr/bin/env bash
# Builds the Grapevine browser peer: OUT/grapevine.wasm (stripped), and copies
# Go's wasm_exec.js, grapevine.js and grapevine.d.ts next to it, so OUT can be
# served as is, and writes grapevine.wasm.gz (gzip -9) and grapevine.wasm.br
# (brotli -q 11, window 2^24) for servers that send them to browsers accepting
# gzip or br (examples/browser does). The brotli copy is made by the brotli
# command if installed, else by scripts/brotli (a pure-Go encoder, `go run`,
# about a minute for 20 MB); set NO_BROTLI=1 to skip it. Prints the sizes.
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
# Precompressed copies, served by examples/browser to browsers that accept them.
gzip -9 -c "$out/grapevine.wasm" > "$out/grapevine.wasm.gz"
rm -f "$out/grapevine.wasm.br"
if [ -z "${NO_BROTLI:-}" ]; then
  if command -v brotli >/dev/null; then
    brotli -q 11 -w 24 -f -o "$out/grapevine.wasm.br" "$out/grapevine.wasm"
  else
    abs_out="$(cd "$out" && pwd)"
    (cd scripts/brotli && go run . -q 11 -w 24 "$abs_out/grapevine.wasm" "$abs_out/grapevine.wasm.br") ||
      echo "build-wasm.sh: no brotli copy (no brotli command, and scripts/brotli failed)" >&2
  fi
fi
mib() { echo "$1/1048576" | bc -l; }
raw=$(stat -c %s "$out/grapevine.wasm")
gz=$(stat -c %s "$out/grapevine.wasm.gz")
printf 'built %s/grapevine.wasm: %d bytes (%.1f MiB), gzip -9: %d bytes (%.2f MiB)' \
  "$out" "$raw" "$(mib "$raw")" "$gz" "$(mib "$gz")"
if [ -f "$out/grapevine.wasm.br" ]; then
  br=$(stat -c %s "$out/grapevine.wasm.br")
  printf ', brotli: %d bytes (%.2f MiB)' "$br" "$(mib "$br")"
fi
echo
