//go:build js && wasm

package wasm

// The page going away (pagehide: a reload, a navigation, the tab closing)
// while an IndexedDB commit of deliveries is in flight. The browser may
// complete such a commit after the page is gone, without its complete
// event ever reaching the page: the watermark would say delivered while
// the subscribers never saw the messages, and they would be lost. So on
// pagehide a commit in flight stops waiting and fails, and p2p hands its
// deliveries to the subscribers at once, still inside the pagehide event
// (the Go runtime runs every goroutine it wakes before it returns to the
// browser). A commit begun after pagehide waits until the page is shown
// again (pageshow, from the back-forward cache); its deliveries are neither
// recorded nor handed over, and are pulled again after a reload.

import (
	"errors"
	"sync"
	"syscall/js"
)

// errPageHidden is the error of a commit in flight at pagehide: its outcome
// is unknown.
var errPageHidden = errors.New("IndexedDB: the page is going away (pagehide) with this commit in flight; delivering its messages now")

// pageLife follows pagehide and pageshow.
type pageLife struct {
	mu      sync.Mutex
	hidden  chan struct{} // closed at pagehide
	shown   chan struct{} // closed at pageshow after a pagehide
	release func()
}

func newPageLife() *pageLife {
	l := &pageLife{hidden: make(chan struct{}), release: func() {}}
	g := js.Global()
	if g.Get("addEventListener").Type() != js.TypeFunction {
		return l // a worker: no page to hide
	}
	hide := js.FuncOf(func(js.Value, []js.Value) any {
		l.mu.Lock()
		select {
		case <-l.hidden:
		default:
			close(l.hidden)
			l.shown = make(chan struct{})
		}
		l.mu.Unlock()
		return nil
	})
	show := js.FuncOf(func(js.Value, []js.Value) any {
		l.mu.Lock()
		select {
		case <-l.hidden:
			close(l.shown)
			l.hidden = make(chan struct{})
		default:
		}
		l.mu.Unlock()
		return nil
	})
	g.Call("addEventListener", "pagehide", hide)
	g.Call("addEventListener", "pageshow", show)
	l.release = func() {
		g.Call("removeEventListener", "pagehide", hide)
		g.Call("removeEventListener", "pageshow", show)
		hide.Release()
		show.Release()
	}
	return l
}

// state returns the channel closed at the next pagehide, and, if the page
// is hidden now, the channel closed when it is shown again (else nil).
func (l *pageLife) state() (hidden, shown <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.hidden:
		return l.hidden, l.shown
	default:
		return l.hidden, nil
	}
}

// waitShown blocks while the page is hidden and returns the channel
// closed at the next pagehide.
func (l *pageLife) waitShown() <-chan struct{} {
	for {
		hidden, shown := l.state()
		if shown == nil {
			return hidden
		}
		<-shown
	}
}
