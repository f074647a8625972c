#!/usr/bin/env bash
# Installs Chromium for the browser test (Debian/Ubuntu, apt-get).
# Idempotent: does nothing when /usr/bin/chromium (or CHROMIUM) exists.
# Exit status: 0 installed or present; 3 cannot install here (no apt-get,
# not root and no sudo, or the package is unavailable).
set -u
bin="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$bin" ]; then
  echo "chromium: $bin is present"
  exit 0
fi
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "chromium: $(command -v "$b") is present"
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: not installed and there is no apt-get here; install Chromium yourself and set CHROMIUM=/path/to/chromium" >&2
  exit 3
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
  else
    echo "chromium: not installed, and installing it needs root (run: sudo apt-get install -y chromium)" >&2
    exit 3
  fi
fi
echo "chromium: installing with apt-get (once)..."
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get update -qq >/dev/null; then
  echo "chromium: apt-get update failed (offline?); cannot install Chromium" >&2
  exit 3
fi
if ! $sudo apt-get install -y -qq chromium >/dev/null; then
  if ! $sudo apt-get install -y -qq chromium-browser >/dev/null; then
    echo "chromium: apt-get could not install chromium (package unavailable here)" >&2
    exit 3
  fi
fi
for b in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -x "$b" ]; then echo "chromium: installed $b"; exit 0; fi
done
echo "chromium: apt-get finished but no chromium binary was found" >&2
exit 3
