package main

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/grapevine-p2p/grapevine/testnet/sim/report"
)

type series struct {
	name   string
	xs, ys []float64
	dashed bool
	points bool
}

// linePlot writes a PNG and returns the markdown that shows it.
func linePlot(o *options, name, title, xl, yl string, logX bool, ss []series) string {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xl
	p.Y.Label.Text = yl
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		xy := make(plotter.XYs, len(s.xs))
		for j := range s.xs {
			xy[j].X, xy[j].Y = s.xs[j], s.ys[j]
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			continue
		}
		l.Color = report.Palette[i%len(report.Palette)]
		l.Width = vg.Points(1.5)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(s.name, l)
		if s.points {
			sc, err := plotter.NewScatter(xy)
			if err == nil {
				sc.Color = l.Color
				sc.Shape = draw.CircleGlyph{}
				p.Add(sc)
			}
		}
	}
	file := "membership-" + name + ".png"
	if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(o.imgDir, file)); err != nil {
		fail(err)
	}
	return fmt.Sprintf("![%s](%s/%s)\n\n", title, o.imgRel, file)
}

// table renders a markdown table.
func table(head []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for range head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	b.WriteString("\n")
	return b.String()
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := q * float64(len(s)-1)
	lo := int(math.Floor(i))
	hi := int(math.Ceil(i))
	return s[lo] + (s[hi]-s[lo])*(i-float64(lo))
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

func f2(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.2f", x)
}

func f1(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.1f", x)
}

func f0(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.0f", x)
}

// walls lists wall times, rounded to seconds.
func walls(ds []time.Duration) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Round(time.Second).String())
	}
	return strings.Join(out, ", ")
}
