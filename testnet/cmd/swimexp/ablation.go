package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/grapevine-p2p/grapevine/membership"
)

// Experiment 8: which of Lifeguard and repair keeps false failures away.

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
