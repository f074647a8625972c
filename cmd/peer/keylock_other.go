//go:build !unix

package main

import "os"

// lockKey is a no-op where flock is not available.
func lockKey(path string) (*os.File, error) { return nil, nil }
