package local

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/grapevine-p2p/grapevine/testnet/sim/report"
)

func optSec(p *float64) string {
	if p == nil {
		return "never"
	}
	return fmt.Sprintf("%.2fs", *p)
}

func pct(f float64) string {
	if math.IsNaN(f) {
		return "–"
	}
	return fmt.Sprintf("%.2f%%", 100*f)
}

// Print writes the report as tables.
func (r *Report) Print(w io.Writer) error {
	t := &report.Table{Header: []string{"metric", "value"}}
	name := r.Name
	if name == "" {
		name = "(unnamed)"
	}
	t.Add("scenario", fmt.Sprintf("%s: %d peers, %s, profile %s, %.1fs run", name, r.Peers, r.Mode, r.Profile, r.Seconds))
	if r.Interrupted {
		t.Add("note", "interrupted: the figures cover the time that ran")
	}
	if r.Host.CPUs > 0 {
		t.Add("host", fmt.Sprintf("%d CPUs, load average %.1f → %.1f, this process used %.1f CPU-s", r.Host.CPUs, r.Host.LoadStart, r.Host.LoadEnd, r.Host.CPUSeconds))
		if r.Host.LoadStart > 1.5*float64(r.Host.CPUs) {
			t.Add("warning", "the machine was overloaded: latencies and detection times include waiting for a CPU")
		}
	}
	t.Add("join: every peer sees every other alive", optSec(r.JoinSeconds))
	t.Add("messages published", r.Published)
	t.Add("fully delivered", fmt.Sprintf("%d of %d", r.FullyDelivered, r.Published))
	t.Add("delivery fraction mean / min", pct(r.DeliveryMean)+" / "+pct(r.DeliveryMin))
	t.Add("deliveries / expected", fmt.Sprintf("%d / %d", r.Deliveries, r.ExpectedDeliveries))
	t.Add("latency p50 / p99 / max", fmt.Sprintf("%.1f / %.1f / %.1f ms", r.LatencyP50, r.LatencyP99, r.LatencyMax))
	t.Add("frames sent per delivery", fmt.Sprintf("%.2f", r.FramesPerDelivery))
	t.Add("bytes sent per delivery", fmt.Sprintf("%.0f", r.BytesPerDelivery))
	t.Add("frames judged / dropped by faults", fmt.Sprintf("%d / %d (%s)", r.InjectedFrames, r.InjectedDropped, pct(r.ObservedLoss)))
	t.Add("frames dropped: full queue / no stream / stream failed", fmt.Sprintf("%d / %d / %d",
		r.QueueDropped-r.QueueDroppedNoStream-r.QueueDroppedFailed, r.QueueDroppedNoStream, r.QueueDroppedFailed))
	t.Add("probes: pings / acks late / ping-reqs", fmt.Sprintf("%d / %d / %d", r.PingsSent, r.LateAcks, r.PingReqsSent))
	t.Add("false positives (fail / suspect)", fmt.Sprintf("%d / %d", r.FalsePositives, r.FalseSuspicions))
	if r.JoiningFalsePositives > 0 {
		t.Add("false positives while joining", r.JoiningFalsePositives)
	}
	if err := t.Write(w); err != nil {
		return err
	}
	if len(r.Crashes) > 0 {
		fmt.Fprintln(w)
		ct := &report.Table{Header: []string{"crash", "at", "detected", "first suspect", "first fail", "median", "all survivors"}}
		for _, c := range r.Crashes {
			ct.Add(fmt.Sprintf("peer %d", c.Peer), fmt.Sprintf("%.1fs", c.At), fmt.Sprintf("%d/%d", c.Detected, c.Survivors),
				optSec(c.FirstSuspect), optSec(c.First), optSec(c.Median), optSec(c.Last))
		}
		if err := ct.Write(w); err != nil {
			return err
		}
	}
	if len(r.Restarts) > 0 {
		fmt.Fprintln(w)
		rt := &report.Table{Header: []string{"restart", "at", "all running peers see it alive after"}}
		for _, x := range r.Restarts {
			rt.Add(fmt.Sprintf("peer %d", x.Peer), fmt.Sprintf("%.1fs", x.At), optSec(x.AllSeen))
		}
		if err := rt.Write(w); err != nil {
			return err
		}
	}
	if len(r.Heals) > 0 {
		fmt.Fprintln(w)
		ht := &report.Table{Header: []string{"heal", "at", "views converged after"}}
		for _, x := range r.Heals {
			ht.Add(fmt.Sprintf("partition %d", x.Partition), fmt.Sprintf("%.1fs", x.At), optSec(x.Converged))
		}
		if err := ht.Write(w); err != nil {
			return err
		}
	}
	var worst []MessageReport
	for _, m := range r.Messages {
		if m.Fraction < 1 && len(worst) < 10 {
			worst = append(worst, m)
		}
	}
	if len(worst) > 0 {
		fmt.Fprintln(w)
		mt := &report.Table{Header: []string{"not fully delivered", "published at", "delivered"}}
		for _, m := range worst {
			mt.Add(fmt.Sprintf("peer %d seq %d", m.Origin, m.Seq), fmt.Sprintf("%.2fs", m.At), fmt.Sprintf("%d/%d", m.Delivered, m.Eligible))
		}
		return mt.Write(w)
	}
	return nil
}

// Files lists what WriteDir writes.
var Files = []string{"report.json", "report.txt", "messages.csv", "crashes.csv", "members.csv", "latency.csv",
	"latency_cdf.png", "infection.png", "members.png"}

// WriteDir writes the report into dir (created if needed): report.json,
// report.txt, CSV files and PNG plots.
func (r *Report) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	js, err := json.MarshalIndent(r.jsonSafe(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(p("report.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(p("report.txt"))
	if err != nil {
		return err
	}
	if err := r.Print(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	ff := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	op := func(v *float64) string {
		if v == nil {
			return ""
		}
		return ff(*v)
	}
	var rows [][]string
	for _, m := range r.Messages {
		rows = append(rows, []string{strconv.Itoa(m.Origin), strconv.FormatUint(m.Seq, 10), ff(m.At), strconv.Itoa(m.Eligible),
			strconv.Itoa(m.Delivered), ff(m.Fraction), ff(m.P50), ff(m.Max), op(m.Complete)})
	}
	if err := report.WriteCSV(p("messages.csv"), []string{"origin", "seq", "published_s", "eligible", "delivered", "fraction",
		"latency_p50_ms", "latency_max_ms", "complete_after_s"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, c := range r.Crashes {
		rows = append(rows, []string{strconv.Itoa(c.Peer), ff(c.At), strconv.Itoa(c.Survivors), strconv.Itoa(c.Detected),
			op(c.FirstSuspect), op(c.First), op(c.Median), op(c.Last)})
	}
	if err := report.WriteCSV(p("crashes.csv"), []string{"peer", "at_s", "survivors", "detected", "first_suspect_s",
		"first_fail_s", "median_fail_s", "all_fail_s"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, m := range r.Members {
		rows = append(rows, []string{ff(m.T), strconv.Itoa(m.Running), strconv.Itoa(m.Min), ff(m.Mean), strconv.Itoa(m.Max)})
	}
	if err := report.WriteCSV(p("members.csv"), []string{"t_s", "running", "view_alive_min", "view_alive_mean", "view_alive_max"}, rows); err != nil {
		return err
	}
	rows = nil
	for _, l := range r.latencies {
		rows = append(rows, []string{ff(l)})
	}
	if err := report.WriteCSV(p("latency.csv"), []string{"latency_ms"}, rows); err != nil {
		return err
	}
	return r.plots(dir)
}

func (r *Report) plots(dir string) error {
	title := func(s string) string {
		if r.Name != "" {
			return r.Name + ": " + s
		}
		return s
	}
	// Latency CDF.
	cdf := report.Series{Label: fmt.Sprintf("%d deliveries", len(r.latencies))}
	step := max(1, len(r.latencies)/2000)
	for i := 0; i < len(r.latencies); i += step {
		cdf.X = append(cdf.X, math.Max(r.latencies[i], 0.01))
		cdf.Y = append(cdf.Y, float64(i+1)/float64(len(r.latencies)))
	}
	if n := len(r.latencies); n > 0 {
		cdf.X = append(cdf.X, math.Max(r.latencies[n-1], 0.01))
		cdf.Y = append(cdf.Y, 1)
	}
	pl := &report.Plot{Title: title("publish → delivery latency CDF"), XLabel: "latency (ms, log scale)", YLabel: "fraction of deliveries",
		LogX: true, Series: []report.Series{cdf}}
	if len(cdf.X) > 0 {
		if err := pl.Save(filepath.Join(dir, "latency_cdf.png")); err != nil {
			return fmt.Errorf("latency plot: %w", err)
		}
	}
	// Infection curves.
	var ss []report.Series
	for _, c := range r.Infection {
		x := make([]float64, len(c.X))
		for i, v := range c.X {
			x[i] = v * 1000
		}
		ss = append(ss, report.Series{Label: c.Label, X: x, Y: c.Y})
	}
	if len(ss) > 0 {
		pl = &report.Plot{Title: title("infection curve"), XLabel: "ms since publish", YLabel: "fraction of peers delivered", Series: ss}
		if err := pl.Save(filepath.Join(dir, "infection.png")); err != nil {
			return fmt.Errorf("infection plot: %w", err)
		}
	}
	// Members over time.
	run := report.Series{Label: "peers running"}
	mean := report.Series{Label: "alive in a peer's view (mean)"}
	mn := report.Series{Label: "alive in a peer's view (min)"}
	for _, m := range r.Members {
		run.X, run.Y = append(run.X, m.T), append(run.Y, float64(m.Running))
		mean.X, mean.Y = append(mean.X, m.T), append(mean.Y, m.Mean)
		mn.X, mn.Y = append(mn.X, m.T), append(mn.Y, float64(m.Min))
	}
	if len(run.X) > 0 {
		pl = &report.Plot{Title: title("members alive over time"), XLabel: "scenario clock (s; negative: joining)", YLabel: "members",
			Series: []report.Series{run, mean, mn}}
		if err := pl.Save(filepath.Join(dir, "members.png")); err != nil {
			return fmt.Errorf("members plot: %w", err)
		}
	}
	return nil
}

// jsonSafe returns a copy without NaN (JSON has no NaN).
func (r *Report) jsonSafe() *Report {
	c := *r
	fix := func(f *float64) {
		if math.IsNaN(*f) || math.IsInf(*f, 0) {
			*f = 0
		}
	}
	fix(&c.DeliveryMean)
	fix(&c.DeliveryMin)
	fix(&c.LatencyP50)
	fix(&c.LatencyP99)
	fix(&c.LatencyMax)
	return &c
}
