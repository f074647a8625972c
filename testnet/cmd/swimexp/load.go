package main

import (
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/grapevine-p2p/grapevine/membership"
)

// Experiment 3: frames and bytes each member sends per protocol period, vs n.

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
