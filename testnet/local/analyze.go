package local

import (
	"math"
	"sort"
	"time"
)

// Analyze computes the report from records (any order). Each part of the
// report is computed by a file of its own: analyze_messages.go (deliveries,
// latency, traffic), analyze_crashes.go (crash detection, false positives),
// analyze_views.go (the membership views replayed: join, restarts, heals,
// members over time) and analyze_curves.go (infection curves).
func Analyze(sc *Scenario, recs []Record) *Report {
	recs = append([]Record(nil), recs...)
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].T < recs[j].T })
	r := &Report{Name: sc.Name, Peers: sc.Peers, Profile: sc.Profile, Crashes: []CrashReport{}, Restarts: []RestartReport{},
		Heals: []HealReport{}, Messages: []MessageReport{}, Infection: []Curve{}}
	a := newAnalysis(sc, recs)
	if len(recs) == 0 {
		return r
	}
	r.Seconds = a.sec(a.end)
	a.messages(r)
	a.crashes(r)
	a.falsePositives(r)
	a.views(r)
	a.curves(r)
	return r
}

// analysis is what the parts of a report share: the records in time order,
// the scenario clock's bounds and each peer's up intervals.
type analysis struct {
	n    int
	recs []Record
	// t0: the scenario clock's start (the end if it never started); end:
	// its end (the last record's time if it never ended); first: the first
	// peer's start; last: the last start before the clock started.
	t0, end, first, last int64
	up                   [][]interval // per peer, when it ran
	crashTimes           [][]int64    // per peer, its crashes
	inj                  *Injector    // the scenario's faults, to tell partitions apart
	order                []*msgObs    // messages in order of publication (analyze_messages.go)
}

// interval is a span [a, b) during which a peer ran.
type interval struct{ a, b int64 }

type msgKey struct {
	origin int
	seq    uint64
}

type msgObs struct {
	key   msgKey
	at    int64
	deliv map[int]int64 // first delivery time per peer
	lats  map[int]float64
}

func newAnalysis(sc *Scenario, recs []Record) *analysis {
	a := &analysis{n: sc.Peers, recs: recs}
	for _, x := range recs {
		switch x.Kind {
		case RecClock:
			a.t0 = x.T
		case RecEnd:
			a.end = x.T
		case RecStart:
			if a.first == 0 {
				a.first = x.T
			}
			if a.t0 == 0 {
				a.last = x.T
			}
		}
	}
	if len(recs) == 0 {
		return a
	}
	if a.end == 0 {
		a.end = recs[len(recs)-1].T
	}
	if a.t0 == 0 {
		a.t0 = a.end
	}
	a.upIntervals()
	a.inj = NewInjector(sc.Faults, a.n, 0)
	return a
}

// upIntervals finds when each peer ran, and when it crashed.
func (a *analysis) upIntervals() {
	n, end := a.n, a.end
	a.up = make([][]interval, n)
	open := make([]int64, n)
	for _, x := range a.recs {
		if x.Peer < 0 || x.Peer >= n || x.T > end {
			continue
		}
		switch x.Kind {
		case RecStart:
			open[x.Peer] = x.T
		case RecCrash:
			if open[x.Peer] != 0 {
				a.up[x.Peer] = append(a.up[x.Peer], interval{open[x.Peer], x.T})
				open[x.Peer] = 0
			}
		}
	}
	for i := range open {
		if open[i] != 0 {
			a.up[i] = append(a.up[i], interval{open[i], end + 1})
		}
	}
	a.crashTimes = make([][]int64, n)
	for _, x := range a.recs {
		if x.Kind == RecCrash && x.Peer >= 0 && x.Peer < n {
			a.crashTimes[x.Peer] = append(a.crashTimes[x.Peer], x.T)
		}
	}
}

// sec is t in seconds of the scenario clock.
func (a *analysis) sec(t int64) float64 { return float64(t-a.t0) / 1e9 }

// upThrough reports whether peer i ran without interruption from t1 to t2.
func (a *analysis) upThrough(i int, t1, t2 int64) bool {
	for _, v := range a.up[i] {
		if v.a <= t1 && t2 < v.b {
			return true
		}
	}
	return false
}

// upAt reports whether peer i ran at t.
func (a *analysis) upAt(i int, t int64) bool { return a.upThrough(i, t, t) }

// crashedWithin reports whether peer i crashed in (t-w, t].
func (a *analysis) crashedWithin(i int, t int64, w time.Duration) bool {
	for _, c := range a.crashTimes[i] {
		if c <= t && t-c < int64(w) {
			return true
		}
	}
	return false
}

// partitionedWithin reports whether peers x and y were on two sides of a
// scheduled partition at some time in [t-w, t] (sampled every 250 ms).
func (a *analysis) partitionedWithin(x, y int, t int64, w time.Duration) bool {
	for s := t - int64(w); s <= t; s += int64(250 * time.Millisecond) {
		if s >= a.t0 && a.inj.Partitioned(x, y, time.Duration(s-a.t0)) {
			return true
		}
	}
	return a.inj.Partitioned(x, y, time.Duration(t-a.t0))
}

func ptr(f float64) *float64 { return &f }

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
