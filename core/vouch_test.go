package core

import (
	"slices"
	"testing"
)

// vouchingPiggy is a Piggybacker and OriginVoucher that records what it was
// asked to vouch for, and appends one record per vouch.
type vouchingPiggy struct {
	asked [][]NodeID
	room  []int
}

func (p *vouchingPiggy) Piggyback(_ NodeID, f []byte, _ int) []byte { return f }

func (p *vouchingPiggy) Vouch(_ NodeID, origins []NodeID, f []byte, room int) []byte {
	p.asked = append(p.asked, slices.Clone(origins))
	p.room = append(p.room, room)
	return AppendRecord(f, RecMembershipFirst, []byte("alive of "+origins[0]))
}

// TestVouchForBodyOrigins: a frame with message bodies asks the
// OriginVoucher about their origins (each once, in order) and carries what it
// adds; a frame without bodies does not ask it.
func TestVouchForBodyOrigins(t *testing.T) {
	vp := &vouchingPiggy{}
	tn := newTestNet(t, 3, 1, func(i int, c *Config) {
		if i == 1 {
			c.Piggyback = vp
		}
	})
	e := tn.nodes[1]
	a, b := nodeName(0), nodeName(2)
	for _, m := range []*Message{{Origin: a, Seq: 1, Payload: []byte("x")}, {Origin: b, Seq: 1, Payload: []byte("y")}, {Origin: a, Seq: 2, Payload: []byte("z")}} {
		e.accept(m, nodeName(0), false, 0) // stored as received, and pushed on
	}
	e.flush()
	tn.queue = nil
	vp.asked, vp.room = nil, nil
	for _, k := range []MsgKey{{a, 1}, {b, 1}, {a, 2}} {
		if !e.sendBody(nodeName(2), e.store[k]) {
			t.Fatal("body not sent")
		}
	}
	e.flush()
	if len(vp.asked) != 1 || !slices.Equal(vp.asked[0], []NodeID{a, b}) {
		t.Fatalf("asked to vouch for %v, want one frame's [%s %s]", vp.asked, a, b)
	}
	if vp.room[0] <= 0 || vp.room[0] >= e.cfg.MaxFrameSize {
		t.Fatalf("room %d", vp.room[0])
	}
	if len(tn.queue) != 1 {
		t.Fatalf("%d frames sent, want 1", len(tn.queue))
	}
	f, err := DecodeFrame(tn.queue[0].frame, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Messages) != 3 || len(f.Records) != 1 || string(f.Records[0].Body) != "alive of "+string(a) {
		t.Fatalf("frame carries %d bodies and records %v", len(f.Messages), f.Records)
	}

	// The next frame, announcements only, asks nothing.
	vp.asked = nil
	e.sendIHave(nodeName(2), MsgKey{a, 1})
	e.flush()
	if len(vp.asked) != 0 {
		t.Fatalf("a frame without bodies asked to vouch for %v", vp.asked)
	}
}
