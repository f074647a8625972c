package local

import (
	"sort"
	"time"
)

// curves draws the infection curves of the first message, the
// worst-delivered one, and the first one published after the first crash
// (or the median message, if that makes fewer than two).
func (a *analysis) curves(r *Report) {
	order, crashTimes, end := a.order, a.crashTimes, a.end
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
	for _, m := range picks {
		mr := r.Messages[indexOf(order, m)]
		var ts []float64
		for p, t := range m.deliv {
			if p != m.key.origin && a.upThrough(p, m.at, end) {
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
