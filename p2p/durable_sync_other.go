//go:build !linux && !js

package p2p

import "os"

// fdatasync is f.Sync where the platform has no fdatasync (on macOS Sync
// is F_FULLFSYNC).
func fdatasync(f *os.File) error { return f.Sync() }
