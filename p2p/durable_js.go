//go:build js

package p2p

import "errors"

// DataFileName is the database file inside a data directory.
const DataFileName = "grapevine.db"

// A browser tab has no file system for bbolt: WithDataDir is refused there
// (IndexedDB persistence is not implemented).
func openDurableDB(dir string) (durableDB, error) {
	return nil, errors.New("WithDataDir is not supported in the browser")
}
