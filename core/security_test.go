package core

import (
	"errors"
	"fmt"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"
)

// newLoneEngine builds one engine with no peers of interest, for tests that
// feed it frames by hand.
func newLoneEngine(t *testing.T, tweak func(c *Config)) (*Engine, *recorder) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	c := DefaultConfig()
	c.ID = "me"
	c.Rand = rng
	c.Sampler = &StaticSampler{Peers: []NodeID{"p"}, Rand: rng}
	c.Transport = nullTransport{}
	app := &recorder{}
	c.App = app
	if tweak != nil {
		tweak(&c)
	}
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return e, app
}

func msgFrame(origin NodeID, seq uint64) []byte {
	m := &Message{Origin: origin, Seq: seq, Topic: "t", Payload: []byte("x")}
	return AppendMessageRecord(NewFrame(nil), m)
}

// An origin evicted and recreated while its old message is still stored
// must still expire once everything of it is gone: storeDrop used to
// uncharge the current record for a message charged to the evicted one,
// leaving storedMsgs at -1 forever.
func TestStoreDropChargesStoringOrigin(t *testing.T) {
	e, _ := newLoneEngine(t, func(c *Config) {
		c.MaxOrigins = 2
		c.StoreTTL = 20
		c.SeenTTL = 30 // the new record outlives a:1's expiry and a:5's
	})
	if err := e.Step("p", msgFrame("a", 1)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // push a out of the origin table
		e.Tick()
		if err := e.Step("p", msgFrame(NodeID(fmt.Sprintf("x%d", i)), 1)); err != nil {
			t.Fatal(err)
		}
	}
	if e.origins["a"] != nil {
		t.Fatal("a still tracked; the test needs it evicted")
	}
	for e.ticks < 15 { // a:1 still stored, the new record still active when it expires
		e.Tick()
	}
	e.Step("p", msgFrame("a", 5))
	for i := 0; i < 200; i++ {
		e.Tick()
	}
	if o := e.origins["a"]; o != nil {
		t.Fatalf("origin a never expired: storedMsgs=%d", o.storedMsgs)
	}
}

type nullTransport struct{}

func (nullTransport) Send(NodeID, []byte) {}

// A frame that does not decode and a message the Validator rejects are
// reported to Config.Penalizer against the peer that sent them.
func TestPenalizerMalformedAndInvalid(t *testing.T) {
	var got []string
	e, app := newLoneEngine(t, func(c *Config) {
		c.Penalizer = PenalizerFunc(func(from NodeID, o Offence) {
			got = append(got, string(from)+":"+o.String())
		})
		c.Validator = validatorFunc(func(_ NodeID, m *Message) error {
			if string(m.Payload) == "bad" {
				return errors.New("rejected")
			}
			return nil
		})
	})
	if err := e.Step("p", []byte{WireVersion, 7, 200}); err == nil {
		t.Fatal("truncated frame decoded")
	}
	bad := AppendMessageRecord(NewFrame(nil), &Message{Origin: "o", Seq: 1, Topic: "t", Payload: []byte("bad")})
	if err := e.Step("q", bad); err != nil {
		t.Fatal(err)
	}
	if err := e.Step("q", msgFrame("o", 2)); err != nil {
		t.Fatal(err)
	}
	want := []string{"p:malformed", "q:invalid_message"}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(app.got) != 1 {
		t.Fatalf("penalties %v, want %v; delivered %d, want 1", got, want, len(app.got))
	}
}

type validatorFunc func(NodeID, *Message) error

func (f validatorFunc) Validate(from NodeID, m *Message) error { return f(from, m) }

// A 4 MiB IWANT of one-byte keys used to decode to ~100 MB; now the frame's
// key budget (Limits.MaxKeys) refuses it before allocating, and what any
// frame decodes to stays within 32 bytes per input byte plus 24·MaxKeys.
func TestDecodeKeysBounded(t *testing.T) {
	lim := DefaultLimits()
	body := wire.AppendUvarint(nil, 1)
	body = wire.AppendString(body, "o")
	n := lim.MaxFrameSize - 64
	body = wire.AppendUvarint(body, uint64(n))
	for i := 0; i < n; i++ {
		body = append(body, 2) // delta 1, zigzag-encoded
	}
	frame := AppendRecord(NewFrame(nil), RecIWant, body)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	_, err := DecodeFrame(frame, lim)
	runtime.ReadMemStats(&ms1)
	if err == nil {
		t.Fatal("4 MiB of keys decoded")
	}
	if got := ms1.TotalAlloc - ms0.TotalAlloc; got > 1<<20 {
		t.Fatalf("refusing %d bytes of keys allocated %d bytes", len(frame), got)
	}
}

// Under KeepFrames a tiny message in a frame padded to 1 MiB with an
// unknown record must not pin the frame: it is copied out (its payload no
// longer aliases the frame); a message that is most of its frame is kept
// aliased.
func TestKeepFramesCopiesFromLargeFrame(t *testing.T) {
	e, _ := newLoneEngine(t, func(c *Config) { c.KeepFrames = true })
	small := msgFrame("o", 1)
	small = AppendRecord(small, 99, make([]byte, 1<<20))
	if err := e.Step("p", small); err != nil {
		t.Fatal(err)
	}
	en := e.store[MsgKey{"o", 1}]
	if en == nil {
		t.Fatal("not stored")
	}
	if aliases(en.msg.Payload, small) {
		t.Fatal("tiny message still aliases its 1 MiB frame")
	}
	big := AppendMessageRecord(NewFrame(nil), &Message{Origin: "o", Seq: 2, Topic: "t", Payload: make([]byte, 4000)})
	if err := e.Step("p", big); err != nil {
		t.Fatal(err)
	}
	if !aliases(e.store[MsgKey{"o", 2}].msg.Payload, big) {
		t.Fatal("message that fills its frame was copied")
	}
	if e.Stats().FrameCopies != 1 {
		t.Fatalf("FrameCopies = %d, want 1", e.Stats().FrameCopies)
	}
}

func aliases(p, frame []byte) bool {
	if len(p) == 0 {
		return false
	}
	a := uintptr(unsafe.Pointer(&p[0]))
	f := uintptr(unsafe.Pointer(&frame[0]))
	return a >= f && a < f+uintptr(len(frame))
}

// A partial digest's omitted origins are not answered as fully missing: a
// node holding one message each of 2,000 origins, asked with a partial
// digest that lists 256 of them as complete, sends nothing; asked with a
// complete empty digest it sends up to its budget.
func TestPartialDigestOmittedOriginsNotAnswered(t *testing.T) {
	e, _ := newLoneEngine(t, func(c *Config) { c.MaxOrigins = 4096; c.MaxInboundPerPeerPerRound = 1 << 20 })
	for i := 0; i < 2000; i++ {
		if err := e.Step("p", msgFrame(NodeID(fmt.Sprintf("o%d", i)), 1)); err != nil {
			t.Fatal(err)
		}
	}
	d := &Digest{Partial: true}
	for i := 0; i < 256; i++ {
		d.Entries = append(d.Entries, DigestEntry{Origin: NodeID(fmt.Sprintf("o%d", i)), Contiguous: 1})
	}
	before := e.Stats().PullAnswered
	e.StepFrame("q", &Frame{Digest: d})
	if got := e.Stats().PullAnswered - before; got != 0 {
		t.Fatalf("answered %d messages of origins the partial digest omitted", got)
	}
	e.StepFrame("q", &Frame{Digest: &Digest{}})
	if e.Stats().PullAnswered == before {
		t.Fatal("a complete empty digest got no answer")
	}
}

// FIFO hold-back is bounded in bytes over all origins (MaxHeldBytes), and
// the held messages of an evicted origin are delivered with their gaps
// reported lost, not dropped silently.
func TestHeldBytesBoundAndEvictFlush(t *testing.T) {
	lost := 0
	e, app := newLoneEngine(t, func(c *Config) {
		c.FIFO = true
		c.MaxHeldBytes = 3000
		c.MaxOrigins = 4
		c.MaxInboundPerPeerPerRound = 1 << 20
	})
	app2 := &lossCounter{recorder: app, n: &lost}
	e.cfg.App = app2
	big := func(o NodeID, seq uint64) []byte {
		return AppendMessageRecord(NewFrame(nil), &Message{Origin: o, Seq: seq, Topic: "t", Payload: make([]byte, 1000)})
	}
	e.Step("p", big("a", 1))
	for s := uint64(3); s <= 8; s++ { // seq 2 missing: held back
		e.Step("p", big("a", s))
	}
	if e.heldBytes > 3000 || e.Stats().HeldBytesOverflow == 0 {
		t.Fatalf("heldBytes %d, overflow %d", e.heldBytes, e.Stats().HeldBytesOverflow)
	}
	e.Step("p", big("b", 1))
	e.Step("p", big("b", 3)) // held
	for i := 0; i < 8; i++ {
		e.Tick()
		e.Step("p", msgFrame(NodeID(fmt.Sprintf("x%d", i)), 1))
	}
	if e.origins["b"] != nil {
		t.Fatal("b not evicted")
	}
	if e.Stats().HeldFlushed == 0 || e.heldBytes != 0 || lost == 0 {
		t.Fatalf("evicted origin's held messages: flushed %d, heldBytes %d, losses %d", e.Stats().HeldFlushed, e.heldBytes, lost)
	}
}

type lossCounter struct {
	*recorder
	n *int
}

func (l *lossCounter) Lost(NodeID, uint64, uint64) { *l.n++ }

// An origin evicted because a peer invented many origins keeps a watermark
// tombstone: its old messages replayed afterwards are duplicates, not
// deliveries, and its new ones are still delivered.
func TestEvictedOriginTombstoneStopsReplays(t *testing.T) {
	floods := map[NodeID]int{}
	e, app := newLoneEngine(t, func(c *Config) {
		c.MaxOrigins = 16
		c.MaxInboundPerPeerPerRound = 1 << 20
		c.Penalizer = PenalizerFunc(func(from NodeID, o Offence) {
			if o == OffenceFlood {
				floods[from]++
			}
		})
	})
	for s := uint64(1); s <= 3; s++ {
		e.Step("honest", msgFrame("h", s))
	}
	for i := 0; i < 10000; i++ {
		if i%100 == 0 {
			e.Tick()
		}
		e.Step("attacker", msgFrame(NodeID(fmt.Sprintf("fake%d", i)), 1))
	}
	if e.origins["h"] != nil {
		t.Fatal("h not evicted; the test needs it evicted")
	}
	for s := uint64(1); s <= 3; s++ {
		e.Step("attacker", msgFrame("h", s)) // replay
	}
	e.Step("honest", msgFrame("h", 4))
	n := 0
	for _, m := range app.got {
		if m.Origin == "h" {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("origin h delivered %d times, want 4 (seq 1-4 once each)", n)
	}
	if floods["attacker"] == 0 || floods["honest"] != 0 {
		t.Fatalf("flood penalties %v: want the attacker only", floods)
	}
	if len(e.tombs) > 8*16 {
		t.Fatalf("%d tombstones, bound 128", len(e.tombs))
	}
}
