package local

import (
	"sort"
	"time"
)

// crashes fills in each crash and how the survivors detected it.
func (a *analysis) crashes(r *Report) {
	n, end, recs := a.n, a.end, a.recs
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
		cr := CrashReport{Peer: X, At: a.sec(tc)}
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
			if s == X || !a.upAt(s, tc) {
				continue
			}
			got := firstFail[s]
			if got < 0 && !a.upThrough(s, tc, min(back, end)) {
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
}

// falsePositives counts the failure declarations and suspicions of members
// that were running and reachable: not crashed in the minute before, not
// cut off from the observer by a scheduled partition in the 30 s before.
func (a *analysis) falsePositives(r *Report) {
	n, end, t0 := a.n, a.end, a.t0
	for _, y := range a.recs {
		if y.Kind != RecEvent || (y.Ev != "fail" && y.Ev != "suspect") || y.T > end || y.Subj < 0 || y.Subj >= n {
			continue
		}
		if !a.upAt(y.Subj, y.T) || a.crashedWithin(y.Subj, y.T, time.Minute) || a.partitionedWithin(y.Peer, y.Subj, y.T, 30*time.Second) {
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
			r.FalseList = append(r.FalseList, FalseEvent{Observer: y.Peer, Subject: y.Subj, At: a.sec(y.T), Kind: y.Ev})
		}
	}
}
