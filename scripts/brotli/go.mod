module github.com/grapevine-p2p/grapevine/scripts/brotli

go 1.26

require github.com/andybalholm/brotli v1.2.0
