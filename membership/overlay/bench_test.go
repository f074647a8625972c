package overlay

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

type nullTransport struct{ frames int }

func (t *nullTransport) Send(core.NodeID, []byte) { t.frames++ }

// full returns an overlay with full views.
func fullOverlay(b *testing.B) *Overlay {
	cfg := DefaultConfig()
	cfg.ID, cfg.Transport = "self", &nullTransport{}
	ov, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < cfg.ActiveMax; i++ {
		ov.addActive(nid(i), false)
	}
	for i := 0; i < cfg.PassiveMax; i++ {
		ov.addPassive(nid(1000+i), nil)
	}
	return ov
}

// BenchmarkStepPing: the commonest frame, a keepalive from a neighbour.
func BenchmarkStepPing(b *testing.B) {
	ov := fullOverlay(b)
	f := frame(func(d []byte) []byte { return appendFlags(d, RecKeepalive, flagPing) })
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := ov.Step(nid(i%16), f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStepShuffle: a shuffle that ends here (answer and merge into a
// full passive view).
func BenchmarkStepShuffle(b *testing.B) {
	ov := fullOverlay(b)
	list := make([]core.NodeID, 8)
	for i := range list {
		list[i] = nid(5000 + i)
	}
	f := frame(func(d []byte) []byte { return appendShuffle(d, 1, "origin", 0, list) })
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if i%ov.cfg.WalksPerPeerPerTick == 0 {
			ov.Tick()
		}
		if err := ov.Step(nid(i%16), f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTick: a tick of a node with full views and quiet links.
func BenchmarkTick(b *testing.B) {
	ov := fullOverlay(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ov.Tick()
		for j := range ov.active {
			ov.active[j].heard = ov.now
		}
	}
}
