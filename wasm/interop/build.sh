#!/usr/bin/env bash
# Installs js-libp2p from npm (package.json, package-lock.json) and bundles
# dial.js for the browser, for the interop test
# (wasm/browsertest/jsinterop_test.go). The install goes outside the
# repository (node_modules holds hundreds of megabytes the go tool would
# walk): into $GRAPEVINE_INTEROP_DIR, default ~/.cache/grapevine-interop.
# Prints the bundle's path. Needs node and npm.
#   wasm/interop/build.sh
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
dir="${GRAPEVINE_INTEROP_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/grapevine-interop}"
mkdir -p "$dir"
cp "$src/package.json" "$src/package-lock.json" "$src/dial.js" "$dir/"
cd "$dir"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
node_modules/.bin/esbuild dial.js --bundle --format=esm --platform=browser --target=chrome120 \
  --outfile=dist/dial.js --log-level=warning >&2
echo "$dir/dist/dial.js"
