package membership

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// capture is a Transport that keeps what was sent.
type capture struct {
	sent []packetTo
}

type packetTo struct {
	to    core.NodeID
	frame *core.Frame
}

func (c *capture) Send(to core.NodeID, frame []byte) {
	f, err := core.DecodeFrame(frame, core.DefaultLimits())
	if err != nil {
		panic(err)
	}
	c.sent = append(c.sent, packetTo{to, f})
}

// records returns the records of type typ sent to to ("" for anyone).
func (c *capture) records(to core.NodeID, typ uint8) []core.Record {
	var out []core.Record
	for _, p := range c.sent {
		if to != "" && p.to != to {
			continue
		}
		for _, r := range p.frame.Records {
			if r.Type == typ {
				out = append(out, r)
			}
		}
	}
	return out
}

type recorder struct{ ev []Event }

func (r *recorder) HandleEvent(e Event) { r.ev = append(r.ev, e) }

func (r *recorder) kinds() []EventKind {
	var k []EventKind
	for _, e := range r.ev {
		k = append(k, e.Kind)
	}
	return k
}

func newTest(t testing.TB, mod func(*Config)) (*Memberlist, *capture, *recorder) {
	t.Helper()
	cfg := DefaultLANConfig()
	cfg.ID = "self"
	tr := &capture{}
	rec := &recorder{}
	cfg.Transport, cfg.Events = tr, rec
	if mod != nil {
		mod(&cfg)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, tr, rec
}

func frame(recs ...[]byte) *core.Frame {
	b := core.NewFrame(nil)
	for _, r := range recs {
		b = append(b, r...)
	}
	f, err := core.DecodeFrame(b, core.DefaultLimits())
	if err != nil {
		panic(err)
	}
	return f
}

func step(t testing.TB, m *Memberlist, from core.NodeID, recs ...[]byte) {
	t.Helper()
	if err := m.Step(from, frame(recs...)); err != nil {
		t.Fatal(err)
	}
}

func alive(id core.NodeID, inc uint64) []byte {
	return appendAlive(nil, aliveMsg{id: id, inc: inc})
}

func suspectRec(id core.NodeID, inc uint64, from core.NodeID) []byte {
	return appendAccuse(nil, RecSuspect, accuseMsg{id: id, inc: inc, from: from})
}

func deadRec(id core.NodeID, inc uint64, from core.NodeID) []byte {
	return appendAccuse(nil, RecDead, accuseMsg{id: id, inc: inc, from: from})
}

func leaveRec(id core.NodeID, inc uint64) []byte {
	return appendLeave(nil, leaveMsg{id: id, inc: inc})
}

// put brings member id into state st at incarnation inc.
func put(t testing.TB, m *Memberlist, id core.NodeID, st State, inc uint64) {
	t.Helper()
	step(t, m, "peer", alive(id, inc))
	switch st {
	case StateSuspect:
		step(t, m, "peer", suspectRec(id, inc, "accuser"))
	case StateDead:
		step(t, m, "peer", deadRec(id, inc, "accuser"))
	case StateLeft:
		step(t, m, "peer", leaveRec(id, inc))
	}
	if mem, _ := m.Member(id); mem.State != st || mem.Incarnation != inc {
		t.Fatalf("setup: %s is %s/%d, want %s/%d", id, mem.State, mem.Incarnation, st, inc)
	}
}

func TestMetadata(t *testing.T) {
	m, _, rec := newTest(t, func(c *Config) { c.Meta = []byte("v1") })
	if err := m.SetMeta(make([]byte, 513)); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("oversized meta: %v", err)
	}
	if err := m.SetMeta([]byte("v2")); err != nil {
		t.Fatal(err)
	}
	if m.Incarnation() != 1 || string(m.LocalMember().Meta) != "v2" {
		t.Fatal("SetMeta did not raise the incarnation")
	}
	step(t, m, "p", appendAlive(nil, aliveMsg{id: "x", inc: 1, meta: []byte("a")}))
	step(t, m, "p", appendAlive(nil, aliveMsg{id: "x", inc: 2, meta: []byte("b")}))
	if mem, _ := m.Member("x"); string(mem.Meta) != "b" {
		t.Fatal("meta not updated")
	}
	if !slices.Equal(rec.kinds(), []EventKind{EventJoin, EventUpdate}) {
		t.Fatalf("events %v", rec.kinds())
	}
	m2, _, _ := newTest(t, func(c *Config) { c.MaxMetaSize = 4 })
	step(t, m2, "p", appendAlive(nil, aliveMsg{id: "x", inc: 1, meta: []byte("toolong")}))
	if _, ok := m2.Member("x"); ok || m2.stats.MetaTooLarge != 1 {
		t.Fatal("oversized meta accepted")
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("empty config accepted")
	}
	cfg := DefaultLANConfig()
	cfg.ID, cfg.Transport, cfg.Meta = "a", &capture{}, make([]byte, 600)
	if _, err := New(cfg); err == nil {
		t.Fatal("oversized Config.Meta accepted")
	}
}

func TestStepIgnoresOtherLayersAndUnknown(t *testing.T) {
	m, _, _ := newTest(t, nil)
	f := frame(core.AppendRecord(nil, 0x7e, []byte("future")), core.AppendRecord(nil, 0x90, []byte("app")))
	if err := m.Step("p", f); err != nil {
		t.Fatal(err)
	}
	if m.stats.UnknownRecords != 1 || m.stats.RecordsIn != 1 {
		t.Fatalf("unknown %d in %d", m.stats.UnknownRecords, m.stats.RecordsIn)
	}
	// A broken record is reported, the good one after it still applied.
	f = frame(core.AppendRecord(nil, RecAlive, []byte{1}), alive("x", 1))
	if err := m.Step("p", f); err == nil {
		t.Fatal("broken record not reported")
	}
	if _, ok := m.Member("x"); !ok || m.stats.DecodeErrors != 1 {
		t.Fatal("good record after a broken one lost")
	}
	if m.Step("p", nil) != nil {
		t.Fatal("nil frame")
	}
}

func TestDeterministic(t *testing.T) {
	run := func() string {
		c := newCluster(t, 12, 9, nil)
		c.joinAll()
		c.loss = 0.05
		c.run(200)
		c.down[3] = true
		c.run(300)
		var b bytes.Buffer
		for _, m := range c.nodes {
			fmt.Fprintf(&b, "%+v %v\n", m.Stats(), m.Members())
		}
		return b.String()
	}
	if a, b := run(), run(); a != b {
		t.Fatal("two runs with one seed differ")
	}
}
