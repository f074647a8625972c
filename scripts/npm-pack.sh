#!/usr/bin/env bash
# Builds the npm package of the browser peer, @grapevine-p2p/peer: stages
# wasm/npm/package.json and README.md, the wasm peer with grapevine.js,
# grapevine.d.ts and Go's wasm_exec.js (built and copied by
# scripts/build-wasm.sh, the same files the example page serves), the
# project's LICENSE and Go's (LICENSE-go, for wasm_exec.js) in OUT/package,
# then runs `npm pack` there. Prints the tarball's path
# (OUT/grapevine-p2p-peer-VERSION.tgz), which installs with
# `npm install PATH`. The package's version must be p2p.Version. Needs npm.
#   scripts/npm-pack.sh [OUT]     (default OUT: build/npm)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build/npm}"
stage="$out/package"
go_version="$(sed -n 's/^const Version = "\(.*\)"$/\1/p' p2p/profile.go)"
pkg_version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' wasm/npm/package.json)"
if [ "$go_version" != "$pkg_version" ]; then
  echo "npm-pack.sh: wasm/npm/package.json has version $pkg_version, p2p.Version is $go_version" >&2
  exit 1
fi
rm -rf "$stage"
mkdir -p "$stage"
NO_BROTLI=1 bash scripts/build-wasm.sh "$stage" >&2
rm -f "$stage/grapevine.wasm.gz" # npm's tarball is compressed already
cp wasm/npm/package.json wasm/npm/README.md LICENSE "$stage/"
cp "$(go env GOROOT)/LICENSE" "$stage/LICENSE-go"
abs_out="$(cd "$out" && pwd)"
tgz="$(cd "$stage" && npm pack --pack-destination "$abs_out" --loglevel=error | tail -n 1)"
echo "$abs_out/$tgz"
