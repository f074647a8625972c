package local

import (
	"math"
	"sort"
	"time"
)

// Report is what a run observed. Every number comes from the records the
// peers produced with their own clocks and counters (deliveries, membership
// events, traffic counters); the scenario is used only to name what was
// scheduled (which peer crashed, when a partition was meant to heal) and to
// tell partition-induced failure declarations from false positives.
type Report struct {
	Name        string  `json:"name"`
	Peers       int     `json:"peers"`
	Mode        string  `json:"mode"`
	Profile     string  `json:"profile"`
	Seconds     float64 `json:"seconds"` // scenario clock actually run
	Interrupted bool    `json:"interrupted,omitempty"`
	// StartupSeconds: starting every peer; JoinSeconds: from the first
	// peer's start until every peer saw every other alive (nil: never).
	StartupSeconds float64 `json:"startup_seconds"`
	// Host is the machine's state during the run: CPUs, the 1-minute load
	// average at the start and end, and the CPU seconds the peers used
	// (this process and its --procs workers).
	Host        HostInfo `json:"host"`
	JoinSeconds *float64 `json:"join_seconds"`
	// JoinAfterLast: from the last peer's start to the complete view.
	JoinAfterLast *float64 `json:"join_after_last_start_seconds"`

	Published          int     `json:"published"`
	FullyDelivered     int     `json:"fully_delivered"`
	DeliveryMean       float64 `json:"delivery_fraction_mean"`
	DeliveryMin        float64 `json:"delivery_fraction_min"`
	Deliveries         int     `json:"deliveries"`          // to eligible receivers
	ExpectedDeliveries int     `json:"expected_deliveries"` // eligible receivers summed over messages

	LatencyP50 float64 `json:"latency_p50_ms"`
	LatencyP99 float64 `json:"latency_p99_ms"`
	LatencyMax float64 `json:"latency_max_ms"`

	FramesSent   uint64 `json:"frames_sent"`
	BytesSent    uint64 `json:"bytes_sent"`
	QueueDropped uint64 `json:"queue_dropped"`
	// QueueDropped split: no stream could be opened, the stream failed
	// (the rest: a full queue).
	QueueDroppedNoStream uint64  `json:"queue_dropped_no_stream"`
	QueueDroppedFailed   uint64  `json:"queue_dropped_failed"`
	PingsSent            uint64  `json:"pings_sent"`
	LateAcks             uint64  `json:"late_acks"` // acks after the probe timeout
	PingReqsSent         uint64  `json:"ping_reqs_sent"`
	FramesPerDelivery    float64 `json:"frames_per_delivery"`
	BytesPerDelivery     float64 `json:"bytes_per_delivery"`
	InjectedFrames       uint64  `json:"injected_frames"`  // frames judged by the fault injector
	InjectedDropped      uint64  `json:"injected_dropped"` // of which dropped
	ObservedLoss         float64 `json:"observed_loss"`

	Crashes  []CrashReport   `json:"crashes"`
	Restarts []RestartReport `json:"restarts"`
	Heals    []HealReport    `json:"heals"`
	// FalsePositives: "fail" events about a live, reachable member while
	// the scenario clock ran; FalseSuspicions: "suspect" events likewise;
	// JoiningFalsePositives: "fail" events of that kind before the clock
	// started (while the group was still joining).
	FalsePositives        int          `json:"false_positives"`
	FalseSuspicions       int          `json:"false_suspicions"`
	JoiningFalsePositives int          `json:"joining_false_positives"`
	FalseList             []FalseEvent `json:"false_positive_events,omitempty"`

	Messages  []MessageReport `json:"messages"`
	Members   []MembersPoint  `json:"members_over_time"`
	Infection []Curve         `json:"infection_curves"`

	latencies []float64 // ms, sorted
}

// HostInfo describes the machine a run shared.
type HostInfo struct {
	CPUs       int     `json:"cpus"`
	LoadStart  float64 `json:"load_start"`
	LoadEnd    float64 `json:"load_end"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// CrashReport is one crash and its detection by the survivors.
type CrashReport struct {
	Peer      int     `json:"peer"`
	At        float64 `json:"at"` // scenario clock, seconds
	Survivors int     `json:"survivors"`
	Detected  int     `json:"detected"` // survivors whose membership declared it failed
	// Seconds from the crash: first survivor's "suspect", first and last
	// survivor's "fail" (Last only when every survivor detected it), and
	// the median over survivors.
	FirstSuspect *float64 `json:"first_suspect"`
	First        *float64 `json:"first_fail"`
	Median       *float64 `json:"median_fail"`
	Last         *float64 `json:"all_fail"`
}

// RestartReport is a restart and how long until every running peer saw the
// restarted peer alive again.
type RestartReport struct {
	Peer    int      `json:"peer"`
	At      float64  `json:"at"`
	AllSeen *float64 `json:"all_see_alive"`
}

// HealReport is a partition heal and the membership convergence after it.
type HealReport struct {
	Partition int      `json:"partition"`
	At        float64  `json:"at"`
	Converged *float64 `json:"converged_after"` // every running peer sees every other alive
}

// FalseEvent is a failure declaration about a member that was running and
// reachable.
type FalseEvent struct {
	Observer int     `json:"observer"`
	Subject  int     `json:"subject"`
	At       float64 `json:"at"`
	Kind     string  `json:"kind"`
}

// MessageReport is one message's delivery.
type MessageReport struct {
	Origin    int     `json:"origin"`
	Seq       uint64  `json:"seq"`
	At        float64 `json:"at"` // published, scenario clock
	Eligible  int     `json:"eligible"`
	Delivered int     `json:"delivered"`
	Fraction  float64 `json:"fraction"`
	P50       float64 `json:"latency_p50_ms"`
	Max       float64 `json:"latency_max_ms"`
	// Complete: seconds from publish to the last eligible delivery
	// (nil unless every eligible peer delivered).
	Complete *float64 `json:"complete_after"`
}

// MembersPoint samples the membership views.
type MembersPoint struct {
	T       float64 `json:"t"` // scenario clock (negative while joining)
	Running int     `json:"running"`
	Min     int     `json:"view_alive_min"`
	Mean    float64 `json:"view_alive_mean"`
	Max     int     `json:"view_alive_max"`
}

// Curve is one message's infection curve: fraction of eligible peers that
// delivered it, over seconds since publish.
type Curve struct {
	Label string    `json:"label"`
	X     []float64 `json:"x"`
	Y     []float64 `json:"y"`
}

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

func ptr(f float64) *float64 { return &f }

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Analyze computes the report from records (any order).
func Analyze(sc *Scenario, recs []Record) *Report {
	recs = append([]Record(nil), recs...)
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].T < recs[j].T })
	n := sc.Peers
	r := &Report{Name: sc.Name, Peers: n, Profile: sc.Profile, Crashes: []CrashReport{}, Restarts: []RestartReport{},
		Heals: []HealReport{}, Messages: []MessageReport{}, Infection: []Curve{}}
	var t0, end, first, last int64
	for _, x := range recs {
		switch x.Kind {
		case RecClock:
			t0 = x.T
		case RecEnd:
			end = x.T
		case RecStart:
			if first == 0 {
				first = x.T
			}
			if t0 == 0 {
				last = x.T
			}
		}
	}
	if len(recs) == 0 {
		return r
	}
	if end == 0 {
		end = recs[len(recs)-1].T
	}
	if t0 == 0 {
		t0 = end
	}
	sec := func(t int64) float64 { return float64(t-t0) / 1e9 }
	r.Seconds = sec(end)

	// Up intervals per peer.
	type iv struct{ a, b int64 }
	up := make([][]iv, n)
	open := make([]int64, n)
	for _, x := range recs {
		if x.Peer < 0 || x.Peer >= n || x.T > end {
			continue
		}
		switch x.Kind {
		case RecStart:
			open[x.Peer] = x.T
		case RecCrash:
			if open[x.Peer] != 0 {
				up[x.Peer] = append(up[x.Peer], iv{open[x.Peer], x.T})
				open[x.Peer] = 0
			}
		}
	}
	for i := range open {
		if open[i] != 0 {
			up[i] = append(up[i], iv{open[i], end + 1})
		}
	}
	upThrough := func(i int, a, b int64) bool {
		for _, v := range up[i] {
			if v.a <= a && b < v.b {
				return true
			}
		}
		return false
	}
	upAt := func(i int, t int64) bool { return upThrough(i, t, t) }
	// crashedWithin: peer i crashed in (t-w, t].
	crashTimes := make([][]int64, n)
	for _, x := range recs {
		if x.Kind == RecCrash && x.Peer >= 0 && x.Peer < n {
			crashTimes[x.Peer] = append(crashTimes[x.Peer], x.T)
		}
	}
	crashedWithin := func(i int, t int64, w time.Duration) bool {
		for _, c := range crashTimes[i] {
			if c <= t && t-c < int64(w) {
				return true
			}
		}
		return false
	}
	inj := NewInjector(sc.Faults, n, 0)
	partitionedWithin := func(a, b int, t int64, w time.Duration) bool {
		for s := t - int64(w); s <= t; s += int64(250 * time.Millisecond) {
			if s >= t0 && inj.Partitioned(a, b, time.Duration(s-t0)) {
				return true
			}
		}
		return inj.Partitioned(a, b, time.Duration(t-t0))
	}

	// Messages, deliveries, latencies, traffic.
	msgs := map[msgKey]*msgObs{}
	var order []*msgObs
	lastStats := map[[2]int]Record{}
	for _, x := range recs {
		switch x.Kind {
		case RecPublish:
			if x.T > end {
				continue
			}
			k := msgKey{x.Origin, x.Seq}
			if msgs[k] == nil {
				m := &msgObs{key: k, at: x.T, deliv: map[int]int64{}, lats: map[int]float64{}}
				msgs[k] = m
				order = append(order, m)
			}
		case RecDeliver:
			if x.T > end {
				continue
			}
			if m := msgs[msgKey{x.Origin, x.Seq}]; m != nil {
				if _, dup := m.deliv[x.Peer]; !dup {
					m.deliv[x.Peer] = x.T
					m.lats[x.Peer] = float64(x.Lat) / 1e6
				}
			}
		case RecStats:
			lastStats[[2]int{x.Peer, x.Inst}] = x
		case RecInjected:
			r.InjectedFrames += x.Frames
			r.InjectedDropped += x.Bytes
		}
	}
	for _, s := range lastStats {
		r.FramesSent += s.Frames
		r.BytesSent += s.Bytes
		r.QueueDropped += s.Dropped
		r.QueueDroppedNoStream += s.DropNoStream
		r.QueueDroppedFailed += s.DropFailed
		r.PingsSent += s.Pings
		r.LateAcks += s.LateAcks
		r.PingReqsSent += s.PingReqs
	}
	if r.InjectedFrames > 0 {
		r.ObservedLoss = float64(r.InjectedDropped) / float64(r.InjectedFrames)
	}
	r.Published = len(order)
	r.DeliveryMin = 1
	sumFrac := 0.0
	allDeliv := 0
	for _, m := range order {
		mr := MessageReport{Origin: m.key.origin, Seq: m.key.seq, At: sec(m.at)}
		var lats []float64
		var last int64
		for i := 0; i < n; i++ {
			if i == m.key.origin || !upThrough(i, m.at, end) {
				continue
			}
			mr.Eligible++
			if t, ok := m.deliv[i]; ok {
				mr.Delivered++
				lats = append(lats, m.lats[i])
				r.latencies = append(r.latencies, m.lats[i])
				last = max(last, t)
			}
		}
		allDeliv += len(m.deliv)
		sort.Float64s(lats)
		mr.P50, mr.Max = percentile(lats, 0.5), percentile(lats, 1)
		if len(lats) == 0 {
			mr.P50, mr.Max = 0, 0
		}
		mr.Fraction = 1
		if mr.Eligible > 0 {
			mr.Fraction = float64(mr.Delivered) / float64(mr.Eligible)
		}
		if mr.Delivered == mr.Eligible {
			r.FullyDelivered++
			if mr.Eligible > 0 {
				mr.Complete = ptr(float64(last-m.at) / 1e9)
			}
		}
		r.DeliveryMin = min(r.DeliveryMin, mr.Fraction)
		sumFrac += mr.Fraction
		r.Deliveries += mr.Delivered
		r.ExpectedDeliveries += mr.Eligible
		r.Messages = append(r.Messages, mr)
	}
	if len(order) > 0 {
		r.DeliveryMean = sumFrac / float64(len(order))
	} else {
		r.DeliveryMin = math.NaN()
		r.DeliveryMean = math.NaN()
	}
	// Latency over deliveries to peers that were up from publish to the end
	// (a restarted peer's pull of old messages is not a latency).
	sort.Float64s(r.latencies)
	r.LatencyP50 = percentile(r.latencies, 0.5)
	r.LatencyP99 = percentile(r.latencies, 0.99)
	r.LatencyMax = percentile(r.latencies, 1)
	if allDeliv > 0 {
		r.FramesPerDelivery = float64(r.FramesSent) / float64(allDeliv)
		r.BytesPerDelivery = float64(r.BytesSent) / float64(allDeliv)
	}

	// Crash detection.
	for _, x := range recs {
		if x.Kind != RecCrash || x.Peer < 0 || x.Peer >= n || x.T > end {
			continue
		}
		X, tc := x.Peer, x.T
		back := end + 1 // X's restart ends the window
		for _, y := range recs {
			if y.Kind == RecStart && y.Peer == X && y.T > tc {
				back = y.T
				break
			}
		}
		cr := CrashReport{Peer: X, At: sec(tc)}
		var det []float64
		var firstSus float64 = -1
		firstFail := make([]int64, n)
		for i := range firstFail {
			firstFail[i] = -1
		}
		for _, y := range recs {
			if y.T < tc || y.T >= back || y.T > end || y.Kind != RecEvent || y.Subj != X || y.Peer < 0 || y.Peer >= n {
				continue
			}
			if y.Ev == "suspect" && firstSus < 0 {
				firstSus = float64(y.T-tc) / 1e9
			}
			if y.Ev == "fail" && firstFail[y.Peer] < 0 {
				firstFail[y.Peer] = y.T
			}
		}
		for s := 0; s < n; s++ {
			if s == X || !upAt(s, tc) {
				continue
			}
			got := firstFail[s]
			if got < 0 && !upThrough(s, tc, min(back, end)) {
				continue // the survivor went down itself before detecting
			}
			cr.Survivors++
			if got >= 0 {
				cr.Detected++
				det = append(det, float64(got-tc)/1e9)
			}
		}
		sort.Float64s(det)
		if firstSus >= 0 {
			cr.FirstSuspect = ptr(firstSus)
		}
		if len(det) > 0 {
			cr.First = ptr(det[0])
			cr.Median = ptr(percentile(det, 0.5))
			if cr.Detected == cr.Survivors {
				cr.Last = ptr(det[len(det)-1])
			}
		}
		r.Crashes = append(r.Crashes, cr)
	}

	// False positives and suspicions.
	for _, y := range recs {
		if y.Kind != RecEvent || (y.Ev != "fail" && y.Ev != "suspect") || y.T > end || y.Subj < 0 || y.Subj >= n {
			continue
		}
		if !upAt(y.Subj, y.T) || crashedWithin(y.Subj, y.T, time.Minute) || partitionedWithin(y.Peer, y.Subj, y.T, 30*time.Second) {
			continue
		}
		switch {
		case y.Ev == "fail" && y.T < t0:
			r.JoiningFalsePositives++
		case y.Ev == "fail":
			r.FalsePositives++
		case y.T >= t0:
			r.FalseSuspicions++
		default:
			continue
		}
		if len(r.FalseList) < 1000 {
			r.FalseList = append(r.FalseList, FalseEvent{Observer: y.Peer, Subject: y.Subj, At: sec(y.T), Kind: y.Ev})
		}
	}

	// Membership views replayed: convergence and members over time.
	running := make([]bool, n)
	nRunning := 0
	views := make([][]string, n)
	aliveRun := make([]int, n) // running subjects seen alive
	aliveAny := make([]int, n) // subjects seen alive
	good := func(o int) bool { return running[o] && aliveRun[o] == nRunning-1 }
	nGood := 0
	recount := func() {
		nGood = 0
		for o := 0; o < n; o++ {
			if good(o) {
				nGood++
			}
		}
	}
	complete := func() bool { return nRunning > 0 && nGood == nRunning }
	var joinAt int64 = -1
	type pending struct {
		idx  int
		kind string // heal, restart
		at   int64
		peer int
	}
	var heals []HealReport
	var restarts []RestartReport
	var waits []pending
	seenAlive := func(X int) bool {
		for o := 0; o < n; o++ {
			if o != X && running[o] && views[o][X] != "alive" {
				return false
			}
		}
		return true
	}
	step := int64(250 * time.Millisecond)
	nextSample := first
	sample := func(upto int64) {
		for nextSample <= upto && nextSample <= end {
			p := MembersPoint{T: sec(nextSample), Running: nRunning, Min: -1}
			tot := 0
			for o := 0; o < n; o++ {
				if !running[o] {
					continue
				}
				a := aliveAny[o] + 1
				tot += a
				if p.Min < 0 || a < p.Min {
					p.Min = a
				}
				p.Max = max(p.Max, a)
			}
			if p.Min < 0 {
				p.Min = 0
			}
			if nRunning > 0 {
				p.Mean = float64(tot) / float64(nRunning)
			}
			r.Members = append(r.Members, p)
			nextSample += step
		}
	}
	for _, x := range recs {
		if x.T > end {
			break
		}
		sample(x.T - 1)
		switch x.Kind {
		case RecStart:
			if x.Peer < 0 || x.Peer >= n {
				continue
			}
			o := x.Peer
			if !running[o] {
				running[o] = true
				nRunning++
				for s := 0; s < n; s++ {
					if s != o && running[s] && views[s][o] == "alive" {
						aliveRun[s]++
					}
				}
			}
			views[o] = make([]string, n)
			aliveRun[o], aliveAny[o] = 0, 0
			recount()
			if x.Inst > 0 && x.T >= t0 {
				restarts = append(restarts, RestartReport{Peer: o, At: sec(x.T)})
				waits = append(waits, pending{idx: len(restarts) - 1, kind: "restart", at: x.T, peer: o})
			}
		case RecCrash:
			if x.Peer < 0 || x.Peer >= n || !running[x.Peer] {
				continue
			}
			o := x.Peer
			running[o] = false
			nRunning--
			for s := 0; s < n; s++ {
				if s != o && running[s] && views[s][o] == "alive" {
					aliveRun[s]--
				}
			}
			views[o] = nil
			recount()
		case RecFault:
			if x.Ev == "heal" {
				heals = append(heals, HealReport{Partition: x.Subj, At: sec(x.T)})
				waits = append(waits, pending{idx: len(heals) - 1, kind: "heal", at: x.T})
			}
		case RecEvent:
			o, s := x.Peer, x.Subj
			if o < 0 || o >= n || s < 0 || s >= n || views[o] == nil || o == s {
				continue
			}
			old, nw := views[o][s], stateOf(x.Ev)
			if old == nw {
				continue
			}
			wasGood := good(o)
			if old == "alive" {
				aliveAny[o]--
				if running[s] {
					aliveRun[o]--
				}
			}
			if nw == "alive" {
				aliveAny[o]++
				if running[s] {
					aliveRun[o]++
				}
			}
			views[o][s] = nw
			if g := good(o); g != wasGood {
				if g {
					nGood++
				} else {
					nGood--
				}
			}
		default:
			continue
		}
		if joinAt < 0 && nRunning == n && complete() {
			joinAt = x.T
		}
		kept := waits[:0]
		for _, w := range waits {
			switch {
			case w.kind == "heal" && complete():
				heals[w.idx].Converged = ptr(float64(x.T-w.at) / 1e9)
			case w.kind == "restart" && running[w.peer] && seenAlive(w.peer):
				restarts[w.idx].AllSeen = ptr(float64(x.T-w.at) / 1e9)
			default:
				kept = append(kept, w)
			}
		}
		waits = kept
	}
	sample(end)
	if joinAt >= 0 {
		r.JoinSeconds = ptr(float64(joinAt-first) / 1e9)
		r.JoinAfterLast = ptr(float64(joinAt-last) / 1e9)
	}
	if heals != nil {
		r.Heals = heals
	}
	if restarts != nil {
		r.Restarts = restarts
	}

	// Infection curves: the first message, the worst-delivered one, and
	// the first one published after the first crash.
	pick := map[msgKey]string{}
	var picks []*msgObs
	add := func(m *msgObs, label string) {
		if m == nil {
			return
		}
		if _, ok := pick[m.key]; ok {
			return
		}
		pick[m.key] = label
		picks = append(picks, m)
	}
	if len(order) > 0 {
		add(order[0], "first message")
		worst := -1
		for i, mr := range r.Messages {
			if mr.Fraction < 1 && (worst < 0 || mr.Fraction < r.Messages[worst].Fraction) {
				worst = i
			}
		}
		if worst >= 0 {
			add(order[worst], "least delivered")
		}
		if len(crashTimes) > 0 {
			var ct int64 = -1
			for i := range crashTimes {
				for _, c := range crashTimes[i] {
					if ct < 0 || c < ct {
						ct = c
					}
				}
			}
			if ct >= 0 {
				for _, m := range order {
					if m.at > ct {
						add(m, "first after a crash")
						break
					}
				}
			}
		}
		if len(picks) < 2 {
			add(order[len(order)/2], "median message")
		}
	}
	for i, m := range picks {
		mr := r.Messages[indexOf(order, m)]
		_ = i
		var ts []float64
		for p, t := range m.deliv {
			if p != m.key.origin && upThrough(p, m.at, end) {
				ts = append(ts, float64(t-m.at)/1e9)
			}
		}
		sort.Float64s(ts)
		c := Curve{Label: pick[m.key] + " (t=" + fmtSec(mr.At) + ")", X: []float64{0}, Y: []float64{0}}
		for j, t := range ts {
			c.X = append(c.X, t)
			c.Y = append(c.Y, float64(j+1)/float64(max(mr.Eligible, 1)))
		}
		r.Infection = append(r.Infection, c)
	}
	return r
}

func indexOf(order []*msgObs, m *msgObs) int {
	for i, x := range order {
		if x == m {
			return i
		}
	}
	return 0
}

func fmtSec(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
}
