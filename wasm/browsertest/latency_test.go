//go:build !js

package browsertest

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserLatencyReport measures delivery latency from page A to page B
// and to the native peers, with the pages linked directly over WebRTC and
// with WebRTC off (everything through the natives over WebSocket). It is a
// report, not a check: run it with GRAPEVINE_BROWSER_BENCH=1 (see
// docs/benchmarks/wasm.md).
func TestBrowserLatencyReport(t *testing.T) {
	if os.Getenv("GRAPEVINE_BROWSER_BENCH") == "" {
		t.Skip("a benchmark report: set GRAPEVINE_BROWSER_BENCH=1 to run it")
	}
	const n, gap = 200, 50 // messages, milliseconds between them (20/s)
	var rows []string
	for _, mode := range []struct{ name, query string }{{"webrtc", ""}, {"websocket-only", "?webrtc=0"}} {
		t.Run(mode.name, func(t *testing.T) {
			c := setup(t, mode.query)
			if mode.name == "webrtc" {
				eventually(t, 30*time.Second, "pages linked over WebRTC", func() bool {
					return c.a.state(t).link(c.idB) == "webrtc" && c.b.state(t).link(c.idA) == "webrtc"
				})
			}
			c.a.publish(t, "warm-up")
			eventually(t, 10*time.Second, "warm-up delivered", func() bool { return c.b.state(t).has("warm-up") })
			expr := fmt.Sprintf(`(async () => { for (let i = 0; i < %d; i++) { await window.grapevineNode.publish('chat', 'bench ' + i); await new Promise((r) => setTimeout(r, %d)); } return 'ok'; })()`, n, gap)
			if _, err := chromedp.Run(c.a.ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise)); err != nil {
				t.Fatal(err)
			}
			count := func(s pageState) int {
				k := 0
				for _, m := range s.Messages {
					if strings.HasPrefix(m.Text, "bench ") {
						k++
					}
				}
				return k
			}
			deadline := time.Now().Add(15 * time.Second)
			for count(c.b.state(t)) < n && time.Now().Before(deadline) {
				time.Sleep(200 * time.Millisecond)
			}
			var pageLat []float64
			for _, m := range c.b.state(t).Messages {
				if strings.HasPrefix(m.Text, "bench ") {
					pageLat = append(pageLat, m.LatencyMs)
				}
			}
			var natLat []float64
			for _, nat := range c.natives {
				nat.mu.Lock()
				for i := 0; i < n; i++ {
					if d, ok := nat.lat[fmt.Sprintf("bench %d", i)]; ok {
						natLat = append(natLat, float64(d.Microseconds())/1e3)
					}
				}
				nat.mu.Unlock()
			}
			row := fmt.Sprintf("| %s | page B | %s | natives | %s |", mode.name, summary(pageLat, n), summary(natLat, 3*n))
			t.Log(row)
			rows = append(rows, row)
		})
	}
	t.Log("| mode | | delivered, p50, p99, max (ms) | | delivered, p50, p99, max (ms) |\n" + strings.Join(rows, "\n"))
}

func summary(v []float64, want int) string {
	if len(v) == 0 {
		return "0 delivered"
	}
	slices.Sort(v)
	q := func(p float64) float64 { return v[min(len(v)-1, int(p*float64(len(v))))] }
	return fmt.Sprintf("%d/%d, %.1f, %.1f, %.1f", len(v), want, q(0.5), q(0.99), v[len(v)-1])
}
