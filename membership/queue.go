package membership

import (
	"hash/maphash"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// update is one queued membership update: an encoded record about one
// member, sent at most limit times (λ·log n). A newer update about the same
// member replaces the older one, which is then obsolete.
type update struct {
	about core.NodeID
	typ   uint8
	rec   []byte // complete record: type, length, body
	sent  int
	order uint64 // queue insertion counter: larger is newer
	born  uint64 // tick it was queued (reliable links: its lifetime starts)
	// dests holds the destinations (keyed hashes, reliable.go) it went to,
	// when the links are reliable; nil otherwise
	dests []uint64

	// fewer, when set, caps its sends below the queue's limit
	// (relayed verdict batches, verdict_batch.go)
	fewer int

	picked   bool // sent by the fill in progress
	obsolete bool // replaced by a newer update about the same member
}

// queue is the dissemination queue: least transmitted first, newest first
// among equals (SWIM's infection-style dissemination, with memberlist's
// refinement of preferring fresh updates).
type queue struct {
	items  []*update
	byID   map[core.NodeID]*update
	next   uint64
	sorted bool
	tmp    []*update
	stale  int // obsolete updates still in items

	// reliable: an update goes at most once to each destination (reliable.go)
	reliable bool
	seed     maphash.Seed
	// heardFrom counts the destinations noted because they sent this
	// member the update themselves (heard, reliable.go).
	heardFrom uint64
	// sentAlive, sentBump and sentVerdicts count the sends of those
	// record types (Stats.UpdatesSentAlive and the others).
	sentAlive, sentBump, sentVerdicts uint64
}

// countSent counts one send of an update of type typ.
func (q *queue) countSent(typ uint8) {
	switch typ {
	case RecAlive:
		q.sentAlive++
	case RecBump:
		q.sentBump++
	case RecVerdicts:
		q.sentVerdicts++
	}
}

func (q *queue) len() int { return len(q.items) - q.stale }

// holds reports whether the queued update about id, if any, is a record
// of type typ.
func (q *queue) holds(id core.NodeID, typ uint8) bool {
	u := q.byID[id]
	return u != nil && !u.obsolete && u.typ == typ
}

// push queues rec about member id, replacing any older update about id. It
// returns how many updates the bound max forced out.
func (q *queue) push(id core.NodeID, typ uint8, rec []byte, max int, now uint64) (dropped int) {
	if old := q.byID[id]; old != nil {
		// Obsolete: skipped by fill and dropped at the next reorder.
		old.obsolete = true
		q.stale++
	}
	q.next++
	u := &update{about: id, typ: typ, rec: rec, order: q.next, born: now}
	if q.byID == nil {
		q.byID = make(map[core.NodeID]*update)
	}
	q.byID[id] = u
	q.items = append(q.items, u)
	q.sorted = false
	if len(q.items) > max && q.stale > 0 {
		q.compact()
	}
	for len(q.items) > max {
		q.sort()
		// Drop the most transmitted, oldest: it has done most of its work.
		victim := q.items[len(q.items)-1]
		q.remove(victim)
		dropped++
	}
	return dropped
}

// compact drops obsolete updates.
func (q *queue) compact() {
	keep := q.items[:0]
	for _, u := range q.items {
		if !u.obsolete {
			keep = append(keep, u)
		}
	}
	clear(q.items[len(keep):])
	q.items = keep
	q.stale = 0
}

func (q *queue) remove(u *update) {
	i := slices.Index(q.items, u)
	if i >= 0 {
		q.items = slices.Delete(q.items, i, i+1)
	}
	if q.byID[u.about] == u {
		delete(q.byID, u.about)
	}
}

// sort orders the queue. less is a strict total order (insertion counters
// are unique), so the sorted order is unique and any method of reaching it
// gives the same queue. The common case is cheap: the queue was sorted at
// the last fill and updates pushed since (never yet sent, newer than
// everything) sit at the end in insertion order, i.e. in reverse sorted
// order; they are reversed and merged in one pass instead of re-sorting
// the whole queue.
func (q *queue) sort() {
	if q.sorted {
		return
	}
	q.sorted = true
	items := q.items
	k := 1
	for k < len(items) && less(items[k-1], items[k]) < 0 {
		k++
	}
	if k >= len(items) {
		return
	}
	tail := items[k:]
	descending := true
	for i := 1; i < len(tail); i++ {
		if less(tail[i], tail[i-1]) >= 0 {
			descending = false
			break
		}
	}
	if descending {
		slices.Reverse(tail)
	} else {
		slices.SortFunc(tail, less)
	}
	if less(items[k-1], tail[0]) < 0 {
		return // already in order
	}
	// Merge the sorted prefix items[:k] and the sorted tail.
	head := append(q.tmp[:0], items[:k]...)
	i, j, o := 0, 0, 0
	for i < len(head) && j < len(tail) {
		if less(tail[j], head[i]) < 0 {
			items[o] = tail[j]
			j++
		} else {
			items[o] = head[i]
			i++
		}
		o++
	}
	for i < len(head) {
		items[o] = head[i]
		i++
		o++
	}
	// What is left of tail is already in place.
	clear(head)
	q.tmp = head[:0]
}

// fill appends to dst the queued records that fit in room bytes for
// destination to, first the update about prefer (if any, e.g. the
// suspicion of the member being probed: Lifeguard's buddy system), then
// least sent and newest first. Each appended update counts one
// transmission; updates that reach limit leave the queue. Over reliable
// links an update already sent to to is skipped. It returns dst and the
// number of records appended.
func (q *queue) fill(dst []byte, room int, limit int, prefer core.NodeID, preferTyp uint8, to core.NodeID) ([]byte, int) {
	if q.len() == 0 || room <= 0 {
		return dst, 0
	}
	dest := q.destKey(to)
	n := 0
	var first *update
	if prefer != "" {
		if u := q.byID[prefer]; u != nil && u.typ == preferTyp && len(u.rec) <= room && !u.wentTo(dest) {
			dst = append(dst, u.rec...)
			room -= len(u.rec)
			u.sent++
			u.noteDest(dest)
			n++
			first = u
			q.countSent(u.typ)
		}
	}
	q.sort()
	smallest := 3
	if first != nil {
		first.picked = true
	}
	// Choose first, then grow dst once: appending record by record grew
	// a frame several times over (this was the membership's largest
	// allocation while a group of 300 formed, p2pscale).
	need := 0
	for _, u := range q.items {
		if room < smallest {
			break
		}
		if u == first || u.obsolete {
			continue
		}
		if len(u.rec) > room || u.wentTo(dest) {
			continue
		}
		room -= len(u.rec)
		need += len(u.rec)
		u.picked = true
	}
	dst = slices.Grow(dst, need)
	for _, u := range q.items {
		if u.picked && u != first {
			q.countSent(u.typ)
			dst = append(dst, u.rec...)
			u.sent++
			u.noteDest(dest)
			n++
		}
	}
	if n > 0 {
		q.afterFill(limit)
	}
	return dst, n
}

// afterFill restores the order after a fill raised the transmission count of
// the picked updates: picked and unpicked updates are each still in order,
// so one merge (no sort) suffices. Updates that reached limit leave.
func (q *queue) afterFill(limit int) {
	picked := q.tmp[:0]
	rest := q.items[:0]
	for _, u := range q.items {
		switch {
		case u.obsolete:
			continue
		case !u.picked:
			rest = append(rest, u)
		case u.sent >= limit || (u.fewer > 0 && u.sent >= u.fewer):
			u.picked = false
			if q.byID[u.about] == u {
				delete(q.byID, u.about)
			}
		default:
			u.picked = false
			picked = append(picked, u)
		}
	}
	// Every picked update gained one transmission, so picked updates keep
	// their relative order.
	// Merge picked into rest, in place from the back.
	nr, np := len(rest), len(picked)
	total := nr + np
	if cap(q.items) < total {
		grown := make([]*update, total, total*2)
		copy(grown, rest)
		rest = grown[:nr]
	}
	out := rest[:total]
	i, j, k := nr-1, np-1, total-1
	for j >= 0 {
		if i >= 0 && less(rest[i], picked[j]) < 0 {
			out[k] = picked[j]
			j--
		} else if i >= 0 {
			out[k] = rest[i]
			i--
		} else {
			out[k] = picked[j]
			j--
		}
		k--
	}
	for idx := total; idx < len(q.items); idx++ {
		q.items[idx] = nil
	}
	q.items = out
	clear(picked)
	q.tmp = picked[:0]
	q.sorted = true
	q.stale = 0
}

// less orders updates least sent first, newest first among equals.
func less(a, b *update) int {
	if a.sent != b.sent {
		return a.sent - b.sent
	}
	switch {
	case a.order > b.order:
		return -1
	case a.order < b.order:
		return 1
	}
	return 0
}
