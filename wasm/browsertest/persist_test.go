//go:build !js

package browsertest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/grapevine-p2p/grapevine/examples/browser/site"
	"github.com/grapevine-p2p/grapevine/p2p"
)

// persistPage starts a node with options.persist from the query and
// subscribes in the same task as start resolves (see grapevine.d.ts,
// persist). Each delivery is also appended to sessionStorage, which
// outlives the page's loads in this tab. Times are performance.now():
// milliseconds since this page load's navigation started (timeOrigin, Unix
// ms).
const persistPage = `<!doctype html><meta charset="utf-8"><title>persist</title>
<script type="module">
import { Grapevine } from './grapevine.js';
const load = Number(sessionStorage.getItem('loads') || 0) + 1;
sessionStorage.setItem('loads', String(load));
const st = window.st = { id: '', error: '', load, timeOrigin: performance.timeOrigin, got: [], startedMs: 0, joinedMs: 0 };
try {
  const cfg = await (await fetch('config.json')).json();
  const node = await Grapevine.start({ bootstrap: cfg.bootstrap, group: cfg.group, profile: cfg.profile, webrtc: false,
    persist: new URLSearchParams(location.search).get('persist') });
  node.subscribe('chat', (m) => {
    const g = { key: m.key, text: m.text, seq: m.seq, local: m.local, atMs: performance.now(), latencyMs: m.latencyMs, load };
    st.got.push(g);
    const all = JSON.parse(sessionStorage.getItem('got') || '[]');
    all.push(g);
    sessionStorage.setItem('got', JSON.stringify(all));
  });
  window.node = node;
  st.startedMs = performance.now();
  st.id = node.id;
  const joined = setInterval(() => {
    if (node.members().some((m) => !m.self && m.state === 'alive')) { st.joinedMs = performance.now(); clearInterval(joined); }
  }, 5);
} catch (e) { st.error = e.message; }
</script>`

type delivery struct {
	Key, Text string
	Seq       float64
	Local     bool
	AtMs      float64
	LatencyMs float64
	Load      int
}

type persistState struct {
	ID         string
	Error      string
	Load       int
	TimeOrigin float64
	StartedMs  float64
	JoinedMs   float64
	Got        []delivery // this page load's
	All        []delivery // every load's, from sessionStorage
}

// count returns how often text was delivered in this page load, and when
// it was last.
func (s persistState) count(text string) (n int, atMs float64) {
	for _, g := range s.Got {
		if g.Text == text {
			n++
			atMs = g.AtMs
		}
	}
	return n, atMs
}

// countAll returns how often text was delivered over every page load.
func (s persistState) countAll(text string) int {
	n := 0
	for _, g := range s.All {
		if g.Text == text {
			n++
		}
	}
	return n
}

// persistBed is the test bed of the persist tests: 3 native peers
// (native 0 is the page's bootstrap peer), the example site plus
// /persist.html (persistPage), and one page in a headless Chromium whose
// profile (IndexedDB, sessionStorage) lasts for the test.
type persistBed struct {
	ctx     context.Context
	natives []*native
	base    string // the site's URL
	pctx    context.Context
}

func startPersistBed(t *testing.T) *persistBed {
	if testing.Short() {
		t.Skip("starts Chromium; skipped with -short")
	}
	bin := chromium(t)
	wasmPath := buildWasm(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	const group = "browser-persist"
	natives := startNatives(t, ctx, group, "/ip4/127.0.0.1/tcp/0/ws", 3, site.WSAddrs)
	h, err := site.Handler(site.Config{WasmPath: wasmPath, Bootstrap: site.WSAddrs(natives[0].p), Group: group, Profile: "lan"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/persist.html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(persistPage))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// IndexedDB lives in the profile's directory, across the page's loads.
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromiumFlags(t, bin)...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	pctx, stop := chromedp.NewContext(bctx, logConsole(t, "page"))
	t.Cleanup(stop)
	return &persistBed{ctx: ctx, natives: natives, base: srv.URL, pctx: pctx}
}

// state reads the page's window.st and the deliveries of every load.
func (b *persistBed) state(t *testing.T) persistState {
	raw, err := chromedp.Run(b.pctx, chromedp.Evaluate[string](`JSON.stringify({...(window.st || {}), all: JSON.parse(sessionStorage.getItem('got') || '[]')})`))
	if err != nil {
		t.Fatalf("reading the page's state: %v", err)
	}
	var s persistState
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("page state %q: %v", raw, err)
	}
	if s.Error != "" {
		t.Fatalf("the page shows an error: %s", s.Error)
	}
	return s
}

// TestBrowserPersist: a tab started with options.persist receives
// messages, goes away (its page replaced, no close: as a crash) while the
// natives publish, comes back with the same persist name and rejoins with
// the same peer ID, receives exactly what it missed and nothing it had
// delivered; its next publish continues its numbering and reaches the
// natives; after a real reload it again delivers nothing twice. A second
// node on the same name in the same site is refused.
func TestBrowserPersist(t *testing.T) {
	b := startPersistBed(t)
	ctx, natives, pctx := b.ctx, b.natives, b.pctx
	url := b.base + "/persist.html?persist=tab-1"
	state := func() persistState { return b.state(t) }
	started := func(what string) persistState {
		var s persistState
		eventually(t, 60*time.Second, what, func() bool { s = state(); return s.ID != "" })
		return s
	}
	publish := func(text string) uint64 {
		expr := fmt.Sprintf(`(async () => { const t0 = performance.now(); const r = await window.node.publish('chat', %q);
			return JSON.stringify({seq: r.seq, ms: performance.now() - t0}); })()`, text)
		raw, err := chromedp.Run(pctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("publish %q in the page: %v", text, err)
		}
		var r struct{ Seq, Ms float64 }
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatalf("publish %q: %q: %v", text, raw, err)
		}
		t.Logf("publish %q: seq %d, resolved after %.1f ms", text, uint64(r.Seq), r.Ms)
		return uint64(r.Seq)
	}
	nativesHave := func(texts ...string) func() bool {
		return func() bool {
			for _, n := range natives {
				for _, x := range texts {
					if !n.has(x) {
						return false
					}
				}
			}
			return true
		}
	}
	pageHas := func(texts ...string) func() bool {
		return func() bool {
			s := state()
			for _, x := range texts {
				if n, _ := s.count(x); n == 0 {
					return false
				}
			}
			return true
		}
	}
	// exactlyOnce fails unless every text in once was delivered exactly
	// once in this page load and none in never was delivered.
	exactlyOnce := func(what string, once, never []string) {
		s := state()
		for _, x := range once {
			if n, _ := s.count(x); n != 1 {
				t.Errorf("%s: %q delivered %d times, want once", what, x, n)
			}
		}
		for _, x := range never {
			if n, _ := s.count(x); n != 0 {
				t.Errorf("%s: %q delivered again (%d times) after coming back", what, x, n)
			}
		}
	}
	nativePublish := func(i int, text string) {
		if err := natives[i].p.Publish(ctx, site.ChatTopic, []byte(text)); err != nil {
			t.Fatal(err)
		}
	}

	// 1. First start: a fresh identity, stored; messages both ways.
	if err := chromedp.Do(pctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	s := started("the page started its peer")
	id := s.ID
	eventually(t, 20*time.Second, "the page lists a member alive", func() bool { s = state(); return s.JoinedMs > 0 })
	t.Logf("first start: navigation → started %.0f ms, → a member alive %.0f ms", s.StartedMs, s.JoinedMs)
	eventually(t, 30*time.Second, "the natives see the page alive", func() bool {
		for _, n := range natives {
			if n.state(id) != p2p.StateAlive {
				return false
			}
		}
		return true
	})
	before := []string{"before 1", "before 2", "before 3"}
	for i, x := range before {
		nativePublish(1+i%2, x)
	}
	own1 := publish("own 1")
	eventually(t, 20*time.Second, "the page delivered the natives' messages and its own", pageHas(append(before, "own 1")...))
	eventually(t, 20*time.Second, "the natives delivered the page's message", nativesHave("own 1"))

	// A second node on the same name is refused while this one runs.
	msg, err := chromedp.Run(pctx, chromedp.Evaluate[string](`import('./grapevine.js').then(({Grapevine}) => fetch('config.json').then((r) => r.json()).then((c) =>
		Grapevine.start({bootstrap: c.bootstrap, group: c.group, webrtc: false, persist: 'tab-1'}))).then(() => 'no error', (e) => e.message)`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(msg, "in use by another tab") {
		t.Fatalf("a second node on persist name tab-1: %q, %v; want an in-use error", msg, err)
	}

	// 2. The page goes away without closing its node (as a crash); the
	// natives publish; the page comes back with the same name.
	if err := chromedp.Do(pctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	away := []string{"away 1", "away 2", "away 3", "away 4"}
	for i, x := range away {
		nativePublish(1+i%2, x)
	}
	eventually(t, 10*time.Second, "the natives delivered the messages published while the page was away", nativesHave(away...))
	back := time.Now()
	if err := chromedp.Do(pctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	s = started("the page came back")
	if s.ID != id {
		t.Fatalf("the page came back as %s, want %s (the persisted identity)", s.ID, id)
	}
	eventually(t, 30*time.Second, "the page caught up on what was published while it was away", pageHas(away...))
	caughtUp := time.Since(back)
	s = state()
	last := 0.0
	for _, x := range away {
		_, at := s.count(x)
		last = max(last, at)
	}
	t.Logf("back with the same persist name: navigation → started %.0f ms, → a member alive %.0f ms, → caught up (%d messages) %.0f ms (test's clock: %s)",
		s.StartedMs, s.JoinedMs, len(away), last, caughtUp.Round(time.Millisecond))
	time.Sleep(2 * time.Second) // room for a wrong re-delivery to show
	exactlyOnce("after coming back", away, append(before, "own 1"))

	// 3. The tab's own numbering continues, and the natives deliver it.
	own2 := publish("own 2")
	if own2 <= own1 {
		t.Fatalf("after coming back the page published seq %d, its last before was %d: reused", own2, own1)
	}
	t.Logf("own sequence numbers: %d before, %d after coming back (gap %d)", own1, own2, own2-own1-1)
	// The first publish after a start uses the number reserved at the
	// start; this one waits for a reservation commit first.
	if own3 := publish("own 3"); own3 != own2+1 {
		t.Fatalf("the next publish has seq %d, want %d", own3, own2+1)
	}
	sent := time.Now()
	eventually(t, 20*time.Second, "the natives delivered the page's first message after it came back", nativesHave("own 2", "own 3"))
	t.Logf("natives delivered it %s after the publish", time.Since(sent).Round(time.Millisecond))

	// 4. A real reload in the middle of a stream of messages from two
	// natives: each is delivered exactly once over the two page loads, and
	// nothing from before again.
	stream := make([]string, 40)
	pubAt := make([]time.Time, len(stream))
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		for i := range stream {
			stream[i] = fmt.Sprintf("stream %02d", i)
			pubAt[i] = time.Now()
			if err := natives[1+i%2].p.Publish(ctx, site.ChatTopic, []byte(stream[i])); err != nil {
				t.Errorf("publish %s: %v", stream[i], err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	time.Sleep(500 * time.Millisecond)
	reloadAt := time.Now()
	if err := chromedp.Do(pctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	s = started("the page reloaded")
	if s.ID != id {
		t.Fatalf("the page reloaded as %s, want %s", s.ID, id)
	}
	<-streamDone
	missing := func() []string {
		s = state()
		var out []string
		for _, x := range stream {
			if s.countAll(x) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	for start := time.Now(); len(missing()) > 0; time.Sleep(200 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			var loads []string
			for _, g := range s.All {
				if strings.HasPrefix(g.Text, "stream") {
					loads = append(loads, fmt.Sprintf("%s@%d", g.Text[len("stream "):], g.Load))
				}
			}
			stats, _ := chromedp.Run(pctx, chromedp.Evaluate[string](`window.node.stats().then((s) => JSON.stringify(s))`, chromedp.EvalAwaitPromise))
			t.Fatalf("stream messages never delivered: %v (delivered, @page load: %v); stats %s", missing(), loads, stats)
		}
	}
	time.Sleep(2 * time.Second) // room for a wrong re-delivery to show
	s = state()
	oldLoad, newLoad, missed, lastMissed := 0, 0, 0, 0.0
	startedWall := time.UnixMilli(int64(s.TimeOrigin + s.StartedMs))
	for i, x := range stream {
		if n := s.countAll(x); n != 1 {
			t.Errorf("%q delivered %d times over the reload, want once", x, n)
		}
		if n, at := s.count(x); n == 0 {
			oldLoad++
		} else {
			newLoad++
			if pubAt[i].Before(startedWall) {
				missed++
				lastMissed = max(lastMissed, at)
			}
		}
	}
	exactlyOnce("after the reload", nil, append(append(before, away...), "own 1", "own 2", "own 3"))
	t.Logf("reload during a stream of %d messages (reload %s after the stream began): %d delivered before it, %d after; "+
		"navigation → started %.0f ms, → a member alive %.0f ms, → the %d published before the new peer started delivered %.0f ms (test's clock: reload → started %s)",
		len(stream), reloadAt.Sub(pubAt[0]).Round(time.Millisecond), oldLoad, newLoad, s.StartedMs, s.JoinedMs, missed, lastMissed,
		startedWall.Sub(reloadAt).Round(time.Millisecond))
	if newLoad == 0 {
		t.Fatal("the reloaded page delivered none of the stream")
	}
	raw, err := chromedp.Run(pctx, chromedp.Evaluate[string](`window.node.stats().then((s) => JSON.stringify(s.persist))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var ps struct{ RestoredOrigins, RestoredMessages, Stored int }
	if err := json.Unmarshal([]byte(raw), &ps); err != nil {
		t.Fatalf("stats().persist %q: %v", raw, err)
	}
	t.Logf("stats().persist after the reload: %s", raw)
	if ps.RestoredOrigins < 2 || ps.RestoredMessages == 0 {
		t.Fatalf("after the reload the tab restored %d origins and %d messages; want the natives' watermarks and its recent messages", ps.RestoredOrigins, ps.RestoredMessages)
	}

	// 5. Once the node is closed the name is free again, but only for
	// the identity it keeps.
	sk, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := crypto.MarshalPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	msg, err = chromedp.Run(pctx, chromedp.Evaluate[string](fmt.Sprintf(`window.node.close().then(() => import('./grapevine.js')).then(({Grapevine}) =>
		fetch('config.json').then((r) => r.json()).then((c) => Grapevine.start({bootstrap: c.bootstrap, group: c.group, webrtc: false, persist: 'tab-1', identity: %q})))
		.then(() => 'no error', (e) => e.message)`, base64.StdEncoding.EncodeToString(other)), chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(msg, "is not the identity stored") {
		t.Fatalf("persist name tab-1 with another identity: %q, %v; want a mismatch error", msg, err)
	}
}

// TestBrowserPersistCostReport compares a tab's delivery latency with and
// without options.persist (each delivery batch then waits for a strict
// IndexedDB commit): the natives publish 100 messages at 20 a second to a
// page in memory, then with persist, twice over. A report, not a check:
// run it with GRAPEVINE_BROWSER_BENCH=1 (docs/benchmarks/durable.md).
func TestBrowserPersistCostReport(t *testing.T) {
	if os.Getenv("GRAPEVINE_BROWSER_BENCH") == "" {
		t.Skip("a benchmark report: set GRAPEVINE_BROWSER_BENCH=1 to run it")
	}
	b := startPersistBed(t)
	var rows []string
	for round := 0; round < 2; round++ {
		for _, mode := range []string{"memory", "persist"} {
			url := b.base + "/persist.html"
			if mode == "persist" {
				// A fresh name: a store used before would first catch up
				// on what it missed, holding new messages behind that.
				url += fmt.Sprintf("?persist=cost-%d", round)
			}
			if err := chromedp.Do(b.pctx, chromedp.Navigate(url)); err != nil {
				t.Fatal(err)
			}
			var s persistState
			eventually(t, 60*time.Second, mode+": the page lists a member alive", func() bool { s = b.state(t); return s.JoinedMs > 0 })
			time.Sleep(time.Second)
			prefix := fmt.Sprintf("cost %d %s ", round, mode)
			for i := 0; i < 100; i++ {
				if err := b.natives[1+i%2].p.Publish(b.ctx, site.ChatTopic, []byte(fmt.Sprintf("%s%03d", prefix, i))); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			var lat []float64
			eventually(t, 30*time.Second, mode+": the page delivered the 100 messages", func() bool {
				s = b.state(t)
				lat = lat[:0]
				for _, g := range s.Got {
					if strings.HasPrefix(g.Text, prefix) {
						lat = append(lat, g.LatencyMs)
					}
				}
				return len(lat) == 100
			})
			slices.Sort(lat)
			row := fmt.Sprintf("| %s %d | %.1f ms | %.1f ms | %.1f ms |", mode, round+1, lat[50], lat[90], lat[99])
			t.Log(row)
			rows = append(rows, row)
			// Leave gracefully, so that the next page's messages do not go
			// to a member the natives have not yet found dead.
			if _, err := chromedp.Run(b.pctx, chromedp.Evaluate[bool](`window.node.close().then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(b.pctx, chromedp.Navigate("about:blank")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
	}
	t.Log("| tab | p50 | p90 | max |\n|---|---|---|---|\n" + strings.Join(rows, "\n"))
}
