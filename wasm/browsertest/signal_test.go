//go:build !js

package browsertest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/grapevine-p2p/grapevine/wasm/rtcsignal"
)

// tabTransport is node.stats().transport of a page (wasm/jsstats_js.go).
type tabTransport struct {
	InTooLarge, InDuplicate, InIdle, InSlowFrame, InNoMemory, InThrottled, InPenalized, InDropped float64
	DecodeErrors, Invalid                                                                         float64
	SignalAnswered, SignalRefused, SignalBusy                                                     float64
	RcmgrConns, RcmgrStreams, RcmgrMemory, RcmgrReserved                                          float64
	HeapAlloc, HeapSys, Goroutines                                                                float64
}

type tabStats struct {
	Delivered float64      `json:"delivered"`
	FramesIn  float64      `json:"framesIn"`
	BytesIn   float64      `json:"bytesIn"`
	Transport tabTransport `json:"transport"`
}

func (p *page) stats(t *testing.T) tabStats {
	t.Helper()
	raw, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`window.grapevineNode.stats().then((s) => JSON.stringify(s))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("page %s: stats: %v", p.name, err)
	}
	var s tabStats
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("page %s: stats %q: %v", p.name, raw, err)
	}
	return s
}

// TestTabSignallingMembersOnly: a tab answers WebRTC signalling only from
// members. A libp2p host that is not a member of the group asks the relay
// (native 0) to connect it to page A: page A refuses before sending its
// SDP (so no ICE candidate, no address of the tab, reaches the stranger),
// counts the refusal, and answers nothing; pages A and B, members, still
// link over WebRTC through the same relay.
func TestTabSignallingMembersOnly(t *testing.T) {
	c := setup(t, "")
	eventually(t, 30*time.Second, "pages A and B (members) connected over WebRTC", func() bool {
		return c.a.state(t).link(c.idB) == "webrtc" && c.b.state(t).link(c.idA) == "webrtc"
	})
	answered := c.a.stats(t).Transport.SignalAnswered + c.b.stats(t).Transport.SignalAnswered
	if answered < 1 {
		t.Fatalf("pages linked over WebRTC but answered %.0f signalling exchanges", answered)
	}
	before := c.a.stats(t).Transport

	stranger, err := libp2p.New(libp2p.NoListenAddrs, libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	relay := peer.AddrInfo{ID: c.relay.p.ID(), Addrs: c.relay.p.Addrs()}
	if err := stranger.Connect(c.ctx, relay); err != nil {
		t.Fatalf("stranger connecting to the relay: %v", err)
	}
	tabA, err := peer.Decode(c.idA)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		s, br, err := rtcsignal.Connect(c.ctx, stranger, relay.ID, tabA)
		if err == nil {
			// The tab accepted: whatever it sends next is its SDP.
			_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
			m, rerr := rtcsignal.ReadMsg(br)
			s.Reset()
			t.Fatalf("page A accepted signalling from a non-member (next message %q, %v)", m.Type, rerr)
		}
		if !strings.Contains(err.Error(), "not a member") {
			t.Fatalf("signalling from a non-member: %v, want the tab's refusal", err)
		}
		if i == 0 {
			t.Logf("a non-member asking page A for WebRTC: %v", err)
		}
	}
	after := c.a.stats(t).Transport
	if d := after.SignalRefused - before.SignalRefused; d != 3 {
		t.Errorf("page A counted %.0f refused signalling exchanges, want 3", d)
	}
	if after.SignalAnswered != before.SignalAnswered {
		t.Errorf("page A answered %.0f more exchanges during the non-member's requests", after.SignalAnswered-before.SignalAnswered)
	}
	if l := c.a.state(t).link(c.idB); l != "webrtc" {
		t.Fatalf("page A's link to B after the refusals: %q", l)
	}
}
