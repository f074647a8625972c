package p2p

// What a peer delivers of what was published before it joined
// (WithHistory): nothing by default.

import (
	"errors"

	"github.com/grapevine-p2p/grapevine/core"
)

// History says how much of what was published before this peer first
// joined its subscribers receive. "Before it joined" is by the origin's
// signed timestamp: earlier than this peer's first start (with WithDataDir
// the first start with that directory, ever; without, this process's
// start). Messages published after that are delivered (within the group's
// retention) whatever the setting, so a restarted peer with a data
// directory still receives everything it missed while down.
type History struct {
	last int // 0: none
}

// HistoryNone delivers nothing published before this peer first joined
// (the default).
func HistoryNone() History { return History{} }

// WithHistory sets the history a newcomer receives (default HistoryNone).
func WithHistory(h History) Option {
	return func(s *settings) error {
		if h.last < 0 {
			return errors.New("history must not be negative")
		}
		s.durable.history = h
		return nil
	}
}

// admit reports whether m may go to the subscribers: this peer's own
// messages and those published since its first start always may.
func (d *durable) admit(m *core.Message) bool {
	if m.Origin == d.p.id || m.Timestamp >= d.firstStart.UnixNano() {
		return true
	}
	return false
}
