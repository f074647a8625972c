package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
)

// Experiment 2: false failures under uniform packet loss at n = 1,000, with
// and without Lifeguard; each finished run is kept in -cache/loss-runs.

func expLoss(o *options) string {
	n := 1000
	losses := []float64{0, 0.05, 0.10, 0.20, 0.30}
	wins := map[int]time.Duration{}
	for _, l := range losses {
		wins[int(l*100+0.5)] = o.lossDur
	}
	parseWins(wins, "-loss-windows", o.lossWins)
	plainWins := maps.Clone(wins)
	parseWins(plainWins, "-loss-plain-windows", o.lossPlainWins)
	if o.quick {
		n = 200
		for _, ws := range []map[int]time.Duration{wins, plainWins} {
			for k := range ws {
				ws[k] = 2 * time.Minute
				if k >= 20 {
					ws[k] = time.Minute
				}
			}
		}
	}
	type res struct {
		Loss                                  float64
		LG                                    bool
		Win                                   time.Duration
		Susp, Fails, Declared, Refut, Victims uint64
		Frames, Bytes                         float64
		Wall, CPU                             time.Duration
		Commit                                string
		Done                                  bool
	}
	type cfg struct {
		loss float64
		lg   bool
		win  time.Duration
	}
	var cfgs []cfg
	// The goal first (10 %), then the high rates (Lifeguard before
	// plain SWIM, whose runs cost the most), then the cheap ones: an
	// interrupted run keeps what matters most.
	win := func(li int, lg bool) time.Duration {
		if lg {
			return wins[int(losses[li]*100+0.5)]
		}
		return plainWins[int(losses[li]*100+0.5)]
	}
	for _, lis := range [][]int{{2}, {3, 4}, {1}, {0}} {
		for _, lg := range []bool{true, false} {
			for _, li := range lis {
				cfgs = append(cfgs, cfg{losses[li], lg, win(li, lg)})
			}
		}
	}
	// -loss-rows: the rows this process may run.
	allowed := func(cfg) bool { return true }
	if o.lossRows != "" {
		rows := map[string]bool{}
		for _, r := range strings.Split(o.lossRows, ",") {
			r = strings.TrimSpace(r)
			pct, det, ok := strings.Cut(r, ":")
			var p int
			if _, err := fmt.Sscan(pct, &p); !ok || err != nil || (det != "plain" && det != "lifeguard") {
				fail(fmt.Errorf("-loss-rows: bad entry %q (want rate:plain or rate:lifeguard)", r))
			}
			if _, known := wins[p]; !known {
				fail(fmt.Errorf("-loss-rows: unknown rate in %q (one of 0, 5, 10, 20, 30)", r))
			}
			rows[fmt.Sprintf("%d:%s", p, det)] = true
		}
		allowed = func(c cfg) bool {
			det := "plain"
			if c.lg {
				det = "lifeguard"
			}
			return rows[fmt.Sprintf("%d:%s", int(c.loss*100+0.5), det)]
		}
	}
	results := make([]res, len(cfgs))
	// Each finished run is kept, so that an interrupted run resumes and
	// the section can be built from the runs that finished (-loss-collect).
	commit := membershipCommit()
	runDir := filepath.Join(o.cacheDir, "loss-runs")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		fail(err)
	}
	runFile := func(c cfg) string {
		det := "plain"
		if c.lg {
			det = "lifeguard"
		}
		return filepath.Join(runDir, fmt.Sprintf("n%d-loss%02d-%s-%s.json", n, int(c.loss*100+0.5), det, c.win))
	}
	var jobs []job
	for ci, c := range cfgs {
		if b, err := os.ReadFile(runFile(c)); err == nil {
			var r res
			if json.Unmarshal(b, &r) == nil && (r.Commit == commit || o.lossAnyCommit) && r.Done {
				results[ci] = r
				fmt.Fprintf(os.Stderr, "swimexp: loss n=%d %.0f%% %s %s: kept from %s\n", n, c.loss*100, onOff(c.lg), c.win, runFile(c))
				continue
			}
		}
		results[ci] = res{Loss: c.loss, LG: c.lg, Win: c.win}
		if o.noRun || !allowed(c) {
			continue
		}
		jobs = append(jobs, job{n: n, run: func() {
			start := time.Now()
			// The seed depends on the loss rate only: both detectors see
			// the same network draws until their behaviour diverges.
			w := newWorld(worldConfig{N: n, Seed: uint64(100 + int(c.loss*100)), Loss: c.loss, Member: lifeguard(c.lg)})
			r := res{Loss: c.loss, LG: c.lg, Win: c.win, Commit: commit}
			seen := map[core.NodeID]bool{}
			w.onEvent = func(obs int, e membership.Event) {
				if e.Kind == membership.EventFail {
					r.Fails++
					if !seen[e.Member.ID] {
						seen[e.Member.ID] = true
						r.Victims++
					}
				}
			}
			w.net.Run(c.win)
			for _, nd := range w.nodes {
				st := nd.ml.Stats()
				r.Susp += st.Suspicions
				r.Declared += st.Declared
				r.Refut += st.Refutations
			}
			tot := w.net.Total()
			r.Frames = float64(tot.FramesSent) / float64(n) / c.win.Seconds()
			r.Bytes = float64(tot.BytesSent) / float64(n) / c.win.Seconds()
			r.Wall = time.Since(start)
			r.Done = true
			results[ci] = r
			if b, err := json.MarshalIndent(r, "", "  "); err == nil {
				if err := os.WriteFile(runFile(c), b, 0o644); err != nil {
					fmt.Fprintln(os.Stderr, "swimexp:", err)
				}
			}
			fmt.Fprintf(os.Stderr, "swimexp: loss n=%d %.0f%% %s %s done in %s\n", n, c.loss*100, onOff(c.lg), c.win, r.Wall.Round(time.Second))
		}})
	}
	parallelMem(o, jobs)
	var rows [][]string
	var xs, ys [2][]float64 // Lifeguard, plain
	for li := range losses {
		for _, lg := range []bool{true, false} {
			for _, r := range results {
				if r.Loss != losses[li] || r.LG != lg {
					continue
				}
				if !r.Done {
					rows = append(rows, []string{fmt.Sprint(n), fmt.Sprintf("%.0f %%", r.Loss*100), onOff(r.LG), r.Win.String(),
						"not run (no time on the day)", "", "", "", "", "", "", "", ""})
					continue
				}
				hours := r.Win.Hours()
				rows = append(rows, []string{fmt.Sprint(n),
					fmt.Sprintf("%.0f %%", r.Loss*100), onOff(r.LG), r.Win.String(),
					fmt.Sprint(r.Susp), fmt.Sprint(r.Refut), fmt.Sprint(r.Declared), fmt.Sprint(r.Victims), fmt.Sprint(r.Fails),
					f1(float64(r.Fails) / hours), f1(r.Frames), f0(r.Bytes), r.Wall.Round(time.Second).String(),
				})
				if r.LG {
					xs[0] = append(xs[0], r.Loss*100)
					ys[0] = append(ys[0], float64(r.Fails)/hours+0.1)
				} else {
					xs[1] = append(xs[1], r.Loss*100)
					ys[1] = append(ys[1], float64(r.Fails)/hours+0.1)
				}
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `Nobody crashes; every frame is lost independently with the given probability; n = %d,
one seed per loss rate (the same seed for both detectors). Every failure declared is false.
"Suspicions" counts probes that ended without an ack (each starts or confirms a suspicion);
"refutations" the times a member raised its incarnation to clear one; "declarations" the
suspicion timers that expired; "fail events" counts (member, observer) pairs, i.e. how many
membership lists dropped someone they should not have. The last column is the wall time of
the run (on the shared 2-core machine, %d simulations at a time).

`, n, o.jobs)
	b.WriteString(table([]string{"n", "loss", "detector", "window", "suspicions", "refutations", "declarations (timer expiries)",
		"distinct members declared dead", "false fail events", "false fail events per hour", "frames / member / s", "bytes / member / s", "wall time"}, rows))
	// Which membership commit each row ran on, when they differ
	// (-loss-any-commit keeps runs made on earlier commits).
	byCommit := map[string][]string{}
	var commits []string
	for li := range losses {
		for _, lg := range []bool{true, false} {
			for _, r := range results {
				if r.Loss != losses[li] || r.LG != lg || !r.Done {
					continue
				}
				if _, ok := byCommit[r.Commit]; !ok {
					commits = append(commits, r.Commit)
				}
				byCommit[r.Commit] = append(byCommit[r.Commit], fmt.Sprintf("%.0f %% %s", r.Loss*100, onOff(r.LG)))
			}
		}
	}
	if len(commits) > 1 {
		b.WriteString("Rows by the membership/ code they ran on: ")
		for i, c := range commits {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s: %s", c, strings.Join(byCommit[c], ", "))
		}
		b.WriteString(".\n\n")
	}
	var goal []string
	for _, r := range results {
		if r.LG && r.Loss == 0.10 && r.Done {
			goal = append(goal, fmt.Sprintf("%d over %s at n = %d", r.Fails, r.Win, n))
		}
	}
	if len(goal) == 0 {
		goal = append(goal, "not run")
	}
	fmt.Fprintf(&b, "**False failures at 10 %% loss with Lifeguard + repair: %s.**\n", strings.Join(goal, "; "))
	b.WriteString(`
Suspicions grow steeply with loss for both detectors: a probe of a healthy member fails
when the direct ping or ack and all three indirect paths (four frames each) are lost, about
(1 − (1 − p)²)·(1 − (1 − p)⁴)³ of probes: 0.06 % at 5 % loss, 0.8 % at 10 %, 7 % at 20 %,
22 % at 30 %. With the fallback probe (a second direct ping when the first goes unanswered) a
healthy member's probe fails only if the fallback fails too. What differs is what a
suspicion turns into. Plain SWIM gives the suspect 4·log₁₀ n = 12 periods (n = 1,000) to hear
of it and refute, and every member that missed the refutation declares the suspect dead when
its own timer expires. The profile starts a suspicion at 6 · 1.5·log₁₀ n = 27 periods and only
shortens it (to 4.5) when other members independently fail to reach the suspect, which under uniform loss rarely happens before the refutation arrives; its local
health multiplier also slows down a member whose own probes keep failing, so fewer suspicions
start. The repair answers members that still relay a stale suspicion with the newer alive,
and a member still holding a suspicion after half the minimum timeout reminds the suspect,
which answers with its refutation. The cost of loss is visible in the frames per member:
suspicions and refutations are gossiped like any update.

`)
	var ss []series
	for i, name := range []string{"Lifeguard + repair", "plain SWIM"} {
		if len(xs[i]) > 0 {
			ss = append(ss, series{name: name, xs: xs[i], ys: ys[i], points: true})
		}
	}
	if len(ss) > 0 {
		b.WriteString(linePlot(o, "loss", fmt.Sprintf("False failures, n = %d", n), "packet loss (%)", "false fail events per hour (+0.1)", false, ss))
	}
	return b.String()
}

// parseWins applies a flag's rate:duration list (e.g. 20:15m,30:5m) to
// wins, whose keys are the known loss rates in percent.
func parseWins(wins map[int]time.Duration, flagName, list string) {
	for _, kv := range strings.Split(list, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		var pct int
		var d string
		if k, v, ok := strings.Cut(kv, ":"); ok {
			if _, err := fmt.Sscan(k, &pct); err == nil {
				d = v
			}
		}
		w, err := time.ParseDuration(d)
		if _, known := wins[pct]; err != nil || !known || w <= 0 {
			fail(fmt.Errorf("%s: bad entry %q (want rate:duration, rate one of 0, 5, 10, 20, 30)", flagName, kv))
		}
		wins[pct] = w
	}
}
