package p2p

import (
	"sync"
	"time"
)

// logLimiter keeps a hostile peer from filling the log: each reason (a
// kind of bad input) logs at most one line per period; the lines it holds
// back are counted (grapevine_log_suppressed_total) and summed up in one
// "suppressed N" line when the period ends.
type logLimiter struct {
	mu      sync.Mutex
	every   time.Duration
	reasons map[string]*logReason
}

type logReason struct {
	last       time.Time // when a line was last logged
	suppressed int       // lines held back since
}

// allow reports whether a line for reason may be logged now, and how many
// were held back before it.
func (l *logLimiter) allow(reason string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reasons == nil {
		l.reasons = make(map[string]*logReason)
	}
	r := l.reasons[reason]
	if r == nil {
		r = &logReason{}
		l.reasons[reason] = r
	}
	if !r.last.IsZero() && now.Sub(r.last) < l.every {
		r.suppressed++
		return false, 0
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	return true, n
}

// flush returns, and resets, the reasons with lines held back whose period
// has ended, so that a flood that stops is still summed up.
func (l *logLimiter) flush(now time.Time) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out map[string]int
	for reason, r := range l.reasons {
		if now.Sub(r.last) < l.every {
			continue
		}
		if r.suppressed > 0 {
			if out == nil {
				out = make(map[string]int)
			}
			out[reason] = r.suppressed
		}
		// The set of reasons is fixed by the code, but forget idle ones.
		delete(l.reasons, reason)
	}
	return out
}

// warn logs a warning about bad input from a peer, at most one line per
// reason per WithLogRate period.
func (p *Peer) warn(reason, msg string, kv ...any) {
	ok, n := p.logs.allow(reason, time.Now())
	if !ok {
		p.m.logSuppressed.WithLabelValues(reason).Inc()
		return
	}
	if n > 0 {
		kv = append(kv, "suppressed", n)
	}
	log.Warnw(msg, kv...)
}

// flushLogs logs the "suppressed N" summaries of periods that ended
// (driver goroutine, once a second).
func (p *Peer) flushLogs() {
	for reason, n := range p.logs.flush(time.Now()) {
		log.Warnw("similar warnings suppressed", "reason", reason, "suppressed", n, "period", p.s.logEvery.String())
	}
}
