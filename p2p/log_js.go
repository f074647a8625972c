//go:build js

package p2p

import (
	"log/slog"

	"github.com/libp2p/go-libp2p/gologshim"
)

// log is the package's logger in the browser: a log/slog logger through
// go-libp2p's gologshim (the logging the tab's libp2p parts use), with the
// few go-log methods the package calls, so the wasm does not link go-log
// and zap (0.4 MB of code; docs/benchmarks/wasm.md).
var log = slogLogger{gologshim.Logger("grapevine")}

type slogLogger struct{ *slog.Logger }

// Debugw logs at debug level with alternating keys and values.
func (l slogLogger) Debugw(msg string, kv ...any) { l.Debug(msg, kv...) }

// Warnw logs at warning level with alternating keys and values.
func (l slogLogger) Warnw(msg string, kv ...any) { l.Logger.Warn(msg, kv...) }
