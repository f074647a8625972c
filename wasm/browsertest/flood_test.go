//go:build !js

package browsertest

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/grapevine-p2p/grapevine"
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/examples/browser/site"
	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/grapevine-p2p/grapevine/wasm"
)

// TestTabUnderFlood: a hostile member (a fourth native, its host with no
// resource limits of its own) floods page A over its connection for
// floodFor. First it opens gossip streams 16 at a time and leaves them
// half-written, opens streams that never negotiate a protocol, opens
// signalling streams and sends no header, and sends
// length prefixes of 1 GiB on both protocols; then
// it writes undecodable 16 KiB frames, and at last frames of messages with
// forged signatures, as fast as the tab reads them. Meanwhile native 1 and page A publish. Page A stays
// responsive (its stats are read throughout), delivers every honest
// message both ways, its Go heap stays within 64 MiB of where it started
// and its goroutines within +1,000, and its counters
// (node.stats().transport) show the bounds at work: streams refused by the
// resource manager (32 inbound per peer), duplicates replaced,
// signalling streams refused (not relayed),
// too-large frames refused, undecodable frames dropped and counted,
// forged messages counted invalid (or the undecodable frames, offences
// too, may have got the attacker penalized first) until the
// attacker is penalized and disconnected (and, through the tab's penalty
// gater, not redialled).
func TestTabUnderFlood(t *testing.T) {
	const floodFor = 12 * time.Second
	c := setup(t, "")
	tabA, err := peer.Decode(c.idA)
	if err != nil {
		t.Fatal(err)
	}
	// The attacker is a member whose host has no resource limits of its
	// own (a native Peer's host would refuse to open a third gossip stream
	// to one peer): page A learns it from membership and connects to it.
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0/ws"),
		libp2p.ResourceManager(&network.NullResourceManager{}), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := p2p.New(c.ctx, p2p.WithHost(h), p2p.WithGroup("browser-test"), p2p.WithDHT(false),
		p2p.WithProfile(p2p.ProfileLAN), p2p.WithSeeds(site.WSAddrs(c.natives[1].p)...))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		attacker.Close()
		h.Close()
	}()
	eventually(t, 30*time.Second, "page A connected to the attacker", func() bool {
		return h.Network().Connectedness(tabA) == network.Connected
	})
	c.a.publish(t, "warm-up")
	eventually(t, 10*time.Second, "warm-up delivered", func() bool { return c.natives[1].has("warm-up") })
	before := c.a.stats(t)
	t.Logf("page A before the flood: %+v", before.Transport)

	gossip, swim := p2p.Protocols("browser-test")
	floodEnd := time.Now().Add(floodFor)
	ctx, cancel := context.WithDeadline(c.ctx, floodEnd)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var streams []network.Stream
	var opened, openFailed, junkSent, framesSent int
	open := func(p protocol.ID) network.Stream {
		s, err := h.NewStream(network.WithNoDial(ctx, "flood"), tabA, p)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if openFailed == 0 {
				t.Logf("first stream the attacker could not open: %v", err)
			}
			openFailed++
			return nil
		}
		opened++
		streams = append(streams, s)
		_ = s.SetWriteDeadline(time.Now().Add(floodFor + 5*time.Second))
		return s
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// 1. Streams left half-written (one byte of a length prefix),
		// opened 16 at a time; and length prefixes of 1 GiB on both
		// protocols.
		for round := 0; round < 4 && ctx.Err() == nil; round++ {
			var burst sync.WaitGroup
			for i := 0; i < 16; i++ {
				burst.Add(1)
				go func() {
					defer burst.Done()
					if s := open(gossip); s != nil {
						_, _ = s.Write([]byte{0x80})
					}
				}()
			}
			// Streams that never finish negotiating a protocol: the
			// resource manager admits 32 inbound per peer.
			for i := 0; i < 16; i++ {
				burst.Add(1)
				go func() {
					defer burst.Done()
					s, err := h.Network().NewStream(network.WithNoDial(ctx, "flood"), tabA)
					if err != nil {
						return
					}
					mu.Lock()
					streams = append(streams, s)
					mu.Unlock()
					_, _ = s.Write([]byte{0x13}) // the first byte of a multistream header
				}()
			}
			// Signalling streams (/webrtc-signaling/0.0.1) over the
			// attacker's direct connection: the tab answers signalling
			// only on relayed connections, and refuses these unread.
			for i := 0; i < 8; i++ {
				burst.Add(1)
				go func() {
					defer burst.Done()
					if s := open(wasm.SignalingProtocol); s != nil {
						_, _ = s.Write([]byte{0x80})
					}
				}()
			}
			burst.Wait()
			for i := 0; i < 4; i++ {
				for _, p := range []protocol.ID{gossip, swim} {
					if s := open(p); s != nil {
						_, _ = s.Write(binary.AppendUvarint(nil, 1<<30))
					}
				}
			}
			time.Sleep(500 * time.Millisecond)
		}
		// The attacker lets go of its phase-1 streams: two half-written
		// gossip streams would otherwise hold its two gossip slots at the
		// tab (the per-peer protocol limit) for the idle timeout, and the
		// tab would refuse every junk stream unread.
		mu.Lock()
		for _, s := range streams {
			s.Reset()
		}
		streams = nil
		mu.Unlock()
		// 2. Undecodable 16 KiB frames as fast as the tab reads them,
		// until two thirds of floodFor (a frame that does not decode
		// costs its reading and one decode attempt; it is not an
		// offence).
		body := make([]byte, 16<<10)
		_, _ = rand.Read(body)
		body[0] = 0xff // no frame version the engine knows
		junk := core.AppendLengthPrefixed(nil, body)
		junkUntil := time.Now().Add(time.Until(floodEnd) * 2 / 3)
		for ctx.Err() == nil && time.Now().Before(junkUntil) {
			s := open(gossip)
			if s == nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			_ = s.SetWriteDeadline(junkUntil)
			for time.Now().Before(junkUntil) {
				if _, err := s.Write(junk); err != nil {
					break
				}
				mu.Lock()
				junkSent++
				mu.Unlock()
			}
			_ = s.SetWriteDeadline(floodEnd.Add(5 * time.Second))
		}
		// 3. Valid-looking frames as fast as the tab reads them: eight
		// 1 KiB messages each, from the attacker as origin, with forged
		// signatures.
		seq := uint64(0)
		forged := func() []byte {
			var f core.Frame
			for i := 0; i < 8; i++ {
				seq++
				m := &core.Message{Origin: p2p.NodeID(h.ID()), Seq: seq, Topic: site.ChatTopic,
					Timestamp: time.Now().UnixNano(), Payload: make([]byte, 1024), Auth: make([]byte, 64)}
				_, _ = rand.Read(m.Auth)
				f.Messages = append(f.Messages, m)
			}
			return core.AppendLengthPrefixed(nil, core.EncodeFrame(&f))
		}
		for ctx.Err() == nil {
			s := open(gossip)
			if s == nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			for ctx.Err() == nil {
				if _, err := s.Write(forged()); err != nil {
					break
				}
				mu.Lock()
				framesSent++
				mu.Unlock()
			}
		}
	}()

	// Honest traffic during the flood, and the page's responsiveness.
	var slowest time.Duration
	var peakHeap float64
	for i := 0; i < 10; i++ {
		if err := c.natives[1].p.Publish(c.ctx, site.ChatTopic, []byte(fmt.Sprintf("native 1 during the flood #%d", i))); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			c.a.publish(t, fmt.Sprintf("page A during the flood #%d", i/2))
		}
		start := time.Now()
		st := c.a.stats(t)
		slowest = max(slowest, time.Since(start))
		peakHeap = max(peakHeap, st.Transport.HeapAlloc)
		time.Sleep(floodFor / 12)
	}
	eventually(t, 30*time.Second, "honest messages delivered both ways during the flood", func() bool {
		s := c.a.state(t)
		for i := 0; i < 10; i++ {
			if !s.has(fmt.Sprintf("native 1 during the flood #%d", i)) {
				return false
			}
		}
		for i := 0; i < 5; i++ {
			for _, n := range c.natives[:2] {
				if !n.has(fmt.Sprintf("page A during the flood #%d", i)) {
					return false
				}
			}
		}
		return true
	})
	cancel()
	wg.Wait()
	mu.Lock()
	for _, s := range streams {
		s.Reset()
	}
	t.Logf("attacker: %d streams opened, %d refused or failed to open, %d undecodable 16 KiB frames and %d frames of forged messages written", opened, openFailed, junkSent, framesSent)
	mu.Unlock()

	after := c.a.stats(t)
	d := after.Transport
	b := before.Transport
	t.Logf("page A after the flood: %+v", d)
	t.Logf("page A read %.0f frames, %.1f MiB during the flood (%.1f MiB/s)", after.FramesIn-before.FramesIn,
		(after.BytesIn-before.BytesIn)/(1<<20), (after.BytesIn-before.BytesIn)/(1<<20)/floodFor.Seconds())
	t.Logf("page A: slowest stats call during the flood %s; Go heap %.1f MiB before, peak %.1f MiB during, %.1f MiB after; goroutines %.0f -> %.0f",
		slowest.Round(time.Millisecond), b.HeapAlloc/(1<<20), peakHeap/(1<<20), d.HeapAlloc/(1<<20), b.Goroutines, d.Goroutines)
	t.Logf("counters (during the flood): resource manager refused %.0f streams and %.0f memory reservations; signalling streams refused %.0f; inbound: %.0f too large, %.0f duplicate streams, %.0f throttled, %.0f no memory, %.0f penalized; %.0f frames did not decode; %.0f forged messages invalid",
		d.RcmgrStreams-b.RcmgrStreams, d.RcmgrMemory-b.RcmgrMemory, d.SignalBusy-b.SignalBusy+d.SignalRefused-b.SignalRefused, d.InTooLarge-b.InTooLarge, d.InDuplicate-b.InDuplicate,
		d.InThrottled-b.InThrottled, d.InNoMemory-b.InNoMemory, d.InPenalized-b.InPenalized, d.DecodeErrors-b.DecodeErrors, d.Invalid-b.Invalid)
	if slowest > 10*time.Second {
		t.Errorf("page A took %s to answer a stats call during the flood", slowest)
	}
	if grown := (max(peakHeap, d.HeapAlloc) - b.HeapAlloc) / (1 << 20); grown > 64 {
		t.Errorf("page A's Go heap grew by %.1f MiB under the flood (bound 64 MiB)", grown)
	}
	if d.Goroutines-b.Goroutines > 1000 {
		t.Errorf("page A has %.0f more goroutines after the flood", d.Goroutines-b.Goroutines)
	}
	if d.InTooLarge-b.InTooLarge < 1 {
		t.Error("no too-large frame counted")
	}
	if d.RcmgrStreams-b.RcmgrStreams+d.InDuplicate-b.InDuplicate < 1 {
		t.Error("no stream refused by the resource manager or replaced as a duplicate")
	}
	if d.SignalBusy-b.SignalBusy+d.SignalRefused-b.SignalRefused < 1 {
		t.Error("no signalling stream refused")
	}
	if d.RcmgrStreams-b.RcmgrStreams < 1 {
		t.Error("the resource manager refused no stream")
	}
	if d.DecodeErrors-b.DecodeErrors < 1 {
		t.Error("no undecodable frame counted")
	}
	// Undecodable frames are offences too (malformed, weighing more than a
	// forged message), so the attacker may be penalized before its forged
	// messages begin: the offences of both kinds together pass the
	// misbehaviour score's threshold.
	sc := grapevine.DefaultScoreConfig()
	score := sc.Weights[core.OffenceInvalidMessage]*(d.Invalid-b.Invalid) + sc.Weights[core.OffenceMalformed]*(d.DecodeErrors-b.DecodeErrors)
	if score <= sc.Threshold {
		t.Errorf("%.0f forged messages and %.0f undecodable frames counted: a score of %.0f, want over the penalty threshold %.0f",
			d.Invalid-b.Invalid, d.DecodeErrors-b.DecodeErrors, score, sc.Threshold)
	}
	if h.Network().Connectedness(tabA) == network.Connected {
		t.Error("page A is still connected to the attacker it penalized")
	}
	// After the flood page A still reaches every honest native.
	c.a.publish(t, "after the flood")
	eventually(t, 15*time.Second, "a message published after the flood reaches every native", func() bool {
		for _, n := range c.natives {
			if !n.has("after the flood") {
				return false
			}
		}
		return true
	})
}
