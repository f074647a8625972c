package jsrtc

import (
	"sync"
	"syscall/js"
)

// eventHandlers holds the Go functions set as a browser object's event
// handler properties (onopen, ondatachannel …), so that each can be
// released when it is replaced or the object is closed.
type eventHandlers struct {
	target js.Value

	mu       sync.Mutex
	handlers map[string]js.Func // event name → the Go function set for it
}

func newEventHandlers(target js.Value) eventHandlers {
	return eventHandlers{target: target, handlers: map[string]js.Func{}}
}

// on sets the event handler property name to f, releasing the function
// it replaces.
func (e *eventHandlers) on(name string, f func(this js.Value, args []js.Value) any) {
	fn := js.FuncOf(f)
	e.mu.Lock()
	old, had := e.handlers[name]
	e.handlers[name] = fn
	e.mu.Unlock()
	e.target.Set(name, fn)
	if had {
		old.Release()
	}
}

// release unhooks and releases every handler. The browser may still fire
// events (a close, a state change) after close(): the properties are
// cleared first, or each such event logs "call to released function".
func (e *eventHandlers) release() {
	e.mu.Lock()
	hs := e.handlers
	e.handlers = map[string]js.Func{}
	e.mu.Unlock()
	for name, h := range hs {
		e.target.Set(name, js.Null())
		h.Release()
	}
}
