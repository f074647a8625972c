//go:build !js

package browsertest

import (
	"context"
	"strings"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// startNatives starts count native members of group listening on listen
// (LAN profile, no DHT, a short leave grace), each after the first seeded
// with seeds(native 0); they close when the test ends.
func startNatives(t *testing.T, ctx context.Context, group, listen string, count int, seeds func(*p2p.Peer) []string) []*native {
	return startNativesOn(t, ctx, group, []string{listen}, count, seeds)
}

// startNativesOn is startNatives listening on several addresses.
func startNativesOn(t *testing.T, ctx context.Context, group string, listen []string, count int, seeds func(*p2p.Peer) []string) []*native {
	var natives []*native
	t.Cleanup(func() {
		for _, n := range natives {
			n.p.Close()
		}
	})
	for i := 0; i < count; i++ {
		opts := []p2p.Option{p2p.WithGroup(group), p2p.WithDHT(false), p2p.WithProfile(p2p.ProfileLAN),
			p2p.WithListenAddrs(listen...), p2p.WithLeaveGrace(100 * time.Millisecond)}
		if i > 0 {
			opts = append(opts, p2p.WithSeeds(seeds(natives[0].p)...))
		}
		p, err := p2p.New(ctx, opts...)
		if err != nil {
			t.Fatal(err)
		}
		natives = append(natives, newNative(t, p))
	}
	return natives
}

// chromiumFlags are the headless Chromium options every browser test
// starts with (a profile of its own in a temporary directory), then extra.
func chromiumFlags(t *testing.T, bin string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	return append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
}

// pagesInFront are the flags of a Chromium whose pages all stand for users
// with the tab in front: without the last three, Chromium throttles the
// timers of a tab that is not focused to about one wake-up a second, and
// the Go runtime in it with them. QUIC is off: the pages reach the
// natives over WebSocket.
func pagesInFront() []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
}

// logConsole logs a page's console messages and uncaught exceptions, each
// line starting with name.
func logConsole(t *testing.T, name string) chromedp.ContextOption {
	return chromedp.WithListener(func(ev any) {
		switch e := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			}
			t.Logf("%s console.%s: %s", name, e.Type, strings.Join(parts, " "))
		case *cdpruntime.EventExceptionThrown:
			t.Logf("%s exception: %s %v", name, e.ExceptionDetails.Text, e.ExceptionDetails.Exception)
		}
	})
}
