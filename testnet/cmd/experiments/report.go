package main

import (
	"fmt"
	"math"
)

// Summary statistics and the formats of the report's cells.

type stat struct{ mean, sd, min, max float64 }

func stats(xs []float64) stat {
	if len(xs) == 0 {
		return stat{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	}
	s := stat{min: xs[0], max: xs[0]}
	for _, x := range xs {
		s.mean += x
		s.min = min(s.min, x)
		s.max = max(s.max, x)
	}
	s.mean /= float64(len(xs))
	for _, x := range xs {
		s.sd += (x - s.mean) * (x - s.mean)
	}
	if len(xs) > 1 {
		s.sd = math.Sqrt(s.sd / float64(len(xs)-1))
	}
	return s
}

func pm(s stat) string {
	if math.IsNaN(s.mean) {
		return "–"
	}
	return fmt.Sprintf("%.2f ± %.2f", s.mean, s.sd)
}

func rng(s stat) string {
	if math.IsNaN(s.mean) {
		return "–"
	}
	return fmt.Sprintf("%.0f–%.0f", s.min, s.max)
}

func yesno(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func seq(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
	}
	return xs
}

func code(s string) string { return "`" + s + "`" }
