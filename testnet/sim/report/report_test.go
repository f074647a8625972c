package report

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTable(t *testing.T) {
	tb := Table{Header: []string{"n", "rounds"}, Markdown: true}
	tb.Add(1000, 12.345)
	tb.Add("x", math.NaN())
	got := tb.String()
	want := "| n    | rounds |\n| ---- | -----: |\n| 1000 |   12.3 |\n| x    |      – |\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	for v, want := range map[any]string{0.0: "0", 3.0: "3", 0.5: "0.50", 0.00012: "0.00012", 250.4: "250", 1500 * time.Microsecond: "2ms"} {
		if got := Fmt(v); got != want {
			t.Errorf("Fmt(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestCSVAndPlot(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCSV(filepath.Join(dir, "a.csv"), []string{"x", "y"}, [][]string{{"1", "2"}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "a.csv"))
	if string(b) != "x,y\n1,2\n" {
		t.Fatalf("csv %q", b)
	}
	p := Plot{Title: "t", LogY: true, LogX: true, Series: []Series{{Label: "a", X: []float64{1, 10, 100}, Y: []float64{1, 0.1, 0}}, {Label: "b", X: []float64{1, 10}, Y: []float64{2, 1}, Dashed: true}}}
	path := filepath.Join(dir, "p.png")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() < 1000 {
		t.Fatalf("png: %v", err)
	}
	if err := p.Save(filepath.Join(dir, "missing", "p.png")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("save to a missing directory: %v", err)
	}
	NewBar(10, "x", true).Set(5) // quiet bar: no output, no panic
}
