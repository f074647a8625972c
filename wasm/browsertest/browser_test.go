//go:build !js

package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/grapevine-p2p/grapevine/examples/browser/site"
	"github.com/grapevine-p2p/grapevine/p2p"
)

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// chromium finds Chromium, installing it with scripts/install-chromium.sh
// when missing; it skips the test when that cannot be done.
func chromium(t *testing.T) string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	find := func() string {
		for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	cmd := exec.Command("bash", filepath.Join(repoRoot(t), "scripts", "install-chromium.sh"))
	out, err := cmd.CombinedOutput()
	t.Logf("install-chromium.sh: %s", strings.TrimSpace(string(out)))
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 {
		t.Skipf("Chromium is not installed and cannot be installed here: %s", strings.TrimSpace(string(out)))
	}
	if err != nil {
		t.Fatalf("install-chromium.sh: %v", err)
	}
	if p := find(); p != "" {
		return p
	}
	t.Skip("Chromium could not be found after installing it")
	return ""
}

// buildWasm builds the wasm peer exactly as scripts/build-wasm.sh does.
func buildWasm(t *testing.T) string {
	out := filepath.Join(t.TempDir(), "grapevine.wasm")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	cmd := exec.Command(gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./wasm/cmd/grapevine")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the wasm peer: %v\n%s", err, b)
	}
	return out
}

type native struct {
	p    *p2p.Peer
	mu   sync.Mutex
	msgs map[string]bool          // chat texts received
	lat  map[string]time.Duration // their delivery latency
}

// newNative wraps p and records the chat texts it receives.
func newNative(t *testing.T, p *p2p.Peer) *native {
	n := &native{p: p, msgs: map[string]bool{}, lat: map[string]time.Duration{}}
	sub, err := p.Subscribe(site.ChatTopic)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m := range sub.Messages() {
			n.mu.Lock()
			n.msgs[string(m.Data)] = true
			n.lat[string(m.Data)] = m.Latency
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *native) has(text string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.msgs[text]
}

func (n *native) state(id string) string {
	for _, m := range n.p.Members() {
		if m.ID.String() == id {
			return m.State
		}
	}
	return ""
}

type pageState struct {
	ID        string  `json:"id"`
	Error     string  `json:"error"`
	StartedMs float64 `json:"startedMs"`
	JoinedMs  float64 `json:"joinedMs"` // navigation start → another member known alive; 0 until then
	Events    []struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	} `json:"events"`
	Messages []struct {
		Key, From, Text string
		Local           bool
		LatencyMs       float64
	} `json:"messages"`
	Members []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"members"`
	Conns []struct {
		Peer      string  `json:"peer"`
		Transport string  `json:"transport"`
		BytesIn   float64 `json:"bytesIn"`
	} `json:"conns"`
}

func (s pageState) has(text string) bool {
	for _, m := range s.Messages {
		if m.Text == text {
			return true
		}
	}
	return false
}

func (s pageState) link(peer string) string {
	for _, c := range s.Conns {
		if c.Peer == peer && c.Transport == "webrtc" {
			return "webrtc"
		}
	}
	for _, c := range s.Conns {
		if c.Peer == peer {
			return c.Transport
		}
	}
	return ""
}

// rtcIn returns the WebRTC data-channel bytes received from peer.
func (s pageState) rtcIn(peer string) float64 {
	for _, c := range s.Conns {
		if c.Peer == peer && c.Transport == "webrtc" {
			return c.BytesIn
		}
	}
	return 0
}

func (s pageState) memberState(id string) string {
	for _, m := range s.Members {
		if m.ID == id {
			return m.State
		}
	}
	return ""
}

type page struct {
	name string
	ctx  context.Context
	stop context.CancelFunc
}

func (p *page) state(t *testing.T) pageState {
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`JSON.stringify(window.grapevineState ? window.grapevineState() : {})`))
	if err != nil {
		t.Fatalf("page %s: reading state: %v", p.name, err)
	}
	var s pageState
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("page %s: state %q: %v", p.name, raw, err)
	}
	if s.Error != "" {
		t.Fatalf("page %s shows an error: %s", p.name, s.Error)
	}
	return s
}

func (p *page) publish(t *testing.T, text string) {
	expr := fmt.Sprintf(`window.grapevineNode.publish('chat', %q).then(r => r.key)`, text)
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("page %s: publish: %v", p.name, err)
	}
}

func (p *page) screenshot(t *testing.T, name string) {
	dir := os.Getenv("GRAPEVINE_SCREENSHOTS")
	if dir == "" {
		return
	}
	buf, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// eventually polls cond every 200 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			t.Logf("%s: after %s", what, time.Since(start).Round(100*time.Millisecond))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s", what, d)
}

// cluster is the test bed: 3 native peers (native 0 is the pages'
// bootstrap peer and signalling relay) and 2 pages in one headless Chromium.
type cluster struct {
	ctx      context.Context
	natives  []*native
	relay    *native
	a, b     *page
	idA, idB string
}

// setup starts the cluster; query is appended to the page URL. Everything
// stops at the end of the test.
func setup(t *testing.T, query string) *cluster {
	if testing.Short() {
		t.Skip("starts Chromium; skipped with -short")
	}
	bin := chromium(t)
	wasmPath := buildWasm(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)

	const group = "browser-test"
	natives := startNatives(t, ctx, group, "/ip4/127.0.0.1/tcp/0/ws", 3, site.WSAddrs)
	for _, n := range natives {
		go site.ReportSeen(ctx, n.p)
	}
	relay := natives[0] // the pages bootstrap from (and signal through) native 0 only
	// An ICE server that does not answer (nothing listens there): the
	// pages must still connect, with their host candidates, without
	// waiting for it longer than the gathering bound.
	ice := []string{"stun:127.0.0.1:9"}
	h, err := site.Handler(site.Config{WasmPath: wasmPath, Bootstrap: site.WSAddrs(relay.p), Group: group, Profile: "lan", ICEServers: ice})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromiumFlags(t, bin,
		append(pagesInFront(), chromedp.WindowSize(1200, 900))...)...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", bin, err)
	}
	open := func(name string) *page {
		pctx, stop := chromedp.NewContext(browserCtx, logConsole(t, "page "+name))
		if err := chromedp.Do(pctx, chromedp.Navigate(srv.URL+"/"+query)); err != nil {
			t.Fatalf("page %s: %v", name, err)
		}
		return &page{name: name, ctx: pctx, stop: stop}
	}
	a, b := open("A"), open("B")
	var sa, sb pageState
	eventually(t, 90*time.Second, "both pages started their peer", func() bool {
		sa, sb = a.state(t), b.state(t)
		return sa.ID != "" && sb.ID != ""
	})
	idA, idB := sa.ID, sb.ID
	t.Logf("page A is %s, page B is %s; navigation to started peer: A %.0f ms, B %.0f ms", idA, idB, sa.StartedMs, sb.StartedMs)
	eventually(t, 30*time.Second, "natives and pages see all 5 members alive", func() bool {
		for _, n := range natives {
			if n.state(idA) != p2p.StateAlive || n.state(idB) != p2p.StateAlive {
				return false
			}
		}
		sa, sb = a.state(t), b.state(t)
		for _, s := range []pageState{sa, sb} {
			alive := 0
			for _, m := range s.Members {
				if m.State == p2p.StateAlive {
					alive++
				}
			}
			if alive != 5 {
				return false
			}
		}
		return true
	})
	return &cluster{ctx: ctx, natives: natives, relay: relay, a: a, b: b, idA: idA, idB: idB}
}

func TestBrowserPeers(t *testing.T) {
	c := setup(t, "")
	ctx, natives, relay, a, b, idA, idB := c.ctx, c.natives, c.relay, c.a, c.b, c.idA, c.idB

	// Mistakes get errors a web developer can act on.
	for _, c := range []struct{ expr, want string }{
		{`Grapevine.start({})`, "options.bootstrap must list at least one"},
		{`Grapevine.start({bootstrap: ['/ip4/127.0.0.1/tcp/1/ws']})`, "must end in /p2p/<peer ID>"},
		{`Grapevine.start({bootstrap: ['/ip4/127.0.0.1/tcp/1/p2p/` + idA + `']})`, "a browser can only dial /ws or /wss"},
		{`Grapevine.start({bootstrap: ['/ip4/127.0.0.1/tcp/1/ws/p2p/` + idA + `'], connectTimeoutMs: 3000})`, "could not reach any bootstrap peer"},
		{`Grapevine.start({bootstrap: ['x'], profile: 'fast'})`, "options.profile must be"},
		{`window.grapevineNode.publish('', 'x')`, "topic must be a non-empty string"},
		{`window.grapevineNode.publish('chat', 42)`, "data must be a string, Uint8Array or ArrayBuffer"},
	} {
		expr := `import('./grapevine.js').then(({Grapevine}) => ` + c.expr + `).then(() => 'no error', (e) => e.message)`
		msg, err := chromedp.Run(a.ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, "Grapevine: ") {
			t.Errorf("%s: error %q, want one containing %q", c.expr, msg, c.want)
		}
	}
	// 1. A natively published message appears in both pages.
	if err := natives[1].p.Publish(ctx, site.ChatTopic, []byte("hello from native 1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "native message shown in both pages", func() bool {
		return a.state(t).has("hello from native 1") && b.state(t).has("hello from native 1")
	})

	// 2. A message published in page A reaches the natives and page B
	// (typed into the page's publish box, as a user would).
	if err := chromedp.Do(a.ctx,
		chromedp.SendKeys(chromedp.ID("text"), "hello from page A"),
		chromedp.Click(chromedp.JSPath(`document.querySelector('#publish button')`)),
	); err != nil {
		t.Fatalf("page A: typing a message: %v", err)
	}
	eventually(t, 15*time.Second, "page A's message reached the 3 natives and page B", func() bool {
		for _, n := range natives {
			if !n.has("hello from page A") {
				return false
			}
		}
		return b.state(t).has("hello from page A")
	})

	// 3. The pages connect directly over WebRTC, signalled through native
	// 0; with native 0 killed they keep exchanging messages.
	eventually(t, 30*time.Second, "pages A and B connected over WebRTC", func() bool {
		return a.state(t).link(idB) == "webrtc" && b.state(t).link(idA) == "webrtc"
	})
	a.screenshot(t, "page-a-before-kill")
	relay.p.Kill()
	// The bodies are big enough to show up in the data channels' byte
	// counters. Natives 1 and 2 still relay too (each member sends a body
	// to one random member and announces it to the others), so a single
	// message may reach the other page through them; over a few batches of
	// five messages each way, the direct link carries bodies in both
	// directions.
	pad := " " + strings.Repeat("~", 4000)
	inA0, inB0 := a.state(t).rtcIn(idB), b.state(t).rtcIn(idA)
	var inA1, inB1 float64
	// Up to three batches: a page that could not reach the other a moment
	// ago (its streams failed while the link was forming) routes its tree
	// push around it for a while, so one batch may go through the natives.
	for batch := 0; batch < 3; batch++ {
		for i := 0; i < 5; i++ {
			b.publish(t, fmt.Sprintf("from B after the relay died #%d.%d%s", batch, i, pad))
			a.publish(t, fmt.Sprintf("from A after the relay died #%d.%d%s", batch, i, pad))
		}
		eventually(t, 20*time.Second, "pages exchanged messages after the relay was killed", func() bool {
			sa, sb := a.state(t), b.state(t)
			for i := 0; i < 5; i++ {
				if !sa.has(fmt.Sprintf("from B after the relay died #%d.%d%s", batch, i, pad)) || !sb.has(fmt.Sprintf("from A after the relay died #%d.%d%s", batch, i, pad)) {
					return false
				}
			}
			return true
		})
		inA1, inB1 = a.state(t).rtcIn(idB), b.state(t).rtcIn(idA)
		t.Logf("WebRTC bytes received after %d batches of 5+5 messages of 4 KB: page A from B %.0f, page B from A %.0f", batch+1, inA1-inA0, inB1-inB0)
		if inA1-inA0 >= 4000 && inB1-inB0 >= 4000 {
			break
		}
	}
	if inA1-inA0 < 4000 || inB1-inB0 < 4000 {
		t.Fatalf("no message body travelled over the WebRTC link (A got %.0f bytes from B, B got %.0f from A)", inA1-inA0, inB1-inB0)
	}
	if l := a.state(t).link(idB); l != "webrtc" {
		t.Fatalf("page A's link to page B after the relay died: %q, want webrtc", l)
	}
	a.screenshot(t, "page-a-after-kill")
	b.screenshot(t, "page-b-after-kill")

	// 4. Closing page B makes the natives' membership mark it failed.
	closedAt := time.Now()
	b.stop()
	eventually(t, 45*time.Second, "natives 1 and 2 mark page B failed", func() bool {
		for _, n := range natives[1:] {
			if st := n.state(idB); st != p2p.StateDead {
				return false
			}
		}
		return true
	})
	t.Logf("page B closed -> marked dead by both live natives after %s", time.Since(closedAt).Round(100*time.Millisecond))
	eventually(t, 15*time.Second, "page A marks page B failed and emits a 'fail' event", func() bool {
		s := a.state(t)
		if s.memberState(idB) != p2p.StateDead {
			return false
		}
		for _, e := range s.Events {
			if e.Kind == "fail" && e.ID == idB {
				return true
			}
		}
		return false
	})
	eventually(t, 45*time.Second, "page A's WebRTC connection to the closed page B is gone", func() bool {
		return a.state(t).link(idB) == ""
	})
	// Page A's relay (native 0) is dead: it dropped that reservation and
	// holds one on a surviving native (it runs the relay service too),
	// which it advertises, so other tabs can still reach it over WebRTC.
	pA, err := peer.Decode(idA)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 45*time.Second, "page A advertises a /p2p-circuit/webrtc address through native 1 or 2", func() bool {
		for _, ad := range natives[1].p.Host().Peerstore().Addrs(pA) {
			for _, n := range natives[1:] {
				if strings.HasSuffix(ad.String(), "/p2p/"+n.p.ID().String()+"/p2p-circuit/webrtc") {
					return true
				}
			}
		}
		return false
	})
	a.screenshot(t, "page-a-end")

	// 5. node.close() leaves gracefully: the natives record a departure,
	// not a failure, and the closed node refuses further use.
	key, err := chromedp.Run(a.ctx, chromedp.Evaluate[string](`window.grapevineNode.exportIdentity()`))
	if err != nil || key == "" {
		t.Fatalf("exportIdentity: %q, %v", key, err)
	}
	msg, err := chromedp.Run(a.ctx, chromedp.Evaluate[string](`window.grapevineNode.close().then(() => window.grapevineNode.publish('chat', 'after close')).then(() => 'no error', (e) => e.message)`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(msg, "closed") {
		t.Fatalf("publish after close: %q, %v", msg, err)
	}
	eventually(t, 15*time.Second, "natives 1 and 2 record page A as left", func() bool {
		for _, n := range natives[1:] {
			if n.state(idA) != p2p.StateLeft {
				return false
			}
		}
		return true
	})

	// 6. A node started with the exported identity has the same peer ID
	// and rejoins.
	boot := site.WSAddrs(natives[1].p)[0]
	expr := fmt.Sprintf(`import('./grapevine.js').then(({Grapevine}) => Grapevine.start({bootstrap: [%q], group: %q, identity: %q})).then((n) => { window.again = n; return n.id; }, (e) => e.message)`, boot, "browser-test", key)
	id2, err := chromedp.Run(a.ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil || id2 != idA {
		t.Fatalf("restart with the exported identity: got %q, %v; want %s", id2, err, idA)
	}
	eventually(t, 15*time.Second, "natives 1 and 2 see page A alive again", func() bool {
		for _, n := range natives[1:] {
			if n.state(idA) != p2p.StateAlive {
				return false
			}
		}
		return true
	})
}
