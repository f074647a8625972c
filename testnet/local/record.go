package local

import (
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/libp2p/go-libp2p/core/crypto"
)

// Record kinds: everything the report is computed from is one of these,
// stamped with the observing peer's own clock.
const (
	RecStart    = "start"    // a peer instance started (Peer = index, Inst = instance)
	RecClock    = "clock"    // the scenario clock started (T)
	RecEnd      = "end"      // the scenario clock ended (T)
	RecPublish  = "publish"  // Peer published (Origin = Peer, Seq) at T
	RecDeliver  = "deliver"  // Peer delivered (Origin, Seq) at T; Lat = T - origin's timestamp
	RecEvent    = "event"    // Peer's membership said Ev about Subj at T
	RecCrash    = "crash"    // Peer was killed at T (no leave)
	RecStats    = "stats"    // Peer's counters (instance Inst) at T
	RecFault    = "fault"    // a scheduled fault took effect (Ev: partition, heal)
	RecInjected = "injected" // injector counters of one process (Frames, Bytes = dropped)
)

// Record is one observation. In --procs mode peers write them as JSON
// lines to their parent.
type Record struct {
	Kind   string `json:"k"`
	T      int64  `json:"t"` // unix nanoseconds, observer's clock
	Peer   int    `json:"p"`
	Inst   int    `json:"i,omitempty"`
	Origin int    `json:"o"`
	Seq    uint64 `json:"s,omitempty"`
	Lat    int64  `json:"l,omitempty"`
	Ev     string `json:"e,omitempty"`
	Subj   int    `json:"j"`
	Addr   string `json:"a,omitempty"`
	// stats
	Frames  uint64 `json:"f,omitempty"`
	Bytes   uint64 `json:"b,omitempty"`
	Dropped uint64 `json:"d,omitempty"` // queue drops (stats)
	// of which no stream could be opened / the stream failed (the rest:
	// the peer's queue was full)
	DropNoStream uint64 `json:"dn,omitempty"`
	DropFailed   uint64 `json:"df,omitempty"`
	// SWIM's probes: pings sent, acks that came after the probe timeout,
	// ping-reqs sent (a probe health a run without loss should keep near
	// zero late acks)
	Pings    uint64 `json:"pg,omitempty"`
	LateAcks uint64 `json:"la,omitempty"`
	PingReqs uint64 `json:"pr,omitempty"`
}

// PeerKey returns peer i's identity in a testnet seeded with seed, the same
// in every process, so that every peer knows every other peer's ID.
func PeerKey(seed uint64, i int) crypto.PrivKey {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	binary.LittleEndian.PutUint64(s[8:], uint64(i))
	copy(s[16:], "grapevine-tnet")
	sk, _, err := crypto.GenerateEd25519Key(rand.NewChaCha8(s))
	if err != nil {
		panic(err) // ed25519 key generation from a reader that never fails
	}
	return sk
}

// collector gathers records and keeps the live state the progress line
// shows.
type collector struct {
	mu   sync.Mutex
	recs []Record
	n    int

	running   []bool
	views     [][]string // views[obs][subj]: last state obs's membership reported
	delivered uint64
	published uint64
	joinDone  chan struct{}
	joinOnce  sync.Once
}

func newCollector(n int) *collector {
	c := &collector{n: n, running: make([]bool, n), views: make([][]string, n), joinDone: make(chan struct{})}
	return c
}

func (c *collector) add(r Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r)
	switch r.Kind {
	case RecStart:
		if r.Peer >= 0 && r.Peer < c.n {
			c.running[r.Peer] = true
			c.views[r.Peer] = make([]string, c.n)
		}
	case RecCrash:
		if r.Peer >= 0 && r.Peer < c.n {
			c.running[r.Peer] = false
			c.views[r.Peer] = nil
		}
	case RecPublish:
		c.published++
	case RecDeliver:
		c.delivered++
	case RecEvent:
		if r.Peer >= 0 && r.Peer < c.n && r.Subj >= 0 && r.Subj < c.n && c.views[r.Peer] != nil {
			c.views[r.Peer][r.Subj] = stateOf(r.Ev)
		}
	}
	if r.Kind == RecEvent || r.Kind == RecStart {
		if c.completeLocked() {
			c.joinOnce.Do(func() { close(c.joinDone) })
		}
	}
}

// stateOf maps an event kind to the member state it leaves behind.
func stateOf(ev string) string {
	switch ev {
	case "suspect":
		return "suspect"
	case "fail":
		return "dead"
	case "leave":
		return "left"
	}
	return "alive" // join, alive, rejoin, update
}

// completeLocked: every peer is running and sees every other alive.
func (c *collector) completeLocked() bool {
	for _, r := range c.running {
		if !r {
			return false
		}
	}
	for o := 0; o < c.n; o++ {
		if !c.running[o] {
			continue
		}
		for s := 0; s < c.n; s++ {
			if s != o && c.running[s] && c.views[o][s] != "alive" {
				return false
			}
		}
	}
	return true
}

// live is what the progress line shows.
type live struct {
	running              int
	viewMin, viewMax     int
	viewMean             float64
	suspect, dead        int // members suspected / declared dead by at least one running peer
	published, delivered uint64
}

func (c *collector) snapshot() live {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := live{published: c.published, delivered: c.delivered, viewMin: -1}
	sus := make([]bool, c.n)
	dead := make([]bool, c.n)
	tot := 0
	for o := 0; o < c.n; o++ {
		if !c.running[o] {
			continue
		}
		l.running++
		a := 1 // itself
		for s, st := range c.views[o] {
			switch st {
			case "alive":
				a++
			case "suspect":
				sus[s] = true
			case "dead":
				dead[s] = true
			}
		}
		tot += a
		if l.viewMin < 0 || a < l.viewMin {
			l.viewMin = a
		}
		l.viewMax = max(l.viewMax, a)
	}
	for i := range sus {
		if sus[i] {
			l.suspect++
		}
		if dead[i] {
			l.dead++
		}
	}
	if l.running > 0 {
		l.viewMean = float64(tot) / float64(l.running)
	}
	if l.viewMin < 0 {
		l.viewMin = 0
	}
	return l
}

// records returns the records sorted by time (stable).
func (c *collector) records() []Record {
	c.mu.Lock()
	out := append([]Record(nil), c.recs...)
	c.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}
