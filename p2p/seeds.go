package p2p

import (
	"context"
	mrand "math/rand/v2"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Joining through seeds (WithSeeds): at most defaultSeedsAtOnce at a time.
//
// One seed that answers is enough to join, and every seed a peer joins
// through costs a connection, the seed's whole member list (about 120
// bytes a member) and, with the overlay, a JOIN with its random walks. A
// peer given more seeds than it tries at once (a user may pass a whole
// member list) tries them in a random order and stops once it has joined;
// the rest are looked at again every seedRecheck and tried only if
// membership still does not know them (a seed in a part of the group this
// peer has never met). Bootstrap peers (WithBootstrap) are DHT entry
// points as well and are all connected (discovery.go's connectLoop).

const (
	// defaultSeedsAtOnce is how many seeds a peer that has not joined
	// tries at the same time: as many as a deployment usually lists, so a
	// peer joins through each of its few seeds, as it did when every seed
	// was dialled at once. Two were tried (docs/benchmarks/ladder.md,
	// session 41): at N = 50, where bench gives every peer eight seeds, a
	// peer then held 17 connections right after formation instead of 29
	// (at most 21, not 39) and half the goroutines and heap of the surplus;
	// but at N = 1,000 on this 2-core machine four of five steady windows
	// slowed (p99 2.1-4.4 s) against one of five with eight (0.7-1.2 s
	// otherwise), with overlays of the same degree and diameter. Until that
	// is understood the default stays where the N = 1,000 figures were
	// measured.
	defaultSeedsAtOnce = 8
	// seedJoinWait is how long a seed that took the connection keeps its
	// slot while this peer has not joined: a join's answer (a round trip
	// and the seed's state) normally comes well within it. A seed whose
	// host is up but whose group member is not (yet), or is overloaded,
	// lets the next seed be tried after it (membership keeps asking the
	// seed it was given last until one answers).
	seedJoinWait = 2 * time.Second
	// seedRecheck is how long after this peer joined a seed not yet
	// reached is looked at again (and at the least how long a seed that
	// fails after that waits; before, a failed seed waits 1 s, doubling
	// to a minute).
	seedRecheck = time.Minute
)

// seedEntry is one seed waiting to be tried.
type seedEntry struct {
	ai       peer.AddrInfo
	due      time.Time     // not tried before
	backoff  time.Duration // wait after the next failure
	attempts int
}

// seedResult is the outcome of one connection attempt.
type seedResult struct {
	e   seedEntry
	err error
}

// joinThroughSeeds connects to the seeds a few at a time and asks
// membership to join through each one reached, until this peer has joined
// (discovery goroutine).
func (d *discovery) joinThroughSeeds(seeds []peer.AddrInfo) {
	defer d.wg.Done()
	p := d.p
	queue := make([]seedEntry, 0, len(seeds))
	for _, ai := range seeds {
		queue = append(queue, seedEntry{ai: ai, backoff: time.Second})
	}
	mrand.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
	results := make(chan seedResult, len(queue))
	var holds []time.Time // slots held by reached seeds until these times (before joining)
	connecting := 0
	joinedSeen := false
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		if !joinedSeen && isClosed(p.joined) {
			joinedSeen = true
			holds = nil
			for i := range queue {
				queue[i].due = later(queue[i].due, now.Add(seedRecheck))
			}
		}
		holds = dropPast(holds, now)
		for connecting+len(holds) < p.s.seedsAtOnce {
			i := firstDue(queue, now)
			if i < 0 {
				break
			}
			e := queue[i]
			queue = append(queue[:i], queue[i+1:]...)
			if joinedSeen && p.knowsPeer(e.ai.ID) {
				continue // in this peer's group already: membership looks after it
			}
			e.attempts++
			connecting++
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				p.ctr.seedDials.Add(1)
				results <- seedResult{e: e, err: d.dial(e.ai)} // buffered for every seed
			}()
		}
		if connecting == 0 && len(queue) == 0 {
			return
		}
		timer.Reset(nextWake(queue, holds, now)) // Go 1.23 timers: nothing stale to drain
		var joined <-chan struct{}
		if !joinedSeen {
			joined = p.joined
		}
		select {
		case r := <-results:
			connecting--
			if r.err != nil {
				if d.ctx.Err() != nil {
					return
				}
				wait := r.e.backoff + time.Duration(mrand.Int64N(int64(r.e.backoff)/4+1))
				p.notice("peer %s is unreachable (%v); retrying in %s", r.e.ai.ID, shortErr(r.err), wait.Round(100*time.Millisecond))
				r.e.due = time.Now().Add(wait)
				if joinedSeen {
					r.e.due = later(r.e.due, time.Now().Add(seedRecheck))
				}
				r.e.backoff = min(2*r.e.backoff, time.Minute)
				queue = append(queue, r.e)
				continue
			}
			if r.e.attempts > 1 {
				p.notice("connected to %s after %d attempts", r.e.ai.ID, r.e.attempts)
			}
			d.refreshDHT()
			p.joinInfos([]peer.AddrInfo{r.e.ai})
			if !joinedSeen {
				holds = append(holds, time.Now().Add(seedJoinWait))
			}
		case <-joined:
		case <-timer.C:
		case <-d.ctx.Done():
			return
		}
	}
}

// knowsPeer reports whether membership knows id, in any state.
func (p *Peer) knowsPeer(id peer.ID) bool {
	known := false
	_ = p.call(context.Background(), func() { known = p.mc.IsMember(NodeID(id)) })
	return known
}

// firstDue returns the index of the first seed due at now, or -1.
func firstDue(queue []seedEntry, now time.Time) int {
	for i, e := range queue {
		if !e.due.After(now) {
			return i
		}
	}
	return -1
}

// nextWake returns how long until a seed falls due or a held slot frees.
func nextWake(queue []seedEntry, holds []time.Time, now time.Time) time.Duration {
	next := now.Add(time.Hour)
	for _, e := range queue {
		if e.due.Before(next) {
			next = e.due
		}
	}
	for _, h := range holds {
		if h.Before(next) {
			next = h
		}
	}
	return max(next.Sub(now), time.Millisecond)
}

// dropPast removes the times at or before now.
func dropPast(ts []time.Time, now time.Time) []time.Time {
	out := ts[:0]
	for _, t := range ts {
		if t.After(now) {
			out = append(out, t)
		}
	}
	return out
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
