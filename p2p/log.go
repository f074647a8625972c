//go:build !js

package p2p

import logging "github.com/ipfs/go-log/v2"

// log is the package's logger: go-log's "grapevine" subsystem (levels set
// with GOLOG_LOG_LEVEL or logging.SetLogLevel). Moved out of peer.go, so
// that the browser build (log_js.go) does not link go-log and zap.
var log = logging.Logger("grapevine")
