package core

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"
)

// FuzzDecodeFrame: any input decodes to a frame or an error, never a panic;
// whatever decodes re-encodes to a frame that decodes to the same thing.
// Run longer with: go test -run x -fuzz FuzzDecodeFrame ./core/
func FuzzDecodeFrame(f *testing.F) {
	f.Add(EncodeFrame(sampleFrame()))
	f.Add(EncodeFrame(&Frame{}))
	f.Add([]byte{1, 1, 3, 1, 'a', 1})
	f.Add([]byte{1, 4, 5, 1, 1, 1, 'a', 0})
	f.Add([]byte{1, 2, 6, 1, 1, 'a', 2, 1, 1})
	f.Add([]byte{1, 0x40, 0})
	f.Add(EncodeFrame(&Frame{Prune: true}))
	f.Add(EncodeFrame(&Frame{AckRequest: true, TreeAcks: []uint64{1, 2}}))
	f.Add([]byte{1, 6, 0, 6, 0})
	lim := DefaultLimits()
	lim.MaxFrameSize = 1 << 16
	lim.MaxMessageSize = 1 << 15
	lim.MaxKeys = 4096
	f.Fuzz(func(t *testing.T, b []byte) {
		// Allocation bound: a small constant per input byte plus the fixed
		// allowance of MaxKeys decoded keys (24 bytes each).
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		fr, err := DecodeFrame(b, lim)
		runtime.ReadMemStats(&ms1)
		if bound := uint64(64*len(b) + 32*lim.MaxKeys + 64<<10); ms1.TotalAlloc-ms0.TotalAlloc > bound {
			t.Fatalf("decoding %d bytes allocated %d > %d", len(b), ms1.TotalAlloc-ms0.TotalAlloc, bound)
		}
		if err != nil {
			return
		}
		again, err := DecodeFrame(EncodeFrame(fr), lim)
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if len(again.Messages) != len(fr.Messages) || len(again.Tree) != len(fr.Tree) || len(again.IHave) != len(fr.IHave) ||
			len(again.IWant) != len(fr.IWant) || len(again.Records) != len(fr.Records) ||
			(again.Digest == nil) != (fr.Digest == nil) || again.AckRequest != fr.AckRequest || len(again.TreeAcks) != len(fr.TreeAcks) {
			t.Fatal("re-encoded frame decodes differently")
		}
		for i := range fr.Messages {
			if fr.Messages[i].ID() != again.Messages[i].ID() || !bytes.Equal(fr.Messages[i].Auth, again.Messages[i].Auth) {
				t.Fatalf("message %d changed in a round trip", i)
			}
		}
		for i := range fr.Tree {
			if fr.Tree[i].Msg.ID() != again.Tree[i].Msg.ID() || fr.Tree[i].End != again.Tree[i].End {
				t.Fatalf("tree message %d changed in a round trip", i)
			}
		}
		// Decoded into a Frame that held another frame, it is the same.
		used := &Frame{}
		if err := DecodeFrameInto(used, EncodeFrame(sampleFrame()), lim); err != nil {
			t.Fatal(err)
		}
		if err := DecodeFrameInto(used, b, lim); err != nil {
			t.Fatalf("decoded fresh, but not into a used frame: %v", err)
		}
		if !bytes.Equal(EncodeFrame(used), EncodeFrame(fr)) || used.Size != fr.Size {
			t.Fatal("decoded into a used frame differently")
		}
	})
}

// FuzzEngineStep: an engine fed arbitrary frames from arbitrary peers never
// panics and keeps its bounds.
func FuzzEngineStep(f *testing.F) {
	f.Add(EncodeFrame(sampleFrame()), uint8(0))
	f.Add(EncodeFrame(&Frame{Digest: &Digest{}}), uint8(1))
	f.Add(EncodeFrame(&Frame{IWant: []MsgKey{{"a", 1}}, IHave: []MsgKey{{"z", 3}}}), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, peer uint8) {
		var sent int
		c := DefaultConfig()
		c.ID = "me"
		c.MaxStoreMessages = 8
		c.MaxOrigins = 4
		c.MaxAbove = 4
		c.FIFO = peer&1 == 1
		c.MaxHeld = 2
		c.TreeFanout = int(peer>>1) % 3
		c.IWantDelay = int(peer>>3) % 2
		c.GapWantDelay = int(peer>>4) % 2
		c.WantRTT = peer&32 != 0
		c.FastWantRetries = int(peer>>7) * 2
		c.Sampler = &StaticSampler{Peers: []NodeID{"a", "b", "c"}, Rand: rand.New(rand.NewPCG(1, 2))}
		c.Transport = transportFunc(func(NodeID, []byte) { sent++ })
		e, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		from := NodeID([]string{"a", "b", "c"}[int(peer)%3])
		for i := 0; i < 3; i++ {
			_ = e.Step(from, b)
			e.Tick()
		}
		if n, _ := e.Stored(); n > c.MaxStoreMessages {
			t.Fatalf("store holds %d > %d", n, c.MaxStoreMessages)
		}
		if len(e.originList) > c.MaxOrigins {
			t.Fatalf("%d origins > %d", len(e.originList), c.MaxOrigins)
		}
		for _, o := range e.originList {
			if len(o.above) > c.MaxAbove || len(o.held) > c.MaxHeld {
				t.Fatalf("origin state over bounds: above %d held %d", len(o.above), len(o.held))
			}
		}
	})
}
