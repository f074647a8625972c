package baselines

import (
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// newRMTPNet: node 0 is the sender; regions of size rs, each led by its
// first member (the DR).
func newRMTPNet(t *testing.T, n, rs int, tweak func(c *RMTPConfig)) (*testNet, []*RMTP) {
	tn, g := newTestNet(t, n)
	var nodes []*RMTP
	var drs []core.NodeID
	for i := 1; i < n; i += rs {
		drs = append(drs, tid(i))
	}
	for i := 0; i < n; i++ {
		c := DefaultRMTPConfig()
		c.ID, c.Source, c.Group, c.Transport, c.App = tid(i), tid(0), g, tn.transport(i), tn.apps[i]
		switch {
		case i == 0:
			c.Region = drs
		case (i-1)%rs == 0:
			c.DR = tid(0)
			for j := i + 1; j < i+rs && j < n; j++ {
				c.Region = append(c.Region, tid(j))
			}
		default:
			c.DR = tid(1 + (i-1)/rs*rs)
		}
		if tweak != nil {
			tweak(&c)
		}
		nd, err := NewRMTP(c)
		if err != nil {
			t.Fatal(err)
		}
		tn.nodes[i] = nd
		nodes = append(nodes, nd)
	}
	return tn, nodes
}

// A receiver that misses a packet reports it in its status; its DR (not the
// sender) unicasts it.
func TestRMTPDesignatedReceiverRetransmits(t *testing.T) {
	tn, nodes := newRMTPNet(t, 9, 4, nil) // sender 0; regions {1,2,3,4} {5,6,7,8}
	var retxFrom []int
	tn.drop = func(from, to int, frame []byte) bool {
		if to == 3 && dataSeq(frame) == 2 {
			if from == 0 {
				return true
			}
			retxFrom = append(retxFrom, from)
		}
		return false
	}
	for i := 0; i < 3; i++ {
		nodes[0].Publish("t", []byte{byte(i)})
	}
	if !tn.runUntil(func() bool { return tn.allHave(2) }, 100) {
		t.Fatal("receiver 3 never got packet 2")
	}
	if !slices.Equal(retxFrom, []int{1}) {
		t.Errorf("packet 2 retransmitted to 3 by %v, want by its DR 1 only", retxFrom)
	}
	if s := nodes[1].Stats(); s.Unicasts != 1 || s.Subcasts != 0 {
		t.Errorf("DR: %d unicasts, %d subcasts", s.Unicasts, s.Subcasts)
	}
	if s := nodes[0].Stats(); s.Retransmitted != 0 {
		t.Errorf("sender retransmitted %d", s.Retransmitted)
	}
	// Statuses go to the DR only: the sender hears from the 2 DRs alone.
	if s := nodes[3].Stats(); s.StatusSent == 0 {
		t.Error("receiver sent no status")
	}
}

// A packet missed by at least Thresh members is subcast to the region once.
func TestRMTPSubcastAboveThreshold(t *testing.T) {
	tn, nodes := newRMTPNet(t, 9, 4, func(c *RMTPConfig) { c.Thresh = 2 })
	tn.drop = func(from, to int, frame []byte) bool {
		return from == 0 && (to == 2 || to == 3 || to == 4) && dataSeq(frame) == 1
	}
	nodes[0].Publish("t", []byte("a"))
	nodes[0].Publish("t", []byte("b"))
	if !tn.runUntil(func() bool { return tn.allHave(1) }, 100) {
		t.Fatal("not repaired")
	}
	if s := nodes[1].Stats(); s.Subcasts != 1 || s.Unicasts != 0 || s.Retransmitted != 3 {
		t.Errorf("DR: %d subcasts, %d unicasts, %d retransmitted; want 1, 0, 3", s.Subcasts, s.Unicasts, s.Retransmitted)
	}
}

// A DR that missed a packet gets it from the sender (the DRs are the
// sender's region), then passes it on to its members — the tail loss
// included, which only the statuses reveal.
func TestRMTPHierarchy(t *testing.T) {
	tn, nodes := newRMTPNet(t, 9, 4, nil)
	first := map[int]bool{}
	tn.drop = func(from, to int, frame []byte) bool {
		if from == 0 && (to == 5 || to == 6) && dataSeq(frame) == 2 && !first[to] {
			first[to] = true
			return true
		}
		return false
	}
	nodes[0].Publish("t", []byte("a"))
	nodes[0].Publish("t", []byte("b")) // the last packet: no gap shows it
	if !tn.runUntil(func() bool { return tn.allHave(2) }, 200) {
		t.Fatal("not repaired")
	}
	if s := nodes[0].Stats(); s.Retransmitted != 1 {
		t.Errorf("sender retransmitted %d, want 1 (to DR 5)", s.Retransmitted)
	}
	if s := nodes[5].Stats(); s.Retransmitted != 1 {
		t.Errorf("DR 5 retransmitted %d, want 1 (to 6)", s.Retransmitted)
	}
	if tn.apps[6].when(2) <= tn.apps[5].when(2) {
		t.Error("member 6 repaired before its DR had the packet")
	}
}

func TestRMTPStatusBitmap(t *testing.T) {
	r := &RMTP{cfg: RMTPConfig{Source: "src"}}
	for _, q := range []uint64{1, 2, 4, 7} {
		r.seen.add(q, 100)
	}
	s := r.status()
	if s.L != 3 {
		t.Fatalf("L = %d, want 3", s.L)
	}
	for q := uint64(1); q <= 9; q++ {
		want := q <= 2 || q == 4 || q == 7
		if s.Has(q) != want {
			t.Errorf("Has(%d) = %v", q, s.Has(q))
		}
	}
	enc := AppendStatusRecord(core.NewFrame(nil), s)
	f, err := core.DecodeFrame(enc, core.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeStatus(f.Records[0].Body, core.DefaultLimits())
	if err != nil || got.L != 3 || !slices.Equal(got.Bitmap, s.Bitmap) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}
