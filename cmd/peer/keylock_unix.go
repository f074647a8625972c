//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockKey takes an exclusive advisory lock (flock) on the key file for as
// long as the process runs (the returned file holds it; the kernel drops
// it when the process exits, however it exits). Two processes with one key
// would answer for one peer ID, each refuting the other's liveness
// updates, and the group would flap between them.
func lockKey(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open key file %s to lock it: %v", path, errors.Unwrap(err))
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("key file %s is in use by another running peer (each running peer needs its own key)", path)
		}
		return nil, fmt.Errorf("cannot lock key file %s: %v", path, err)
	}
	return f, nil
}
