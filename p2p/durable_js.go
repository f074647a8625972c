//go:build js

package p2p

import "errors"

// DataFileName is the database file inside a data directory.
const DataFileName = "grapevine.db"

// A browser tab has no file system for bbolt: WithDataDir is refused
// there. The tab keeps the same records in IndexedDB instead (package
// wasm, Options.Persist, given as WithStore).
func openDurableDB(dir string) (durableDB, error) {
	return nil, errors.New("WithDataDir is not supported in the browser (use wasm.Options.Persist: IndexedDB)")
}
