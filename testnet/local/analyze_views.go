package local

import "time"

// views replays the membership views: when every peer first saw every other
// alive (the join), how long until every running peer saw a restarted one
// alive, how long a healed partition took to converge, and how many members
// each running peer saw alive over time (every 250 ms).
func (a *analysis) views(r *Report) {
	n, end, first, last := a.n, a.end, a.first, a.last
	recs, t0, sec := a.recs, a.t0, a.sec
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
}
