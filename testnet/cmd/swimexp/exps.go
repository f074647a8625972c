package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

func (o *options) sizes(full, quick []int) []int {
	src := full
	if o.quick {
		src = quick
	}
	var out []int
	for _, n := range src {
		if n <= o.nMax {
			out = append(out, n)
		}
	}
	return out
}

func periods(d time.Duration) float64 { return float64(d) / float64(period) }

// walls lists wall times, rounded to seconds.
func walls(ds []time.Duration) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Round(time.Second).String())
	}
	return strings.Join(out, ", ")
}

// lifeguard selects the profile as it is (on) or plain SWIM as published
// (off): no Lifeguard, no repair, no fallback or out-of-turn probes, and
// memberlist's pre-Lifeguard suspicion multiplier of 4.
func lifeguard(on bool) func(int, *membership.Config) {
	return func(_ int, c *membership.Config) {
		if !on {
			c.Lifeguard, c.Repair, c.FallbackProbe, c.ProbeSuspects = false, false, false, false
			c.SuspicionMult = 4
		}
	}
}

func onOff(b bool) string {
	if b {
		return "Lifeguard + repair"
	}
	return "plain SWIM"
}

// ---- 1. detection ----

type victim struct {
	crash, suspect, fail time.Duration
	failAt               []time.Duration // per observer: first fail event
}

func expDetect(o *options) string {
	ns := o.sizes([]int{100, 1000, 10000}, []int{100, 300})
	const crashes = 8
	spacing, warm, tail := 30*time.Second, 20*time.Second, 60*time.Second
	type res struct {
		det, dis, all  []float64
		incomplete, nv int
		walls          []time.Duration
	}
	results := make([]res, len(ns))
	var mu sync.Mutex
	var jobs []job
	// Largest first, so the big simulations start while memory is free.
	for ni := len(ns) - 1; ni >= 0; ni-- {
		n := ns[ni]
		seeds := o.nSeeds(3)
		if n >= 3000 {
			seeds = o.nSeeds(2)
		}
		for s := 1; s <= seeds; s++ {
			jobs = append(jobs, job{n: n, run: func() {
				start := time.Now()
				w := newWorld(worldConfig{N: n, Seed: uint64(s*7919 + n)})
				rng := rand.New(rand.NewPCG(uint64(s), uint64(n)))
				byID := map[core.NodeID]*victim{}
				var vs []*victim
				w.onEvent = func(obs int, e membership.Event) {
					v := byID[e.Member.ID]
					if v == nil {
						return
					}
					now := w.net.Now()
					switch e.Kind {
					case membership.EventSuspect:
						if v.suspect == 0 {
							v.suspect = now
						}
					case membership.EventFail:
						if v.fail == 0 {
							v.fail = now
						}
						if v.failAt[obs] == 0 {
							v.failAt[obs] = now
						}
					}
				}
				perm := rng.Perm(n)
				for j := 0; j < crashes; j++ {
					idx := perm[j]
					at := warm + time.Duration(j)*spacing + time.Duration(rng.Int64N(int64(period)))
					w.net.At(at, func() {
						w.net.Crash(idx)
						v := &victim{crash: at, failAt: make([]time.Duration, n)}
						byID[sim.ID(idx)] = v
						vs = append(vs, v)
					})
				}
				w.net.Run(warm + crashes*spacing + tail)
				up := w.upMembers()
				var r res
				for _, v := range vs {
					r.nv++
					if v.suspect == 0 || v.fail == 0 {
						r.incomplete++
						continue
					}
					last := time.Duration(0)
					ok := true
					for _, i := range up {
						if v.failAt[i] == 0 {
							ok = false
							break
						}
						last = max(last, v.failAt[i])
					}
					r.det = append(r.det, periods(v.suspect-v.crash))
					if !ok {
						r.incomplete++
						continue
					}
					r.dis = append(r.dis, periods(last-v.fail))
					r.all = append(r.all, (last - v.crash).Seconds())
				}
				mu.Lock()
				results[ni].det = append(results[ni].det, r.det...)
				results[ni].dis = append(results[ni].dis, r.dis...)
				results[ni].all = append(results[ni].all, r.all...)
				results[ni].incomplete += r.incomplete
				results[ni].nv += r.nv
				results[ni].walls = append(results[ni].walls, time.Since(start))
				mu.Unlock()
				fmt.Fprintf(os.Stderr, "swimexp: detect n=%d seed %d done in %s\n", n, s, time.Since(start).Round(time.Second))
			}})
		}
	}
	parallelMem(o, jobs)
	var rows [][]string
	var xs, med, p90, exp2 []float64
	for i, n := range ns {
		r := results[i]
		lam := membership.RetransmitLimit(4, n)
		minS := membership.DefaultLANConfig().SuspicionMult * math.Max(1, math.Log10(float64(n)))
		rows = append(rows, []string{
			fmt.Sprint(n), fmt.Sprint(r.nv),
			f2(mean(r.det)), f2(quantile(r.det, .5)), f2(quantile(r.det, .9)), f2(quantile(r.det, 1)),
			f1(minS), f1(quantile(r.all, .5)), f1(quantile(r.all, .9)),
			f2(quantile(r.dis, .5)), f2(quantile(r.dis, .9)), fmt.Sprint(lam), fmt.Sprint(r.incomplete), walls(r.walls),
		})
		xs = append(xs, float64(n))
		med = append(med, mean(r.det))
		p90 = append(p90, quantile(r.det, .9))
		exp2 = append(exp2, 2)
	}
	swim := make([]float64, len(xs))
	for i := range swim {
		swim[i] = math.E / (math.E - 1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `A converged group; every %s a random member crashes (no leave), %d crashes per run,
%d runs per n (seeds) — %s. For each crash: the time from the crash to the first
suspicion raised by any member (first detection), the time until every surviving member has
declared it failed, and the dissemination time from the first declaration to the last.

`, spacing, crashes, o.nSeeds(3), "2 at n ≥ 3,000")
	b.WriteString(table([]string{"n", "crashes", "first detection: mean (periods)", "median", "p90", "max",
		"min suspicion timeout (s)", "crash → all know: median (s)", "p90 (s)", "first → last declaration: median (periods)", "p90", "λ·⌈log₁₀(n+1)⌉ transmissions", "incomplete", "wall time per run"}, rows))
	b.WriteString(`SWIM's e/(e−1) ≈ 1.58 periods assumes synchronised periods and a crash at the start of one:
every member's probe of that period may pick the victim. Here members' periods have
independent phases and the crash falls at a random instant, so the first probe of the victim
starts after an exponential wait of mean one period (the same 1 − 1/e chance per period, spread
over time) and then needs its own period to fail: 2 periods is the asynchronous counterpart
of 1.58. Detection time does not grow with n, as SWIM predicts.

"Crash → all know" is dominated by the suspicion timeout, by design: the minimum is
1.5·log₁₀ n periods (Lifeguard starts at six times that and shrinks with independent
suspicions, which a real crash collects quickly because every member that probes the victim
confirms). Once declared, the failure reaches every member within about a period or two:
updates ride on pings, acks and three gossip frames every 200 ms, far faster than the
λ·log n periods of piggybacking on pings alone. For comparison, hashicorp/memberlist's LAN
profile took 8.3–8.7 s from crash to every survivor's event at 20–50 members (REFERENCES.md).

`)
	b.WriteString(linePlot(o, "detect", "First detection of a crash", "group size n", "periods", true, []series{
		{name: "measured mean", xs: xs, ys: med, points: true},
		{name: "measured p90", xs: xs, ys: p90, points: true},
		{name: "e/(e−1) (synchronous SWIM)", xs: xs, ys: swim, dashed: true},
		{name: "2 (asynchronous periods)", xs: xs, ys: exp2, dashed: true},
	}))
	return b.String()
}

// ---- 2. false positives under loss ----

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

// ---- 3. load ----

func expLoad(o *options) string {
	ns := o.sizes([]int{100, 300, 1000, 3000, 10000}, []int{100, 300})
	warm, window := 30*time.Second, 120*time.Second
	if o.quick {
		window = 60 * time.Second
	}
	type res struct {
		frames, bytes, probeFrames, gossipFrames, ppBytes, lossFrames, lossBytes float64
	}
	results := make([]res, len(ns))
	var jobs []job
	for ni := len(ns) - 1; ni >= 0; ni-- {
		n := ns[ni]
		for _, loss := range []float64{0, 0.05} {
			if loss > 0 && n > o.loadLoss {
				results[ni].lossFrames, results[ni].lossBytes = math.NaN(), math.NaN()
				continue
			}
			jobs = append(jobs, job{n: n, run: func() {
				start := time.Now()
				defer func() {
					fmt.Fprintf(os.Stderr, "swimexp: load n=%d loss %.0f%% done in %s\n", n, loss*100, time.Since(start).Round(time.Second))
				}()
				w := newWorld(worldConfig{N: n, Seed: uint64(300 + n), Loss: loss})
				w.net.Run(warm)
				before := w.net.Total()
				var s0 []membership.Stats
				for _, nd := range w.nodes {
					s0 = append(s0, nd.ml.Stats())
				}
				w.net.Run(warm + window)
				tot := w.net.Total()
				per := float64(n) * periods(window)
				frames := float64(tot.FramesSent-before.FramesSent) / per
				bytes := float64(tot.BytesSent-before.BytesSent) / per
				if loss > 0 {
					results[ni].lossFrames, results[ni].lossBytes = frames, bytes
					return
				}
				var probe, gossip, ppBytes, ppCount float64
				for i, nd := range w.nodes {
					st := nd.ml.Stats()
					probe += float64(st.PingsSent + st.AcksSent + st.PingReqsSent + st.NacksSent - s0[i].PingsSent - s0[i].AcksSent - s0[i].PingReqsSent - s0[i].NacksSent)
					gossip += float64(st.GossipsSent - s0[i].GossipsSent)
					// Over the whole run: exchanges are rare, a window would
					// catch only a few of them.
					ppBytes += float64(st.StateBytesSent)
					ppCount += float64(st.PushPullsSent)
				}
				results[ni].frames, results[ni].bytes = frames, bytes
				results[ni].probeFrames, results[ni].gossipFrames = probe/per, gossip/per
				// Steady state: each member starts one exchange (request and
				// reply) per push-pull period.
				results[ni].ppBytes = ppBytes / ppCount / float64(membership.PushPullPeriod(300, n)/10)
			}})
		}
	}
	parallelMem(o, jobs)
	var rows [][]string
	var xs, xl, yf, yb, yl, ypp []float64
	for i, n := range ns {
		r := results[i]
		rows = append(rows, []string{fmt.Sprint(n), f2(r.frames), f2(r.probeFrames), f2(r.gossipFrames), f0(r.bytes), f1(r.ppBytes),
			fmt.Sprint(membership.PushPullPeriod(300, n) / 10), f2(r.lossFrames), f0(r.lossBytes)})
		xs = append(xs, float64(n))
		yf = append(yf, r.frames)
		if !math.IsNaN(r.lossFrames) {
			xl = append(xl, float64(n))
			yl = append(yl, r.lossFrames)
		}
		yb = append(yb, r.bytes)
		ypp = append(ypp, r.ppBytes)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `Frames and bytes each member sends per protocol period in a steady group (no crash), averaged
over all members and a %s window after a %s warm-up; one seed per n. Probe frames are
pings, acks, ping-reqs and nacks; gossip frames the dedicated 200 ms gossip of queued updates.
The window catches few of the rare full-state exchanges, so their column is the steady-state
rate: the mean bytes of one exchange (request and reply, measured over the whole run) over the
push-pull period.

`, window, warm)
	b.WriteString(table([]string{"n", "frames / member / period", "of which probe", "of which gossip", "bytes / member / period", "of which full-state push-pull",
		"push-pull period (s)", "frames at 5 % loss", "bytes at 5 % loss"}, rows))
	b.WriteString("\"Bytes / member / period\" is what the window measured (with whatever few full-state exchanges fell in it).\n\n")
	b.WriteString(`Without loss the probe traffic is SWIM's constant: one ping and one ack sent per member per
period (2 frames), independent of n. The full-state exchange is the only part that grows: a
state message is O(n) bytes, and its period grows only with ⌈log₂(n/32)⌉, so its share per
period grows roughly as n/log n — it is the reason the exchange is rare. With 5 % loss, failed
probes start suspicions and refutations, which are gossiped: every member receives and relays
the suspicions of all n members, so at a fixed loss rate their traffic per member grows with n
(SWIM's constant load holds for the failure detector itself, the probes; dissemination of
false suspicions scales with the number of members that can be falsely suspected).

`)
	b.WriteString(linePlot(o, "load", "Load per member per period", "group size n", "frames or bytes/100", true, []series{
		{name: "frames (no loss)", xs: xs, ys: yf, points: true},
		{name: "frames (5 % loss)", xs: xl, ys: yl, points: true},
		{name: "bytes/100 without push-pull", xs: xs, ys: scale(yb, 0.01), points: true},
		{name: "push-pull bytes/100", xs: xs, ys: scale(ypp, 0.01), points: true, dashed: true},
	}))
	return b.String()
}

func scale(xs []float64, f float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * f
	}
	return out
}

// ---- 4. slow member ----

func expSlow(o *options) string {
	n := 100
	window := 5 * time.Minute
	if o.quick {
		window = 3 * time.Minute
	}
	delays := []time.Duration{1200 * time.Millisecond, 3 * time.Second}
	const slowIdx = 7
	type res struct {
		slowSusp, falseFails, failSlow, healthyRefut float64
		health                                       float64
	}
	seeds := o.nSeeds(2)
	// Variants: the LAN profile (Lifeguard + repair), the same with
	// memberlist's suspicion multiplier, and plain SWIM.
	variants := []struct {
		name string
		cfg  func(int, *membership.Config)
	}{
		{onOff(true), lifeguard(true)},
		{onOff(true) + ", SuspicionMult 4", func(_ int, c *membership.Config) { c.SuspicionMult = 4 }},
		{onOff(false), lifeguard(false)},
	}
	results := make([][][]res, len(delays))
	for di := range results {
		results[di] = make([][]res, len(variants))
	}
	var mu sync.Mutex
	var jobs []func()
	for di, d := range delays {
		for vi, v := range variants {
			for s := 1; s <= seeds; s++ {
				jobs = append(jobs, func() {
					w := newWorld(worldConfig{N: n, Seed: uint64(400 + s), Member: v.cfg})
					w.nodes[slowIdx].slow = d
					var r res
					w.onEvent = func(obs int, e membership.Event) {
						if e.Kind == membership.EventFail {
							if e.Member.ID == sim.ID(slowIdx) {
								r.failSlow++
							} else {
								r.falseFails++
							}
						}
					}
					var hs []float64
					for t := time.Second; t <= window; t += time.Second {
						w.net.Run(t)
						hs = append(hs, float64(w.nodes[slowIdx].ml.Health()))
					}
					r.health = mean(hs)
					r.slowSusp = float64(w.nodes[slowIdx].ml.Stats().Suspicions)
					for i, nd := range w.nodes {
						if i != slowIdx {
							r.healthyRefut += float64(nd.ml.Stats().Refutations)
						}
					}
					mu.Lock()
					results[di][vi] = append(results[di][vi], r)
					mu.Unlock()
				})
			}
		}
	}
	parallel(o, jobs)
	avg := func(rs []res, f func(res) float64) float64 {
		var xs []float64
		for _, r := range rs {
			xs = append(xs, f(r))
		}
		return mean(xs)
	}
	var rows [][]string
	for di, d := range delays {
		for vi, v := range variants {
			rs := results[di][vi]
			rows = append(rows, []string{d.String(), v.name,
				f1(avg(rs, func(r res) float64 { return r.slowSusp })),
				f1(avg(rs, func(r res) float64 { return r.healthyRefut })),
				f1(avg(rs, func(r res) float64 { return r.falseFails })),
				f1(avg(rs, func(r res) float64 { return r.failSlow })),
				f2(avg(rs, func(r res) float64 { return r.health })),
			})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `n = %d, no loss, %s per run, mean of %d seeds. Member %d is CPU-starved: every frame it
receives is processed only after the given delay (its timers run on time), so the acks to
its own probes arrive after its probe timeout. The other members are healthy.

`, n, window, seeds, slowIdx)
	b.WriteString(table([]string{"processing delay", "detector", "suspicions raised by the slow member", "refutations by healthy members",
		"fail events about healthy members", "fail events about the slow member", "slow member's mean health multiplier"}, rows))
	b.WriteString(`Without Lifeguard the slow member suspects nearly every member it probes, each healthy
member has to refute, and the whole group pays for the dissemination. With Lifeguard the
missed nacks raise its local health multiplier, which stretches its probe timeout and
period until its late acks fit again; it raises far fewer suspicions and the healthy members
refute far less.

The slow member itself is suspected by others, since its acks are late for everyone. What
happens next depends on the suspicion timeout. Plain SWIM waits 4·log₁₀ n periods (8 s at
n = 100), long enough for a refutation that is itself seconds late. The LAN profile waits
1.5·log₁₀ n periods once independent members confirm the suspicion (3 s here); it chose that
to detect crashes fast (docs/benchmarks/swim.md). So a member 1.2 s behind survives, while a
member whose every answer is 3 s late is declared failed again and again, each time
refuting and coming back. Whether such a member should count as failed is the application's
call: the rows with Config.SuspicionMult 4 (memberlist's value) show what the longer timeout
buys, at the price of slower crash detection.

`)
	return b.String()
}

// ---- 5. partition ----

func expPartition(o *options) string {
	n := 500
	if o.quick {
		n = 200
	}
	warm, cut := 20*time.Second, 180*time.Second
	limit := 600 * time.Second
	seeds := o.nSeeds(2)
	type res struct {
		split, heal     float64
		split99, heal99 float64 // the same for 99 % of the members' lists
		ts, view        []float64
	}
	results := make([]res, seeds)
	var jobs []func()
	for s := 1; s <= seeds; s++ {
		jobs = append(jobs, func() {
			w := newWorld(worldConfig{N: n, Seed: uint64(500 + s)})
			var a, bb []int
			for i := 0; i < n; i++ {
				if i < n/2 {
					a = append(a, i)
				} else {
					bb = append(bb, i)
				}
			}
			r := res{split: math.NaN(), heal: math.NaN(), split99: math.NaN(), heal99: math.NaN()}
			w.net.Run(warm)
			w.net.Partition(a, bb)
			for t := warm + time.Second; t <= warm+cut+limit; t += time.Second {
				if t == warm+cut+time.Second {
					w.net.Heal()
				}
				w.net.Run(t)
				sum, half, whole := 0, 0, 0
				for _, nd := range w.nodes {
					sz := nd.ml.Size()
					sum += sz
					switch sz {
					case n / 2:
						half++
					case n:
						whole++
					}
				}
				allHalf := half == n
				if 100*half >= 99*n && math.IsNaN(r.split99) && t <= warm+cut {
					r.split99 = (t - warm).Seconds()
				}
				if 100*whole >= 99*n && math.IsNaN(r.heal99) && t > warm+cut {
					r.heal99 = (t - warm - cut).Seconds()
				}
				r.ts = append(r.ts, t.Seconds())
				r.view = append(r.view, float64(sum)/float64(n))
				if allHalf && math.IsNaN(r.split) && t <= warm+cut {
					r.split = (t - warm).Seconds()
				}
				if t > warm+cut && math.IsNaN(r.heal) && w.converged() {
					r.heal = (t - warm - cut).Seconds()
					// keep sampling a little for the plot
				}
				if !math.IsNaN(r.heal) && t > warm+cut+time.Duration(r.heal)*time.Second+30*time.Second {
					break
				}
			}
			results[s-1] = r
		})
	}
	parallel(o, jobs)
	var rows [][]string
	var ss []series
	for i, r := range results {
		rows = append(rows, []string{fmt.Sprint(i + 1), f0(r.split99), f0(r.split), f0(r.heal99), f0(r.heal)})
		ss = append(ss, series{name: fmt.Sprintf("seed %d", i+1), xs: r.ts, ys: r.view})
	}
	var b strings.Builder
	fmt.Fprintf(&b, `n = %d; after a %s warm-up the network is cut into two halves of %d for %s, then
healed. "Split" is the time from the cut until every member's list holds exactly its own
half; "re-merged" the time from the heal until every member sees all %d members alive and
nothing else. The "99 %%" columns give the same for 99 %% of the members' lists (counting
the live members in each list), which shows the bulk apart from the last stragglers.

`, n, warm, n/2, cut, n)
	b.WriteString(table([]string{"seed", "split, 99 % of lists (s after cut)", "split: every member sees only its half (s after cut)", "re-merged, 99 % of lists (s after heal)", "re-merged: every list exact (s after heal)"}, rows))
	b.WriteString(`Each side declares the other dead through the ordinary path (probe, suspicion, confirmations
by the many members that fail to reach the same targets, timeout). After the heal nothing
crosses by itself: every member only probes and gossips to members it believes alive. The
reconnect (every 30 s each member sends a full-state exchange to one random member it
believes failed) re-establishes contact: the receiver finds itself declared dead in the
sender's state and refutes with a higher incarnation, its reply carries that refutation
back, and both sides then gossip the refutations they hear. Tombstones (kept 1 h) are what
make the reconnect possible.

The mean list (plot) moves on the gossip's time scale: it sheds the other half within about
a minute of the cut and regains nearly all of it within seconds of the heal. Exact lists take
longer, because most lists are off by one or two entries for a while. After the cut and
again after the heal, 250 updates about the other side are in flight at once on each side,
and they compete for the same piggyback space. A list that missed every copy of one update
(dissemination reaches everyone only with high probability) is put right by the periodic
full-state exchange with a random member, or when its owner probes that member in its
round-robin of all members. Both act on a scale of tens of seconds at n = 500.

`)
	b.WriteString(linePlot(o, "partition", fmt.Sprintf("Partition of %d into halves at %s, heal at %s", n, warm, warm+cut),
		"time (s)", "mean live members per member's list", false, ss))
	return b.String()
}

// ---- 6. churn ----

func expChurn(o *options) string {
	n := o.churnN
	if o.quick {
		n = 200
	}
	const churnPeriods = 100
	per := n / 100
	warm := 20 * time.Second
	seeds := o.nSeeds(1)
	type res struct {
		conv                 float64
		falseFails, departed float64
		ts, frac             []float64
		at10, at60, last     float64 // fraction of exact views 10 s and 60 s after the churn, and at the end
	}
	results := make([]res, seeds)
	var jobs []func()
	for s := 1; s <= seeds; s++ {
		jobs = append(jobs, func() {
			capacity := n + churnPeriods*per
			w := newWorld(worldConfig{N: n, Capacity: capacity, Seed: uint64(600 + s)})
			rng := rand.New(rand.NewPCG(uint64(s), 6))
			next := n
			leftAt := make([]bool, capacity)
			r := res{conv: math.NaN()}
			w.onEvent = func(obs int, e membership.Event) {
				if e.Kind != membership.EventFail {
					return
				}
				if i, ok := sim.Index(e.Member.ID); ok && leftAt[i] {
					r.departed++
				} else {
					r.falseFails++
				}
			}
			w.net.Run(warm)
			for p := 0; p < churnPeriods; p++ {
				base := warm + time.Duration(p)*period
				for k := 0; k < per; k++ {
					at := base + time.Duration(rng.Int64N(int64(period)))
					newIdx := next
					next++
					w.net.At(at, func() {
						up := w.upMembers()
						leaver := up[rng.IntN(len(up))]
						leftAt[leaver] = true
						w.nodes[leaver].ml.Leave()
						w.net.CrashAt(w.net.Now()+5*time.Second, leaver)
						up = w.upMembers()
						seed := up[rng.IntN(len(up))]
						nd := w.add(newIdx, uint64(600+s))
						nd.ml.Join([]core.NodeID{sim.ID(seed)})
					})
				}
			}
			end := warm + churnPeriods*period
			for t := warm + time.Second; t <= end+600*time.Second; t += time.Second {
				w.net.Run(t)
				up := w.upMembers()
				inUp := make([]bool, capacity)
				for _, i := range up {
					inUp[i] = true
				}
				exact := 0
				for _, i := range up {
					ms := w.nodes[i].ml.Members()
					ok := len(ms) == len(up)
					for _, m := range ms {
						j, _ := sim.Index(m.ID)
						if !inUp[j] || m.State != membership.StateAlive {
							ok = false
							break
						}
					}
					if ok {
						exact++
					}
				}
				r.ts = append(r.ts, (t - warm).Seconds())
				f := float64(exact) / float64(len(up))
				r.frac = append(r.frac, f)
				r.last = f
				switch t - end {
				case 10 * time.Second:
					r.at10 = f
				case 60 * time.Second:
					r.at60 = f
				}
				if t >= end && exact == len(up) && math.IsNaN(r.conv) {
					r.conv = (t - end).Seconds()
				}
				// Run on to the 60 s mark even after converging, so that
				// the 10 s and 60 s columns are measured, not assumed.
				if !math.IsNaN(r.conv) && t >= end+60*time.Second {
					break
				}
			}
			results[s-1] = r
		})
	}
	parallel(o, jobs)
	var rows [][]string
	var ss []series
	for i, r := range results {
		rows = append(rows, []string{fmt.Sprint(i + 1), f0(r.conv), fmt.Sprintf("%.1f %%", 100*r.at10), fmt.Sprintf("%.1f %%", 100*r.at60), fmt.Sprintf("%.1f %%", 100*r.last), f0(r.departed), f0(r.falseFails)})
		ss = append(ss, series{name: fmt.Sprintf("seed %d", i+1), xs: r.ts, ys: r.frac})
	}
	var b strings.Builder
	fmt.Fprintf(&b, `n = %d; after a %s warm-up, every period for %d periods %d random members leave (graceful
Leave, then they stop 5 s later) and %d new members join through a random live member
(a full-state exchange with that seed). "Converged" is the time after the churn stops until
every live member's list is exactly the set of live members, all alive.

`, n, warm, churnPeriods, per, per)
	b.WriteString(table([]string{"seed", "converged: all exact (s after churn stops, checked up to 600 s)", "exact views 10 s after", "60 s after", "at the end", "fail events about departed members (leave missed)", "fail events about live members (false)"}, rows))
	b.WriteString(`A joiner is known to its seed at once and spreads as a fresh alive update; it learns
the group from the seed's state. A leave spreads as a (signable) leave update, so departed
members are mostly not reported as failures. During the churn almost no view is exact (ten
changes per period are always in flight). Once it stops the views converge within seconds,
unless a member missed an update entirely (dissemination reaches everyone only with high
probability). Such stragglers are repaired by the periodic full-state exchange and by
probing, on the push-pull period's time scale rather than the gossip's. A member that
missed a leave eventually probes the departed member and reports it failed (the "leave
missed" column).

`)
	b.WriteString(linePlot(o, "churn", fmt.Sprintf("Churn at n = %d: 1 %% leave + 1 %% join per period for %d periods", n, churnPeriods),
		"time since churn started (s)", "fraction of members with an exact view", false, ss))
	return b.String()
}

// ---- 7. gossip on membership ----

func expGossip(o *options) string {
	n := 500
	if o.quick {
		n = 200
	}
	warm := 20 * time.Second
	seeds := o.nSeeds(2)
	type res struct {
		informedAtCrash, survivors, delivered float64
		last                                  float64 // s after publish until the last survivor
		conv                                  float64
	}
	scenarios := []string{"20 % of members crash when a quarter holds the message", "the origin and 20 % crash when a quarter holds it"}
	results := make([][]res, len(scenarios))
	var mu sync.Mutex
	var jobs []func()
	for sc := range scenarios {
		for s := 1; s <= seeds; s++ {
			jobs = append(jobs, func() {
				w := newWorld(worldConfig{N: n, Seed: uint64(700 + s), Gossip: true})
				rng := rand.New(rand.NewPCG(uint64(s), uint64(sc)))
				got := make([]time.Duration, n)
				holders := 0
				r := res{conv: math.NaN()}
				crashed := false
				var origin int
				crash := func() {
					r.informedAtCrash = float64(holders)
					perm := rng.Perm(n)
					k := 0
					for _, i := range perm {
						if k == n/5 {
							break
						}
						if i == origin {
							continue
						}
						w.net.Crash(i)
						k++
					}
					if sc == 1 {
						w.net.Crash(origin)
					}
				}
				w.onMsg = func(node int, m *core.Message) {
					if got[node] == 0 {
						got[node] = w.net.Now()
						holders++
						// Crash in the middle of the dissemination: as soon as a
						// quarter of the group holds the message.
						if !crashed && holders >= n/4 {
							crashed = true
							w.net.At(w.net.Now(), crash)
						}
					}
				}
				w.net.Run(warm)
				origin = rng.IntN(n)
				pub := w.net.Now()
				if _, err := w.nodes[origin].gn.Publish("t", []byte("payload")); err != nil {
					panic(err)
				}
				for t := pub + time.Second; t < pub+300*time.Second; t += time.Second {
					w.net.Run(t)
					if math.IsNaN(r.conv) && w.converged() {
						r.conv = (t - pub).Seconds()
					}
					if t >= pub+30*time.Second && !math.IsNaN(r.conv) {
						break
					}
				}
				for i := 0; i < n; i++ {
					if w.net.Up(i) {
						r.survivors++
						if got[i] != 0 {
							r.delivered++
							r.last = math.Max(r.last, (got[i] - pub).Seconds())
						}
					}
				}
				mu.Lock()
				results[sc] = append(results[sc], r)
				mu.Unlock()
			})
		}
	}
	parallel(o, jobs)
	var rows [][]string
	for sc, name := range scenarios {
		for i, r := range results[sc] {
			rows = append(rows, []string{name, fmt.Sprint(i + 1), fmt.Sprintf("%.0f of %d", r.informedAtCrash, n),
				fmt.Sprintf("%.0f / %.0f", r.delivered, r.survivors), fmt.Sprintf("%.3f", r.last), f0(r.conv)})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `n = %d grapevine.Nodes (core.Engine with its default push-pull configuration, one gossip round
every 2 ticks = 200 ms, over the memberlist as peer sampler and piggybacker). After a %s
warm-up one member publishes a message; as soon as a quarter of the group holds it, a fifth of
the group (chosen at random, so about a fifth of the informed and of the uninformed) crashes
without a word. %d seeds per scenario.

`, n, warm, seeds)
	b.WriteString(table([]string{"scenario", "seed", "members holding the message at the crash", "survivors delivered", "publish → last survivor (s)", "membership converged (s after publish)"}, rows))
	b.WriteString(`Every survivor delivers the message, including when its origin is among the crashed:
eager push has usually passed it on in the first hops, the hot rounds keep pushing it, and pull
(one digest per round) repairs whatever the crashed members were supposed to forward. Gossip
targets come from the memberlist, so until the crashed members are declared dead some pushes go
to dead members; that only costs redundancy. The membership then removes the crashed members
(column 6: suspicion timeout plus dissemination).

`)
	return b.String()
}

// ---- 8. ablation: which part prevents false failures ----

func expAblation(o *options) string {
	n := 200
	window := o.ablWin
	if o.quick {
		window = 2 * time.Minute
	}
	losses := []float64{0.10, 0.20, 0.30}
	variants := []struct {
		name    string
		lg, rep bool
	}{{"plain SWIM", false, false}, {"SWIM + repair", false, true}, {"Lifeguard", true, false}, {"Lifeguard + repair", true, true}}
	type res struct{ susp, declared, fails, refut uint64 }
	results := make([][]res, len(losses))
	for i := range results {
		results[i] = make([]res, len(variants))
	}
	var jobs []func()
	for li, loss := range losses {
		for vi, v := range variants {
			jobs = append(jobs, func() {
				w := newWorld(worldConfig{N: n, Seed: uint64(800 + li), Loss: loss, Member: func(_ int, c *membership.Config) { c.Lifeguard, c.Repair = v.lg, v.rep }})
				var r res
				w.onEvent = func(obs int, e membership.Event) {
					if e.Kind == membership.EventFail {
						r.fails++
					}
				}
				w.net.Run(window)
				for _, nd := range w.nodes {
					st := nd.ml.Stats()
					r.susp += st.Suspicions
					r.declared += st.Declared
					r.refut += st.Refutations
				}
				results[li][vi] = r
			})
		}
	}
	parallel(o, jobs)
	var rows [][]string
	for li, loss := range losses {
		for vi, v := range variants {
			r := results[li][vi]
			rows = append(rows, []string{fmt.Sprintf("%.0f %%", loss*100), v.name, fmt.Sprint(r.susp), fmt.Sprint(r.refut), fmt.Sprint(r.declared), fmt.Sprint(r.fails)})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `Which mechanism keeps false failures away? n = %d, %s per run, one seed per loss rate (the
same seed for the four variants), no crash. "Repair" is this library's addition (direct
corrections of stale accusations, reminders to suspects; Config.Repair).

`, n, window)
	b.WriteString(table([]string{"loss", "variant", "suspicions", "refutations", "declarations (timer expiries)", "false fail events"}, rows))
	var sums []string
	for vi, v := range variants {
		t := uint64(0)
		for li := range losses {
			t += results[li][vi].fails
		}
		sums = append(sums, fmt.Sprintf("%s %d", v.name, t))
	}
	fmt.Fprintf(&b, `False fail events summed over the three loss rates: %s. Lifeguard acts before and
during a suspicion (fewer suspicions from a member whose own probes fail, a long timeout
unless independent members confirm); the repair acts on members that missed a refutation.

`, strings.Join(sums, ", "))
	return b.String()
}
