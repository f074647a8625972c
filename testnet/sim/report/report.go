// Package report renders simulator results: aligned text tables, CSV files,
// PNG plots of infection curves (gonum.org/v1/plot) and a progress bar for
// long runs that stays quiet when stderr is not a terminal.
package report

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Table is a text table with a header row, printed with aligned columns
// (Markdown-compatible when Markdown is set).
type Table struct {
	Header   []string
	Rows     [][]string
	Markdown bool
}

// Add appends a row; values are formatted with %v, floats with 3
// significant digits.
func (t *Table) Add(vals ...any) {
	row := make([]string, len(vals))
	for i, v := range vals {
		row[i] = Fmt(v)
	}
	t.Rows = append(t.Rows, row)
}

// Fmt formats a table cell.
func Fmt(v any) string {
	switch x := v.(type) {
	case float64:
		switch {
		case math.IsNaN(x):
			return "–"
		case x == math.Trunc(x) && math.Abs(x) < 1e15:
			return fmt.Sprintf("%.0f", x)
		case math.Abs(x) >= 100:
			return fmt.Sprintf("%.0f", x)
		case math.Abs(x) >= 10:
			return fmt.Sprintf("%.1f", x)
		case math.Abs(x) >= 0.01:
			return fmt.Sprintf("%.2f", x)
		case x == 0:
			return "0"
		default:
			return fmt.Sprintf("%.2g", x)
		}
	case time.Duration:
		return x.Round(time.Millisecond).String()
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// Write prints the table.
func (t *Table) Write(w io.Writer) error {
	width := make([]int, len(t.Header))
	for i, h := range t.Header {
		width[i] = len([]rune(h))
		if t.Markdown {
			width[i] = max(width[i], 3) // a delimiter cell needs 3 characters
		}
	}
	for _, r := range t.Rows {
		for i, c := range r {
			if i < len(width) && len([]rune(c)) > width[i] {
				width[i] = len([]rune(c))
			}
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		if t.Markdown {
			b.WriteString("| ")
		}
		for i := range width {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
			if i < len(width)-1 {
				if t.Markdown {
					b.WriteString(" | ")
				} else {
					b.WriteString("  ")
				}
			}
		}
		if t.Markdown {
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	line(t.Header)
	if t.Markdown {
		b.WriteString("|")
		for i, w := range width {
			if i == 0 {
				b.WriteString(" " + strings.Repeat("-", w) + " |")
			} else {
				b.WriteString(" " + strings.Repeat("-", w-1) + ": |")
			}
		}
		b.WriteString("\n")
	}
	for _, r := range t.Rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String returns the printed table.
func (t *Table) String() string {
	var b strings.Builder
	_ = t.Write(&b)
	return b.String()
}

// WriteCSV writes a header and rows to path.
func WriteCSV(path string, header []string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.Write(header); err != nil {
		f.Close()
		return err
	}
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Series is one line of a plot.
type Series struct {
	Label string
	X, Y  []float64
	// Dashed draws the line dashed (for a theoretical reference).
	Dashed bool
}

// Plot describes a line plot.
type Plot struct {
	Title, XLabel, YLabel string
	// LogY plots the Y axis logarithmically (points with Y <= 0 are left
	// out).
	LogY bool
	// LogX plots the X axis logarithmically.
	LogX   bool
	Series []Series
	// Width and Height in inches (default 7 × 4.5).
	Width, Height float64
}

// Palette is the series colours of every plot the project draws, so that
// the same series keeps its colour across commands.
var Palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
}

// Save renders the plot to path (the extension picks the format: .png,
// .svg, .pdf).
func (p *Plot) Save(path string) error {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.X.Label.Text = p.XLabel
	pl.Y.Label.Text = p.YLabel
	pl.Add(plotter.NewGrid())
	if p.LogY {
		pl.Y.Scale = plot.LogScale{}
		pl.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if p.LogX {
		pl.X.Scale = plot.LogScale{}
		pl.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	for i, s := range p.Series {
		pts := make(plotter.XYs, 0, len(s.X))
		for j := range s.X {
			if j >= len(s.Y) || math.IsNaN(s.Y[j]) || (p.LogY && s.Y[j] <= 0) || (p.LogX && s.X[j] <= 0) {
				continue
			}
			pts = append(pts, plotter.XY{X: s.X[j], Y: s.Y[j]})
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = Palette[i%len(Palette)]
		l.Width = vg.Points(1.5)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		pl.Add(l)
		if s.Label != "" {
			pl.Legend.Add(s.Label, l)
		}
	}
	// Infection curves rise (legend top left), residues fall (bottom left).
	pl.Legend.Top = !p.LogY
	pl.Legend.Left = true
	pl.Legend.XOffs = vg.Points(8)
	pl.Legend.TextStyle.Font.Size = vg.Points(9)
	w, h := p.Width, p.Height
	if w <= 0 {
		w = 7
	}
	if h <= 0 {
		h = 4.5
	}
	return pl.Save(vg.Length(w)*vg.Inch, vg.Length(h)*vg.Inch, path)
}

// Bar is a progress bar on stderr; it does nothing when quiet or when
// stderr is not a terminal.
type Bar struct{ b *progressbar.ProgressBar }

// NewBar returns a progress bar counting to max.
func NewBar(max int64, desc string, quiet bool) *Bar {
	if quiet || !term.IsTerminal(int(os.Stderr.Fd())) {
		return &Bar{}
	}
	return &Bar{b: progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30))}
}

// Set moves the bar to n.
func (b *Bar) Set(n int64) {
	if b.b != nil {
		_ = b.b.Set64(n)
	}
}

// Describe changes the bar's description.
func (b *Bar) Describe(s string) {
	if b.b != nil {
		b.b.Describe(s)
	}
}

// Finish completes and clears the bar.
func (b *Bar) Finish() {
	if b.b != nil {
		_ = b.b.Finish()
	}
}
