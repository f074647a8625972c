//go:build !js

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p/core/peer"
)

// jsLibp2pBundle returns the js-libp2p bundle for the browser that
// wasm/interop/build.sh makes (installing js-libp2p from npm), building it
// when it is missing or older than its sources; it skips the test, saying
// why, when node or npm is missing or the install fails.
func jsLibp2pBundle(t *testing.T) string {
	root := repoRoot(t)
	dir := os.Getenv("GRAPEVINE_INTEROP_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Skipf("no cache directory for the js-libp2p install: %v", err)
		}
		dir = filepath.Join(cache, "grapevine-interop")
	}
	bundle := filepath.Join(dir, "dist", "dial.js")
	if st, err := os.Stat(bundle); err == nil {
		fresh := true
		for _, f := range []string{"package.json", "package-lock.json", "dial.js"} {
			if src, err := os.Stat(filepath.Join(root, "wasm", "interop", f)); err != nil || src.ModTime().After(st.ModTime()) {
				fresh = false
			}
		}
		if fresh {
			return bundle
		}
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the js-libp2p interop test needs %s: %v", tool, err)
		}
	}
	cmd := exec.Command("bash", filepath.Join(root, "wasm", "interop", "build.sh"))
	cmd.Env = append(os.Environ(), "GRAPEVINE_INTEROP_DIR="+dir)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		// Most likely npm could not reach the registry.
		t.Skipf("installing js-libp2p (wasm/interop/build.sh) failed: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// interopResult is what window.interopDial (wasm/interop/dial.js) returns.
type interopResult struct {
	Self       string   `json:"self"`       // the js-libp2p node's peer ID
	RemotePeer string   `json:"remotePeer"` // the peer it reached
	RTT        float64  `json:"rtt"`        // ping's round trip, ms
	RemoteAddr string   `json:"remoteAddr"` // the connection's remote multiaddr
	Limited    bool     `json:"limited"`    // a limited (relayed) connection
	Protocols  []string `json:"protocols"`  // identify: the protocols the peer supports
	Agent      string   `json:"agent"`      // identify: its agent version
}

// openJSLibp2pPage serves bundle (jsLibp2pBundle) in a page of its own in
// the browser of parent and returns the page's context once the bundle
// loaded (window.interopReady).
func openJSLibp2pPage(t *testing.T, parent context.Context, bundle string) context.Context {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>js-libp2p</title><script type="module" src="dial.js"></script>`)
	})
	mux.HandleFunc("/dial.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		http.ServeFile(w, r, bundle)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	pctx, stop := chromedp.NewContext(parent, logConsole(t, "js-libp2p page"))
	t.Cleanup(stop)
	if err := chromedp.Do(pctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("js-libp2p page: %v", err)
	}
	eventually(t, 20*time.Second, "js-libp2p page loaded", func() bool {
		ready, err := chromedp.Run(pctx, chromedp.Evaluate[bool](`window.interopReady === true`))
		return err == nil && ready
	})
	return pctx
}

// jsDial has the js-libp2p node of page pctx dial addr, ping the peer and
// read what identify learned (a fresh js-libp2p node each time, stopped
// afterwards); it returns the result, or the error's message.
func jsDial(t *testing.T, pctx context.Context, addr string) (interopResult, error) {
	t.Logf("js-libp2p dials %s", addr)
	start := time.Now()
	raw, err := chromedp.Run(pctx, chromedp.Evaluate[string](fmt.Sprintf(`window.interopDial(%q)`, addr), chromedp.EvalAwaitPromise))
	if err != nil {
		return interopResult{}, err
	}
	var res interopResult
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("result %q: %v", raw, err)
	}
	t.Logf("js-libp2p -> %s in %s: %+v", addr, time.Since(start).Round(time.Millisecond), res)
	return res, nil
}

// TestJSLibp2pDialsTab: a js-libp2p node (libp2p 3, @libp2p/webrtc,
// @libp2p/circuit-relay-v2, from npm) in a third Chromium page dials page
// A's advertised /p2p-circuit/webrtc address through the native relay,
// exactly as a js-libp2p application would, then pings page A and reads
// what identify learned. Page A answers non-members here
// (webrtcFromNonMembers, the page's ?nonmembers=1): the js-libp2p node is
// not a member of the group.
func TestJSLibp2pDialsTab(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium and installs js-libp2p; skipped with -short")
	}
	bundle := jsLibp2pBundle(t)
	c := setup(t, "?nonmembers=1")
	tabA, err := peer.Decode(c.idA)
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	eventually(t, 10*time.Second, "page A's /p2p-circuit/webrtc address known to native 1", func() bool {
		for _, a := range c.natives[1].p.Host().Peerstore().Addrs(tabA) {
			if strings.HasSuffix(a.String(), "/p2p-circuit/webrtc") && strings.Contains(a.String(), "/ws/") {
				addr = a.String() + "/p2p/" + c.idA
				return true
			}
		}
		return false
	})
	before := c.a.stats(t).Transport

	pctx := openJSLibp2pPage(t, c.a.ctx, bundle)
	res, err := jsDial(t, pctx, addr)
	if err != nil {
		t.Fatalf("js-libp2p dialing page A: %v", err)
	}
	if !strings.Contains(res.RemoteAddr, "/p2p-circuit/webrtc") || res.Limited {
		t.Errorf("js-libp2p's connection to page A is %s (limited %v), want a direct WebRTC one", res.RemoteAddr, res.Limited)
	}
	if !strings.HasPrefix(res.Agent, "grapevine-browser/") {
		t.Errorf("identify: agent %q", res.Agent)
	}
	for _, p := range []string{"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/webrtc-signaling/0.0.1"} {
		if !slices.Contains(res.Protocols, p) {
			t.Errorf("identify: page A's protocols %v lack %s", res.Protocols, p)
		}
	}
	after := c.a.stats(t).Transport
	if after.SignalAnswered-before.SignalAnswered < 1 {
		t.Errorf("page A answered %.0f signalling exchanges during the js-libp2p dial", after.SignalAnswered-before.SignalAnswered)
	}
}
