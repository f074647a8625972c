package p2p

import (
	rtmetrics "runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grapevine-p2p/grapevine/internal/schedwait"
)

// A process short of CPU: how long its goroutines wait to run.
//
// The driver measures its own lag (lag.go): how long a membership frame
// waited in its inbox, how late a tick came. A frame crosses several other
// goroutines of this process before it reaches the inbox (quic-go's socket
// reader and connection loop, the stream reader), and on its way out as
// many after the driver (the writer, quic-go's connection loop and send
// queue), and when the process is short of CPU it waits at each of them.
// At N = 1,000 peers on two cores, in windows where the process used both,
// 1 in 100 goroutine wake-ups waited 0.3-0.7 s to run while the drivers'
// inboxes seldom held a frame past a probe timeout: probes' acks came back
// after the probe period (5,700-7,600 late acks in a 30 s window), and of
// one window's 750 false suspicions 747 were raised in the seconds when
// that percentile was 0.34 s or more, 3 in one at 0.23 s, none in the 12
// seconds before it, at 0.08-0.23 s (bench -timeline;
// docs/benchmarks/ladder.md, session 42).
//
// The Go runtime keeps the distribution of those waits
// (/sched/latencies:seconds). Its 99th percentile over the last half
// second is this process's starvation, reported to membership as lag
// like a frame that waited that long (Lifeguard's premise: a member whose
// own process is slow must not read its late acks as others' failures),
// and added to the driver's wait between the calls that time IWANTs and
// resends (answerWait).
// Below a tick it is not reported; membership ignores lag under half a
// probe timeout. One sampler serves every peer of the process: the
// figure is the process's, not a peer's. Off by default
// (WithStarvationLag): where every member shares the starved process, as
// in a benchmark of 1,000 peers on two cores, nobody decides while it
// lasts, and a wave of crashes is declared that much later.

const (
	// starvationEvery is how often the figure is renewed: often enough to
	// follow a window that tips over within a second or two, and a read
	// of one histogram (a few microseconds) at most twice a second.
	starvationEvery = 500 * time.Millisecond
	// starvationMinWakes is the fewest waits a sample needs for its 99th
	// percentile to mean anything; a process this quiet is not starved.
	starvationMinWakes = 200
)

type starvationSampler struct {
	mu     sync.Mutex
	at     time.Time
	prev   schedwait.Reading
	cur    schedwait.Reading
	sample []rtmetrics.Sample
	p99    atomic.Int64 // nanoseconds
}

var processStarvation starvationSampler

// recent returns the 99th percentile of the process's goroutine waits over
// the last sampling interval, renewing it if it is older than
// starvationEvery (one caller renews; the others read the last figure).
func (s *starvationSampler) recent(now time.Time) time.Duration {
	if s.mu.TryLock() {
		if now.Sub(s.at) >= starvationEvery {
			s.renew(now)
		}
		s.mu.Unlock()
	}
	return time.Duration(s.p99.Load())
}

func (s *starvationSampler) renew(now time.Time) {
	s.at = now
	if !schedwait.Read(&s.sample, &s.cur) {
		return
	}
	s.p99.Store(int64(starvation99(s.prev, s.cur)))
	s.prev, s.cur = s.cur, s.prev
}

// starvation99 is the 99th percentile of the waits counted between two
// readings, or 0 when fewer than starvationMinWakes were counted.
func starvation99(from, to schedwait.Reading) time.Duration {
	q, n := schedwait.Quantile(from, to, 0.99)
	if n < starvationMinWakes {
		return 0
	}
	return q
}
