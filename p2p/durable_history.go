package p2p

// What a peer delivers of what was published before it joined
// (WithHistory): nothing by default, or the last K messages per topic.

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// History says how much of what was published before this peer first
// joined its subscribers receive. "Before it joined" is by the origin's
// signed timestamp: earlier than this peer's first start (with WithDataDir
// the first start with that directory, ever; without, this process's
// start). Messages published after that are delivered (within the group's
// retention) whatever the setting, so a restarted peer with a data
// directory still receives everything it missed while down, and no
// history again.
type History struct {
	all  bool          // everything the group still holds
	last int           // 0: none
	wait time.Duration // how long after joining history is gathered
}

// HistoryNone delivers nothing published before this peer first joined
// (the default).
func HistoryNone() History { return History{} }

// HistoryLast delivers, on a peer's first start, the last k messages per
// topic published before it joined, among those the group still holds
// (its members' stores: StoreTTL, about 30 s with the default profiles) and
// that reach the peer within HistoryWait of its joining. During that
// window the peer pulls at every tick, and holds back what is published
// after it joined; when the window closes, each topic's history goes to
// the subscribers oldest first (by origin timestamp), then what was held
// back, then deliveries as they come. Subscribe before the window closes.
func HistoryLast(k int) History { return History{last: k, wait: HistoryWait} }

// HistoryWait is how long after joining a peer gathers history for
// HistoryLast: 3 s is 30 pull rounds of up to 32 messages each.
const HistoryWait = 3 * time.Second

// String returns "none" or "last:K".
func (h History) String() string {
	if h.all {
		return "all"
	}
	if h.last == 0 {
		return "none"
	}
	return "last:" + strconv.Itoa(h.last)
}

// HistoryAll delivers everything the group still holds, whenever it was
// published, as it arrives (oldest first per origin): the behaviour before
// WithHistory existed.
func HistoryAll() History { return History{all: true} }

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

// historyWindow gathers a newcomer's history (HistoryLast) and holds back
// live deliveries until it closes. Deliveries arrive on the driver
// goroutine (without a data directory) or the writer's; late messages and
// the closing on the driver's.
type historyWindow struct {
	mu       sync.Mutex
	k        int
	open     bool
	deadline time.Time // zero until this peer joined
	byTopic  map[string][]*core.Message
	live     []*core.Message
}

// beforeJoin reports whether m was published before this peer's first start.
func (d *durable) beforeJoin(m *core.Message) bool {
	return !d.history.all && m.Origin != d.p.id && m.Timestamp < d.firstStart.UnixNano()
}

// startHistory opens the history window on a first start with HistoryLast.
func (d *durable) startHistory(firstStart bool) {
	if d.history.last > 0 && firstStart {
		d.hist = &historyWindow{k: d.history.last, open: true, byTopic: map[string][]*core.Message{}}
	}
}

// route delivers m to the subscribers now, keeps it for the history
// window, or withholds it (published before this peer joined).
func (d *durable) route(m *core.Message) {
	if h := d.hist; h != nil {
		h.mu.Lock()
		if h.open {
			if d.beforeJoin(m) {
				if out := h.keep(m); out != nil && d.acks != nil {
					d.acks.dispatched(out, 0) // pushed out of the window: never dispatched
				}
			} else {
				h.live = append(h.live, m)
			}
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
	}
	if d.beforeJoin(m) {
		d.histDropped.Add(1)
		if d.acks != nil {
			d.acks.dispatched(m, 0) // withheld: no acknowledgement to await
		}
		return
	}
	d.p.dispatch(m)
}

// keep adds m to its topic's history, keeping the newest k by timestamp,
// and returns the message that fell out, if any.
func (h *historyWindow) keep(m *core.Message) (out *core.Message) {
	l := h.byTopic[m.Topic]
	i, found := slices.BinarySearchFunc(l, m, cmpHistory)
	if found {
		return nil
	}
	l = slices.Insert(l, i, m)
	if len(l) > h.k {
		out = l[0]
		l = l[1:]
	}
	h.byTopic[m.Topic] = l
	return out
}

func cmpHistory(a, b *core.Message) int {
	return cmp.Or(cmp.Compare(a.Timestamp, b.Timestamp), cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.Seq, b.Seq))
}

// Late implements core.LateReceiver (driver goroutine). A message below
// where this peer's order of its origin started is history if it was
// published before this peer joined; if not, it was overtaken in flight
// for longer than FIFOStart, or published while this peer was joining and
// not yet known to the group: it is delivered late, out of order, rather
// than never. A message in a gap given up (reported lost) is dropped.
func (p *Peer) Late(m *core.Message, beforeStart bool) {
	d := p.dur
	if !beforeStart {
		return
	}
	if !d.beforeJoin(m) {
		d.lateDelivered.Add(1)
		d.deliver(m)
		return
	}
	if h := d.hist; h != nil {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.open {
			if out := h.keep(m); out != nil && d.acks != nil {
				d.acks.dispatched(out, 0) // pushed out of the window: never dispatched
			}
			return
		}
	}
	d.histDropped.Add(1)
}

// historyTick runs the window (driver goroutine): it starts the clock when
// this peer has joined, pulls at every tick while open, and closes it.
func (p *Peer) historyTick() {
	h := p.dur.hist
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.open {
		return
	}
	now := time.Now()
	if h.deadline.IsZero() {
		select {
		case <-p.joined:
			h.deadline = now.Add(p.dur.history.wait)
		default:
			return
		}
	}
	if now.Before(h.deadline) {
		p.engine().PullNow()
		return
	}
	h.open = false
	var hist []*core.Message
	for _, l := range h.byTopic {
		hist = append(hist, l...)
	}
	slices.SortFunc(hist, cmpHistory)
	for _, m := range hist {
		p.dispatch(m)
	}
	for _, m := range h.live {
		p.dispatch(m)
	}
	h.byTopic, h.live = nil, nil
}
