//go:build !js

package browsertest

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBrowserStartReport compares a page's path to the natives over
// WebSocket (page over http), WebTransport and WebRTC-direct (page over
// https):
// navigation to started peer (fetching and compiling the wasm included)
// and to joined (the page lists a native alive),
// and five more nodes started in the loaded page, each timed to started
// (connect, secure, start the peer) and to joined (another member known
// alive). A report, not a check: run it with
// GRAPEVINE_BROWSER_BENCH=1 (see docs/benchmarks/wasm.md).
func TestBrowserStartReport(t *testing.T) {
	if os.Getenv("GRAPEVINE_BROWSER_BENCH") == "" {
		t.Skip("a benchmark report: set GRAPEVINE_BROWSER_BENCH=1 to run it")
	}
	var rows []string
	for _, mode := range []struct {
		name         string
		https        bool
		listen, part string
	}{
		{"websocket (http page)", false, "/ip4/127.0.0.1/tcp/0/ws", "/ws/"},
		{"webtransport (https page)", true, "/ip4/127.0.0.1/udp/0/quic-v1/webtransport", "/webtransport/"},
		{"webrtc-direct (https page)", true, "/ip4/127.0.0.1/udp/0/webrtc-direct", "/webrtc-direct/"},
	} {
		t.Run(strings.Fields(mode.name)[0], func(t *testing.T) {
			o := startOneTab(t, mode.https, mode.listen, mode.part)
			nav := o.page.state(t).StartedMs
			var navJoined float64
			eventually(t, 20*time.Second, "the page lists a native alive", func() bool {
				navJoined = o.page.state(t).JoinedMs
				return navJoined > 0
			})
			eventually(t, 20*time.Second, "the natives see the page alive", func() bool {
				return o.natives[0].state(o.id) == "alive" && o.natives[1].state(o.id) == "alive"
			})
			boot := addrsOn(o.natives[0].p, mode.part)[0]
			var started, joined []float64
			for i := 0; i < 5; i++ {
				s, j, msg := o.startTimes(t, boot)
				if msg != "" {
					t.Fatal(msg)
				}
				started, joined = append(started, s), append(joined, j)
			}
			row := "| " + mode.name + " | " + ftoa(nav) + " | " + ftoa(navJoined) + " | " + spread(started) + " | " + spread(joined) + " |"
			t.Log(row)
			rows = append(rows, row)
		})
	}
	t.Log("| path | navigation → first peer started (ms) | navigation → first peer joined (ms) | Grapevine.start → started, median of 5 (min–max) (ms) | Grapevine.start → joined, median of 5 (min–max) (ms) |\n" + strings.Join(rows, "\n"))
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

// spread is "median (min–max)" of five values.
func spread(v []float64) string {
	slices.Sort(v)
	return ftoa(v[len(v)/2]) + " (" + ftoa(v[0]) + "–" + ftoa(v[len(v)-1]) + ")"
}
