package baselines

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

func TestRecordsRoundTrip(t *testing.T) {
	lim := core.DefaultLimits()
	k := core.MsgKey{Origin: "src", Seq: 42}
	f := core.NewFrame(nil)
	f = AppendKeyRecord(f, RecAck, k)
	f = AppendKeyRecord(f, RecRequest, k)
	f = AppendHeartbeatRecord(f, FromChild)
	f = AppendAdoptRecord(f, 17)
	f = AppendSessionRecord(f, "src", 99)
	f = AppendStatusRecord(f, &Status{Origin: "src", L: 5, Bitmap: []byte{0x05}})
	f = core.AppendRecord(f, RecRepair, nil)
	f = core.AppendRecord(f, RecDetach, nil)
	fr, err := core.DecodeFrame(f, lim)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{k, k, FromChild, uint64(17), core.MsgKey{Origin: "src", Seq: 99}, nil, nil, nil}
	for i, rec := range fr.Records {
		v, err := DecodeRecord(rec, lim)
		if err != nil {
			t.Fatalf("record %d (%#x): %v", i, rec.Type, err)
		}
		if st, ok := v.(*Status); ok {
			if st.L != 5 || !st.Has(6) || st.Has(7) || !st.Has(8) {
				t.Errorf("status %+v", st)
			}
			continue
		}
		if v != want[i] {
			t.Errorf("record %d: %v, want %v", i, v, want[i])
		}
	}
}

func TestRecordsRejectMalformed(t *testing.T) {
	lim := core.DefaultLimits()
	bad := []core.Record{
		{Type: RecAck, Body: nil},
		{Type: RecAck, Body: []byte{1, 'a', 0}},          // seq 0
		{Type: RecRequest, Body: []byte{1, 'a', 1, 9}},   // trailing byte
		{Type: RecHeartbeat, Body: []byte{2}},            // unknown role
		{Type: RecRepair, Body: []byte{0}},               // must be empty
		{Type: RecStatus, Body: []byte{1, 'a', 0, 0}},    // L 0
		{Type: RecStatus, Body: []byte{1, 'a', 1, 0xff}}, // truncated bitmap
		{Type: RecAdopt, Body: []byte{0x80}},             // truncated varint
		{Type: 0x8f, Body: nil},                          // not ours
	}
	for _, r := range bad {
		if _, err := DecodeRecord(r, lim); err == nil {
			t.Errorf("record %#x %x accepted", r.Type, r.Body)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(byte(RecAck), []byte{3, 's', 'r', 'c', 42})
	f.Add(byte(RecStatus), []byte{1, 'a', 5, 1, 5})
	f.Add(byte(RecHeartbeat), []byte{1})
	f.Add(byte(RecAdopt), []byte{17})
	f.Add(byte(RecSession), []byte{1, 'x', 0xff, 0x01})
	f.Fuzz(func(t *testing.T, typ byte, body []byte) {
		v, err := DecodeRecord(core.Record{Type: typ, Body: body}, core.DefaultLimits())
		if err == nil && typ == RecStatus {
			if s := v.(*Status); s.L == 0 || len(s.Bitmap) > MaxBitmapBytes {
				t.Fatalf("accepted bad status %+v", s)
			}
		}
	})
}

type nullTransport struct{}

func (nullTransport) Send(core.NodeID, []byte) {}

// FuzzStep feeds arbitrary frames to every protocol's nodes (source,
// receiver, DR): an error is fine, a panic is not.
func FuzzStep(f *testing.F) {
	k := core.MsgKey{Origin: "a", Seq: 1}
	msg := core.AppendMessageRecord(core.NewFrame(nil), &core.Message{Origin: "a", Seq: 3, Payload: []byte("x")})
	f.Add(msg)
	f.Add(AppendKeyRecord(core.NewFrame(nil), RecAck, k))
	f.Add(AppendKeyRecord(core.NewFrame(nil), RecRequest, core.MsgKey{Origin: "a", Seq: 9}))
	f.Add(AppendAdoptRecord(core.NewFrame(nil), 0))
	f.Add(AppendHeartbeatRecord(core.NewFrame(nil), FromChild))
	f.Add(AppendSessionRecord(core.NewFrame(nil), "a", 1<<40))
	f.Add(AppendStatusRecord(core.NewFrame(nil), &Status{Origin: "a", L: 1, Bitmap: []byte{0xff}}))
	f.Add(core.AppendRecord(msg, RecRepair, nil))
	f.Add([]byte{1, RecStatus, 3, 1, 'a', 0})
	g, _ := NewGroup([]core.NodeID{"a", "b", "c"})
	f.Fuzz(func(t *testing.T, frame []byte) {
		var nodes []node
		for _, id := range []core.NodeID{"a", "b"} {
			cc := DefaultCentralizedConfig()
			cc.ID, cc.Source, cc.Group, cc.Transport = id, "a", g, nullTransport{}
			c, _ := NewCentralized(cc)
			tc := DefaultTreeConfig()
			tc.ID, tc.Root, tc.Group, tc.Transport = id, "a", g, nullTransport{}
			tr, _ := NewTree(tc)
			sc := DefaultSRMConfig()
			sc.ID, sc.Group, sc.Transport, sc.Rand = id, g, nullTransport{}, testRand(1)
			s, _ := NewSRM(sc)
			rc := DefaultRMTPConfig()
			rc.ID, rc.Source, rc.Group, rc.Transport = id, "a", g, nullTransport{}
			if id == "a" {
				rc.Region = []core.NodeID{"b"}
			} else {
				rc.DR, rc.Region = "a", []core.NodeID{"c"}
			}
			r, _ := NewRMTP(rc)
			c.Publish("t", []byte("p"))
			tr.Publish("t", []byte("p"))
			s.Publish("t", []byte("p"))
			r.Publish("t", []byte("p"))
			nodes = append(nodes, c, tr, s, r)
		}
		for _, nd := range nodes {
			nd.Step("c", frame)
			nd.Step("b", frame)
			for i := 0; i < 30; i++ {
				nd.Tick()
			}
		}
	})
}
