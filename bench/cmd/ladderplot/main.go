// Command ladderplot draws the ladder's per-peer figures against the group
// size N from the CSV rows the bench appends with -csv: one PNG per metric
// (connections, goroutines and heap per peer, wire bytes and CPU per
// delivery, p99 latency), one line per system, N on a log scale, so that
// growth with N can be read off (issue 14 asks for at most logarithmic
// growth).
//
//	cd bench && go run ./cmd/ladderplot -csv /tmp/ladder.csv -out ../docs/benchmarks/img
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// metric is one plotted column.
type metric struct {
	column, file, title, unit string
	scale                     float64 // the column's value is multiplied by it
}

var metrics = []metric{
	{"conns_p50", "ladder-conns.png", "open connections per peer (median)", "connections", 1},
	{"goroutines_per_peer", "ladder-goroutines.png", "goroutines per peer", "goroutines", 1},
	{"heap_bytes_per_peer", "ladder-heap.png", "heap per peer after GC", "MiB", 1.0 / (1 << 20)},
	{"wire_bytes_per_delivery", "ladder-bytes.png", "wire bytes per delivery", "bytes", 1},
	{"cpu_ms_per_delivery", "ladder-cpu.png", "CPU per delivery", "ms", 1},
	{"p99_ms", "ladder-p99.png", "publish → delivery p99", "ms", 1},
}

var palette = []color.Color{
	color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff},
	color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff},
	color.RGBA{R: 0x75, G: 0x70, B: 0xb3, A: 0xff},
	color.RGBA{R: 0xe7, G: 0x29, B: 0x8a, A: 0xff},
}

func main() {
	in := flag.String("csv", "", "the CSV file the bench wrote with -csv")
	out := flag.String("out", ".", "directory for the PNG files")
	scen := flag.String("scenario", "steady", "scenario to plot")
	flag.Parse()
	if err := run(*in, *out, *scen); err != nil {
		fmt.Fprintln(os.Stderr, "ladderplot:", err)
		os.Exit(1)
	}
}

// series maps a system to its points (N, value) for one metric.
type series map[string]plotter.XYs

func run(in, out, scen string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(rows) < 2 {
		return fmt.Errorf("%s: no rows", in)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, need := range []string{"n", "scenario", "system"} {
		if _, ok := col[need]; !ok {
			return fmt.Errorf("%s: no column %q", in, need)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, m := range metrics {
		c, ok := col[m.column]
		if !ok {
			return fmt.Errorf("%s: no column %q", in, m.column)
		}
		s := series{}
		for _, r := range rows[1:] {
			if len(r) != len(rows[0]) || r[col["scenario"]] != scen {
				continue
			}
			n, err1 := strconv.ParseFloat(r[col["n"]], 64)
			v, err2 := strconv.ParseFloat(r[c], 64)
			if err1 != nil || err2 != nil {
				continue
			}
			sys := r[col["system"]]
			s[sys] = append(s[sys], plotter.XY{X: n, Y: v * m.scale})
		}
		if len(s) == 0 {
			return fmt.Errorf("%s: no %s rows", in, scen)
		}
		if err := draw1(s, m, scen, filepath.Join(out, m.file)); err != nil {
			return err
		}
	}
	return nil
}

func draw1(s series, m metric, scen, path string) error {
	p := plot.New()
	p.Title.Text = m.title + " (" + scen + ")"
	p.X.Label.Text = "N (log scale)"
	p.Y.Label.Text = m.unit
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = nTicks(s)
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	sort.Strings(names)
	top := 0.0
	for _, pts := range s {
		for _, pt := range pts {
			top = max(top, pt.Y)
		}
	}
	p.Y.Max = 1.35 * top // room for the legend above the lines
	for i, name := range names {
		pts := s[name]
		sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		c := palette[i%len(palette)]
		l.Color, sc.Color = c, c
		l.Width = vg.Points(1.5)
		sc.Shape = draw.CircleGlyph{}
		p.Add(l, sc)
		p.Legend.Add(name, l, sc)
	}
	return p.Save(12*vg.Centimeter, 8*vg.Centimeter, path)
}

// nTicks marks exactly the group sizes measured.
func nTicks(s series) plot.ConstantTicks {
	seen := map[float64]bool{}
	var ticks plot.ConstantTicks
	for _, pts := range s {
		for _, pt := range pts {
			if !seen[pt.X] {
				seen[pt.X] = true
				ticks = append(ticks, plot.Tick{Value: pt.X, Label: strconv.FormatFloat(pt.X, 'f', -1, 64)})
			}
		}
	}
	sort.Slice(ticks, func(i, j int) bool { return ticks[i].Value < ticks[j].Value })
	return ticks
}
