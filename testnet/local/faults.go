package local

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Injector decides, for every frame that crosses the transport adapter,
// whether it is dropped and how long it is held back. It applies a
// scenario's loss, delay, jitter, per-link rules, partitions and slow
// peers, on a clock that starts with Start. It is safe for concurrent use.
type Injector struct {
	f     Faults
	n     int
	group [][]int // per partition: peer -> group number

	mu  sync.Mutex
	rng *rand.Rand

	t0    atomic.Int64  // unix nanos of the scenario clock's start; 0: not started
	ready chan struct{} // closed by Start
	once  sync.Once

	// Counters of frames that crossed the injector.
	Frames, Dropped, Delayed atomic.Uint64
	// PartitionDropped counts frames dropped because a partition separated
	// the two peers (part of Dropped).
	PartitionDropped atomic.Uint64
	// Spared counts frames spared by ReliableState (full-state exchanges
	// and fallback probes).
	Spared atomic.Uint64
}

// NewInjector returns an injector for n peers; seed makes its decisions
// reproducible for a given order of frames.
func NewInjector(f Faults, n int, seed uint64) *Injector {
	in := &Injector{f: f, n: n, rng: rand.New(rand.NewPCG(seed, 0x6661756c7473)), ready: make(chan struct{})}
	for _, p := range f.Partitions {
		g := make([]int, n)
		for i := range g {
			g[i] = len(p.Groups) // the peers not listed
		}
		for gi, ps := range p.Groups {
			for _, x := range ps {
				if x >= 0 && x < n {
					g[x] = gi
				}
			}
		}
		in.group = append(in.group, g)
	}
	return in
}

// Start starts the scenario clock (time-windowed faults count from it).
func (in *Injector) Start(t time.Time) {
	in.once.Do(func() {
		in.t0.Store(t.UnixNano())
		close(in.ready)
	})
}

// Ready is closed when the scenario clock starts.
func (in *Injector) Ready() <-chan struct{} { return in.ready }

// T0 returns the scenario clock's start (zero before Start).
func (in *Injector) T0() time.Time {
	t := in.t0.Load()
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(0, t)
}

// elapsed returns the scenario clock, or -1 before Start.
func (in *Injector) elapsed(now time.Time) time.Duration {
	t0 := in.t0.Load()
	if t0 == 0 {
		return -1
	}
	return time.Duration(now.UnixNano() - t0)
}

func active(t time.Duration, at, until Duration) bool {
	return t >= 0 && t >= at.D() && (until == 0 || t < until.D())
}

// Partitioned reports whether a partition separates peers a and b at
// scenario time t.
func (in *Injector) Partitioned(a, b int, t time.Duration) bool {
	for i, p := range in.f.Partitions {
		if active(t, p.At, p.Heal) && in.group[i][a] != in.group[i][b] {
			return true
		}
	}
	return false
}

func contains(ps Peers, x int) bool {
	for _, p := range ps {
		if p == x {
			return true
		}
	}
	return false
}

// Membership records that travel on memberlist's TCP path: the state
// exchange (membership.RecState, and the digest exchange's RecStateDigest
// and RecStateWant) and the fallback probe and its ack
// (membership.RecPingFallback, membership.RecAckFallback).
const (
	recState        = 0x48
	recPingFallback = 0x49
	recAckFallback  = 0x4a
	recStateDigest  = 0x4b
	recStateWant    = 0x4c
)

// carriesState reports whether frame (version byte, then records: type,
// uvarint length, body) holds a full-state exchange record or a fallback
// probe or ack (or a digest exchange's record): the frames ReliableState
// spares.
func carriesState(frame []byte) bool {
	if len(frame) < 2 {
		return false
	}
	b := frame[1:]
	for len(b) > 0 {
		t := b[0]
		n, k := binary.Uvarint(b[1:])
		if k <= 0 || n > uint64(len(b)-1-k) {
			return false
		}
		if t == recState || t == recPingFallback || t == recAckFallback || t == recStateDigest || t == recStateWant {
			return true
		}
		b = b[1+k+int(n):]
	}
	return false
}

// Decide returns whether a frame from peer `from` to peer `to` is dropped,
// and otherwise how long it is delayed.
func (in *Injector) Decide(from, to int) (drop bool, delay time.Duration) {
	return in.DecideFrame(from, to, nil)
}

// DecideFrame is Decide for a frame whose content (without its length
// prefix) is known: with ReliableState, full-state exchanges and fallback
// probes pass unharmed unless a partition separates the peers.
func (in *Injector) DecideFrame(from, to int, frame []byte) (drop bool, delay time.Duration) {
	in.Frames.Add(1)
	if from < 0 || to < 0 || from >= in.n || to >= in.n {
		return false, 0
	}
	t := in.elapsed(time.Now())
	if in.Partitioned(from, to, t) {
		in.Dropped.Add(1)
		in.PartitionDropped.Add(1)
		return true, 0
	}
	if in.f.ReliableState && frame != nil && carriesState(frame) {
		in.Spared.Add(1)
		return false, 0
	}
	loss, d, j := in.f.Loss, in.f.Delay.D(), in.f.Jitter.D()
	for _, l := range in.f.Links {
		if !active(t, l.At, l.Until) {
			continue
		}
		if (contains(l.From, from) && contains(l.To, to)) || (l.Both && contains(l.From, to) && contains(l.To, from)) {
			loss, d, j = l.Loss, l.Delay.D(), l.Jitter.D()
		}
	}
	for _, s := range in.f.Slow {
		if (s.Peer == from || s.Peer == to) && active(t, s.At, s.Until) {
			d += s.Delay.D()
			j += s.Jitter.D()
		}
	}
	in.mu.Lock()
	if loss > 0 && in.rng.Float64() < loss {
		in.mu.Unlock()
		in.Dropped.Add(1)
		return true, 0
	}
	if j > 0 {
		d += time.Duration(in.rng.Int64N(int64(j) + 1))
	}
	in.mu.Unlock()
	if d > 0 {
		in.Delayed.Add(1)
	}
	return false, d
}
