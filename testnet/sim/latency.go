package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Latency draws the one-way delay of a frame from one node to another. The
// network passes its own seeded source, so draws are reproducible.
type Latency interface {
	Delay(r *rand.Rand, from, to int) time.Duration
}

// Fixed is a constant latency.
type Fixed time.Duration

// Delay implements Latency.
func (f Fixed) Delay(*rand.Rand, int, int) time.Duration { return time.Duration(f) }

func (f Fixed) String() string { return fmt.Sprintf("fixed(%v)", time.Duration(f)) }

// Uniform draws uniformly from [Min, Max].
type Uniform struct{ Min, Max time.Duration }

// Delay implements Latency.
func (u Uniform) Delay(r *rand.Rand, _, _ int) time.Duration {
	if u.Max <= u.Min {
		return u.Min
	}
	return u.Min + time.Duration(r.Int64N(int64(u.Max-u.Min)+1))
}

func (u Uniform) String() string { return fmt.Sprintf("uniform(%v..%v)", u.Min, u.Max) }

// Normal draws from a normal distribution truncated below at Min (a
// physical floor such as the propagation delay; negative Min is taken as 0).
type Normal struct{ Mean, StdDev, Min time.Duration }

// Delay implements Latency.
func (d Normal) Delay(r *rand.Rand, _, _ int) time.Duration {
	v := time.Duration(float64(d.Mean) + r.NormFloat64()*float64(d.StdDev))
	return max(v, d.Min, 0)
}

func (d Normal) String() string {
	return fmt.Sprintf("normal(%v±%v, min %v)", d.Mean, d.StdDev, d.Min)
}

// LogNormal draws Min + Median·e^(Sigma·Z) for a standard normal Z: the
// heavy right tail of real network delays. Median is the median of the
// variable part.
type LogNormal struct {
	Median time.Duration
	Sigma  float64
	Min    time.Duration
}

// Delay implements Latency.
func (d LogNormal) Delay(r *rand.Rand, _, _ int) time.Duration {
	v := float64(d.Median) * math.Exp(d.Sigma*r.NormFloat64())
	if v > float64(math.MaxInt64/4) {
		v = float64(math.MaxInt64 / 4)
	}
	return max(d.Min, 0) + time.Duration(v)
}

func (d LogNormal) String() string {
	return fmt.Sprintf("lognormal(median %v, σ %.2f, min %v)", d.Median, d.Sigma, d.Min)
}

// PerLink gives a latency per link: Func returns the link's own model (for
// instance by the two nodes' regions), or nil to use Default.
type PerLink struct {
	Default Latency
	Func    func(from, to int) Latency
}

// Delay implements Latency.
func (p PerLink) Delay(r *rand.Rand, from, to int) time.Duration {
	if p.Func != nil {
		if l := p.Func(from, to); l != nil {
			return l.Delay(r, from, to)
		}
	}
	if p.Default == nil {
		return 0
	}
	return p.Default.Delay(r, from, to)
}

// ParseLatency parses a latency model: "10ms" (fixed), "uniform:5ms-15ms",
// "normal:20ms,5ms" (mean, stddev; floor 0), "lognormal:10ms,0.5[,2ms]"
// (median, sigma, optional floor).
func ParseLatency(s string) (Latency, error) {
	kind, arg, ok := cut(s, ':')
	if !ok {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("latency %q: want a duration like 10ms, or uniform:/normal:/lognormal:", s)
		}
		return Fixed(d), nil
	}
	bad := func() (Latency, error) {
		return nil, fmt.Errorf("latency %q: want uniform:MIN-MAX, normal:MEAN,STDDEV or lognormal:MEDIAN,SIGMA[,MIN]", s)
	}
	switch kind {
	case "fixed":
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 {
			return bad()
		}
		return Fixed(d), nil
	case "uniform":
		a, b, ok := cut(arg, '-')
		lo, err1 := time.ParseDuration(a)
		hi, err2 := time.ParseDuration(b)
		if !ok || err1 != nil || err2 != nil || lo < 0 || hi < lo {
			return bad()
		}
		return Uniform{lo, hi}, nil
	case "normal":
		a, b, ok := cut(arg, ',')
		m, err1 := time.ParseDuration(a)
		sd, err2 := time.ParseDuration(b)
		if !ok || err1 != nil || err2 != nil || m < 0 || sd < 0 {
			return bad()
		}
		return Normal{Mean: m, StdDev: sd}, nil
	case "lognormal":
		a, rest, ok := cut(arg, ',')
		if !ok {
			return bad()
		}
		sig, floor, hasFloor := cut(rest, ',')
		med, err1 := time.ParseDuration(a)
		var sigma float64
		_, err2 := fmt.Sscanf(sig, "%g", &sigma)
		var mn time.Duration
		var err3 error
		if hasFloor {
			mn, err3 = time.ParseDuration(floor)
		}
		if err1 != nil || err2 != nil || err3 != nil || med < 0 || sigma < 0 || mn < 0 || math.IsInf(sigma, 0) {
			return bad()
		}
		return LogNormal{Median: med, Sigma: sigma, Min: mn}, nil
	}
	return bad()
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
