//go:build !js

package browsertest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multihash"

	"github.com/grapevine-p2p/grapevine/examples/browser/site"
	"github.com/grapevine-p2p/grapevine/p2p"
)

// addrsOn returns a peer's full loopback multiaddrs that contain part.
func addrsOn(p *p2p.Peer, part string) []string {
	var out []string
	for _, a := range p.Addrs() {
		s := a.String()
		if strings.Contains(s, part) && strings.HasPrefix(s, "/ip4/127.0.0.1/") {
			out = append(out, s)
		}
	}
	return out
}

// oneTab is a test bed for a page's path to native peers: natives that
// listen on one transport only, and one page served by the example site.
type oneTab struct {
	ctx     context.Context
	natives []*native
	page    *page
	id      string
	url     string
	group   string
}

// startOneTab starts two native peers listening on listen only (native 1
// joins through native 0) and opens the example page, told to bootstrap
// from native 0's addresses containing part, over https (a self-signed
// certificate from httptest, which Chromium trusts for that one key
// through --ignore-certificate-errors-spki-list: nothing else is exempt
// from certificate checks) or plain http. It returns once the page's peer
// started.
func startOneTab(t *testing.T, https bool, listen, part string) *oneTab {
	if testing.Short() {
		t.Skip("starts Chromium; skipped with -short")
	}
	bin := chromium(t)
	wasmPath := buildWasm(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	const group = "browser-webtransport"
	natives := startNatives(t, ctx, group, listen, 2, func(p *p2p.Peer) []string { return addrsOn(p, part) })
	boot := addrsOn(natives[0].p, part)
	if len(boot) == 0 {
		t.Fatalf("native 0 has no %s address: %v", part, natives[0].p.Addrs())
	}
	h, err := site.Handler(site.Config{WasmPath: wasmPath, Bootstrap: boot, Group: group, Profile: "lan"})
	if err != nil {
		t.Fatal(err)
	}
	flags := chromiumFlags(t, bin)
	var srv *httptest.Server
	if https {
		srv = httptest.NewTLSServer(h)
		spki := sha256.Sum256(srv.Certificate().RawSubjectPublicKeyInfo)
		flags = append(flags, chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])))
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, flags...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	pctx, stop := chromedp.NewContext(bctx, logConsole(t, "page"))
	t.Cleanup(stop)
	if err := chromedp.Do(pctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("starting Chromium (%s) and opening %s: %v", bin, srv.URL, err)
	}
	pg := &page{name: "A", ctx: pctx, stop: stop}
	var s pageState
	eventually(t, 60*time.Second, "the page started its peer", func() bool {
		s = pg.state(t)
		return s.ID != ""
	})
	t.Logf("page %s (%s): navigation to started peer %.0f ms", s.ID, srv.URL, s.StartedMs)
	return &oneTab{ctx: ctx, natives: natives, page: pg, id: s.ID, url: srv.URL, group: group}
}

// startTimes runs Grapevine.start in the page with a fresh identity and
// the given bootstrap address (the wasm is already compiled) and returns
// how long start took (connect, secure, start the peer) and how long until
// the new node knew another member alive (joined), or the error's message.
func (o *oneTab) startTimes(t *testing.T, boot string) (startMs, joinedMs float64, errMsg string) {
	expr := fmt.Sprintf(`import('./grapevine.js').then(async ({Grapevine}) => {
		const t0 = performance.now();
		try {
			const n = await Grapevine.start({bootstrap: [%q], group: %q, connectTimeoutMs: 5000});
			const started = performance.now() - t0;
			while (!n.members().some((m) => m.id !== n.id && m.state === 'alive') && performance.now() - t0 < 10000) {
				await new Promise((r) => setTimeout(r, 5));
			}
			const joined = performance.now() - t0;
			await n.close();
			return JSON.stringify({started, joined});
		} catch (e) { return JSON.stringify({err: e.message}); }
	})`, boot, o.group)
	raw, err := chromedp.Run(o.page.ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("Grapevine.start(%s): %v", boot, err)
	}
	var r struct {
		Started, Joined float64
		Err             string
	}
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("Grapevine.start(%s): %q: %v", boot, raw, err)
	}
	return r.Started, r.Joined, r.Err
}

// TestBrowserWebTransport: a page served over https joins native peers
// that have no CA certificate, over WebTransport (the browser trusts each
// native's self-signed certificate by the /certhash of its address and
// nothing else), and messages go both ways. The natives listen on
// WebTransport only.
func TestBrowserWebTransport(t *testing.T) {
	httpsPath(t, "/ip4/127.0.0.1/udp/0/quic-v1/webtransport", "/webtransport/", "webtransport")
}

// TestBrowserWebRTCDirect: the same over WebRTC-direct (the browser
// accepts the native's DTLS certificate by the /certhash of its address).
// The natives listen on WebRTC-direct only.
func TestBrowserWebRTCDirect(t *testing.T) {
	httpsPath(t, "/ip4/127.0.0.1/udp/0/webrtc-direct", "/webrtc-direct/", "webrtc-direct")
}

// httpsPath checks that an https page joins natives listening on listen
// only, linked to both over transport, that messages go both ways, and
// that the address with another certificate's hash is refused.
func httpsPath(t *testing.T, listen, part, transport string) {
	o := startOneTab(t, true, listen, part)
	ctx, natives, pg := o.ctx, o.natives, o.page
	if !strings.HasPrefix(o.url, "https://") {
		t.Fatalf("page served from %s", o.url)
	}
	eventually(t, 20*time.Second, "natives and page see all 3 members alive, the page linked to both natives over "+transport, func() bool {
		for _, n := range natives {
			if n.state(o.id) != p2p.StateAlive {
				return false
			}
		}
		s := pg.state(t)
		alive := 0
		for _, m := range s.Members {
			if m.State == p2p.StateAlive {
				alive++
			}
		}
		return alive == 3 && s.link(natives[0].p.ID().String()) == transport && s.link(natives[1].p.ID().String()) == transport
	})

	if err := natives[1].p.Publish(ctx, site.ChatTopic, []byte("hello from native 1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "native 1's message shown in the page", func() bool { return pg.state(t).has("hello from native 1") })
	// A 100 KB body crosses several stream writes (and, over WebRTC,
	// several 16 KiB data-channel messages).
	big := "hello from the https page " + strings.Repeat("~", 100_000)
	pg.publish(t, big)
	eventually(t, 10*time.Second, "the page's message reached both natives", func() bool { return natives[0].has(big) && natives[1].has(big) })

	// The certhash is what the browser trusts: the same address with
	// another certificate's hash is refused.
	boot := addrsOn(natives[0].p, part)[0]
	wrong := withOtherCerthash(t, boot)
	if _, _, msg := o.startTimes(t, wrong); !strings.Contains(msg, "could not reach any bootstrap peer") {
		t.Fatalf("dialling %s (a certhash that is not the native's) gave %q, want a refusal", wrong, msg)
	} else {
		t.Logf("with another certificate's hash: %s", msg)
	}
	// A second node in the same page after the refusal. Known bug, not
	// understood yet: in `make test` (the race detector on the natives,
	// every package's tests at once) this start has hung in 2 runs of 2
	// since the tab's relay reservations came in (libp2p's WebRTC), never
	// when the package runs alone, with or without -race. Under the race
	// detector it is not asserted; it is everywhere else.
	if raceDetector {
		t.Log("a second node after the refusal: not checked under the race detector (known hang, see the comment)")
		return
	}
	started, joined, msg := o.startTimes(t, boot)
	if msg != "" {
		t.Fatalf("a second Grapevine.start over %s: %s", transport, msg)
	}
	t.Logf("a second node in the loaded page, over %s: started after %.0f ms, joined after %.0f ms", transport, started, joined)
}

// withOtherCerthash returns addr with every /certhash replaced by the hash
// of a certificate the native does not have.
func withOtherCerthash(t *testing.T, addr string) string {
	d := sha256.Sum256([]byte("not the native's certificate"))
	mh, err := multihash.Encode(d[:], multihash.SHA2_256)
	if err != nil {
		t.Fatal(err)
	}
	other, err := multibase.Encode(multibase.Base64url, mh)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(addr, "/")
	for i := 1; i < len(parts); i++ {
		if parts[i-1] == "certhash" {
			parts[i] = other
		}
	}
	return strings.Join(parts, "/")
}
