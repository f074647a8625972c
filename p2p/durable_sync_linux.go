package p2p

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync makes a file's written data durable without its metadata
// (the redo log's files never change size after they are created).
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
