package main

import (
	"os"

	golog "github.com/ipfs/go-log/v2"
	"github.com/libp2p/go-libp2p/gologshim"
)

// Route go-libp2p's slog loggers through go-log, so that GOLOG_LOG_LEVEL
// (e.g. "warn", "grapevine=debug,dht=info") controls every subsystem the
// same way. Without GOLOG_LOG_LEVEL the start-up machinery of libp2p (fx,
// "p2p-config") stays quiet: its failures reach the user as one line from
// the peer program instead.
func init() {
	gologshim.SetDefaultHandler(golog.SlogHandler())
	if os.Getenv("GOLOG_LOG_LEVEL") == "" {
		_ = golog.SetLogLevel("p2p-config", "fatal")
	}
}
