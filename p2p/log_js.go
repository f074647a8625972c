//go:build js

package p2p

import (
	"fmt"
	"log/slog"

	"github.com/libp2p/go-libp2p/gologshim"
)

// log is the package's logger in the browser: a log/slog logger through
// go-libp2p's gologshim (the logging the tab's libp2p parts use), with the
// go-log (zap SugaredLogger) methods the package may call, so the wasm does
// not link go-log and zap (0.4 MB of code; docs/benchmarks/wasm.md).
// Debug, Info, Warn and Error(msg, key, value, …) are slog's own.
var log = slogLogger{gologshim.Logger("grapevine")}

type slogLogger struct{ *slog.Logger }

// Debugw logs at debug level with alternating keys and values.
func (l slogLogger) Debugw(msg string, kv ...any) { l.Logger.Debug(msg, kv...) }

// Infow logs at info level with alternating keys and values.
func (l slogLogger) Infow(msg string, kv ...any) { l.Logger.Info(msg, kv...) }

// Warnw logs at warning level with alternating keys and values.
func (l slogLogger) Warnw(msg string, kv ...any) { l.Logger.Warn(msg, kv...) }

// Errorw logs at error level with alternating keys and values.
func (l slogLogger) Errorw(msg string, kv ...any) { l.Logger.Error(msg, kv...) }

// Debugf logs a formatted message at debug level.
func (l slogLogger) Debugf(format string, args ...any) { l.Logger.Debug(fmt.Sprintf(format, args...)) }

// Infof logs a formatted message at info level.
func (l slogLogger) Infof(format string, args ...any) { l.Logger.Info(fmt.Sprintf(format, args...)) }

// Warnf logs a formatted message at warning level.
func (l slogLogger) Warnf(format string, args ...any) { l.Logger.Warn(fmt.Sprintf(format, args...)) }

// Errorf logs a formatted message at error level.
func (l slogLogger) Errorf(format string, args ...any) { l.Logger.Error(fmt.Sprintf(format, args...)) }
