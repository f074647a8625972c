//go:build !js

package browsertest

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/grapevine-p2p/grapevine/examples/browser/site"
	"github.com/grapevine-p2p/grapevine/wasm"
)

// tabTransport is node.stats().transport of a page (wasm/jsstats_js.go).
type tabTransport struct {
	InTooLarge, InDuplicate, InIdle, InSlowFrame, InNoMemory, InThrottled, InPenalized, InDropped float64
	DecodeErrors, Invalid                                                                         float64
	SignalAnswered, SignalRefused, SignalBusy, SignalFailed, RtcDropped, Relays                   float64
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
// members. A libp2p host that is not a member of the group reaches page A
// the way libp2p's WebRTC transport does: a relayed connection through
// native 0's circuit relay v2 service (page A holds a reservation there),
// then a /webrtc-signaling/0.0.1 stream carrying an SDP offer. Page A
// resets the stream without reading the offer or sending anything (so
// no ICE candidate, no address of the tab, reaches the stranger), counts
// the refusal, and answers nothing; pages A and B, members, still link
// over WebRTC through the same relay.
func TestTabSignallingMembersOnly(t *testing.T) {
	c := setup(t, "")
	eventually(t, 30*time.Second, "pages A and B (members) connected over WebRTC", func() bool {
		return c.a.state(t).link(c.idB) == "webrtc" && c.b.state(t).link(c.idA) == "webrtc"
	})
	answered := c.a.stats(t).Transport.SignalAnswered + c.b.stats(t).Transport.SignalAnswered
	if answered < 1 {
		t.Fatalf("pages linked over WebRTC but answered %.0f signalling exchanges", answered)
	}
	if r := c.a.stats(t).Transport.Relays; r < 1 {
		t.Fatalf("page A holds %.0f relay reservations", r)
	}
	// Page A's address, as native 1 learned it (identify, membership):
	// libp2p's form for browser-to-browser WebRTC through native 0.
	tabA, err := peer.Decode(c.idA)
	if err != nil {
		t.Fatal(err)
	}
	want := "/p2p/" + c.relay.p.ID().String() + "/p2p-circuit/webrtc"
	eventually(t, 10*time.Second, "native 1 knows page A's "+want+" address", func() bool {
		for _, a := range c.natives[1].p.Host().Peerstore().Addrs(tabA) {
			if strings.HasSuffix(a.String(), want) {
				return true
			}
		}
		return false
	})
	// Both pages may have dialled each other at once: the link shows
	// "webrtc" as soon as one exchange ends, while page A may still be
	// answering B's own offer. Wait until neither page's exchange counts
	// move for 3 s, so that only the stranger's requests fall between
	// before and after.
	settled := func() (float64, float64) {
		a, b := c.a.stats(t).Transport, c.b.stats(t).Transport
		return a.SignalAnswered + a.SignalFailed, b.SignalAnswered + b.SignalFailed
	}
	eventually(t, 30*time.Second, "pages A and B ended their own exchanges", func() bool {
		a0, b0 := settled()
		time.Sleep(3 * time.Second)
		a1, b1 := settled()
		return a0 == a1 && b0 == b1
	})
	before := c.a.stats(t).Transport

	// A go-libp2p host with the circuit relay v2 client (NoListenAddrs
	// turns it off unless asked for).
	stranger, err := libp2p.New(libp2p.NoListenAddrs, libp2p.EnableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	circuit, err := ma.NewMultiaddr(site.WSAddrs(c.relay.p)[0] + "/p2p-circuit")
	if err != nil {
		t.Fatal(err)
	}
	ctx := network.WithAllowLimitedConn(c.ctx, "signalling")
	if err := stranger.Connect(ctx, peer.AddrInfo{ID: tabA, Addrs: []ma.Multiaddr{circuit}}); err != nil {
		t.Fatalf("stranger's relayed connection to page A: %v", err)
	}
	offer := wasm.AppendSignalMsg(nil, wasm.SignalMsg{Type: wasm.SignalOffer, Data: "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"})
	for i := 0; i < 3; i++ {
		s, err := stranger.NewStream(ctx, tabA, wasm.SignalingProtocol)
		if err != nil {
			if i == 0 {
				t.Logf("a non-member opening a signalling stream to page A: %v", err)
			}
			continue
		}
		_, _ = s.Write(offer)
		_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, rerr := wasm.ReadSignalMsg(bufio.NewReader(s))
		s.Reset()
		if rerr == nil {
			t.Fatalf("page A answered signalling from a non-member with %s", m.Type)
		}
		if i == 0 {
			t.Logf("a non-member signalling to page A: %v", rerr)
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
