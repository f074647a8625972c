package core

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestModesReachEveryone(t *testing.T) {
	for _, mode := range []Mode{Push, Pull, PushPull} {
		for _, eager := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/eager=%v", mode, eager), func(t *testing.T) {
				tn := newTestNet(t, 200, 1, func(_ int, c *Config) {
					c.Mode = mode
					c.EagerPush = eager
					c.Fanout = 2
					c.RoundsFactor = 3 // enough push rounds that push alone finishes
				})
				m := tn.publish(0, "t", []byte("hello"))
				r := tn.runUntil(m.Key(), 60)
				if r > 60 {
					t.Fatalf("only %d/200 nodes got the message after 60 rounds", tn.have(m.Key()))
				}
				for i, app := range tn.apps {
					if len(app.got) != 1 || !bytes.Equal(app.got[0].Payload, []byte("hello")) {
						t.Fatalf("node %d delivered %d messages, want exactly 1", i, len(app.got))
					}
				}
			})
		}
	}
}

// Without eager push, push-pull needs about log₃ n + O(log log n) rounds and
// pull's endgame beats push's: check the ordering pull-assisted < push alone.
func TestPushPullFasterThanPush(t *testing.T) {
	rounds := func(mode Mode) int {
		total := 0
		for seed := uint64(1); seed <= 5; seed++ {
			tn := newTestNet(t, 500, seed, func(_ int, c *Config) {
				c.Mode, c.EagerPush, c.Fanout, c.Rounds, c.DistinctTargets = mode, false, 1, 100, false
			})
			m := tn.publish(0, "t", []byte("x"))
			total += tn.runUntil(m.Key(), 100)
		}
		return total
	}
	push, pp := rounds(Push), rounds(PushPull)
	if pp >= push {
		t.Fatalf("push-pull took %d rounds over 5 seeds, push %d: want push-pull faster", pp, push)
	}
}

func TestPullRepairsHeavyLoss(t *testing.T) {
	tn := newTestNet(t, 100, 7, nil)
	tn.loss = 0.5
	var keys []MsgKey
	for i := 0; i < 5; i++ {
		keys = append(keys, tn.publish(i, "t", []byte{byte(i)}).Key())
	}
	for r := 0; r < 40; r++ {
		tn.round()
	}
	for _, k := range keys {
		if got := tn.have(k); got != 100 {
			t.Errorf("message %v reached %d/100 under 50%% loss", k, got)
		}
	}
	if tn.dropped == 0 {
		t.Fatal("no frames were dropped: loss not applied")
	}
}

func TestCrashedHalfSurvivorsStillDeliver(t *testing.T) {
	tn := newTestNet(t, 200, 3, nil)
	for i := 100; i < 200; i++ {
		tn.down[i] = true
	}
	m := tn.publish(0, "t", []byte("x"))
	if r := tn.runUntil(m.Key(), 40); r > 40 {
		t.Fatalf("%d/100 survivors reached", tn.have(m.Key()))
	}
}

func TestExactlyOnceDelivery(t *testing.T) {
	tn := newTestNet(t, 30, 5, func(_ int, c *Config) { c.Fanout = 6 })
	var keys []MsgKey
	for i := 0; i < 10; i++ {
		keys = append(keys, tn.publish(i%3, "t", []byte{byte(i)}).Key())
	}
	for r := 0; r < 20; r++ {
		tn.round()
	}
	for i, app := range tn.apps {
		seen := map[MsgKey]int{}
		for _, m := range app.got {
			seen[m.Key()]++
		}
		for _, k := range keys {
			if seen[k] != 1 {
				t.Fatalf("node %d delivered %v %d times", i, k, seen[k])
			}
		}
	}
	var dups uint64
	for _, e := range tn.nodes {
		dups += e.Stats().Duplicates
	}
	if dups == 0 {
		t.Fatal("fanout 6 produced no duplicates: dedup path not exercised")
	}
}

func TestLazyPushLimitsPayloadCopies(t *testing.T) {
	payload := bytes.Repeat([]byte{7}, 16<<10)
	run := func(lazy, lazyBody int) (copies float64) {
		tn := newTestNet(t, 100, 11, func(_ int, c *Config) { c.LazyThreshold = lazy; c.MaxRoundBytes = 1 << 20; c.LazyBodyFanout = lazyBody })
		m := tn.publish(0, "t", payload)
		if r := tn.runUntil(m.Key(), 40); r > 40 {
			t.Fatalf("lazy=%d: %d/100 reached", lazy, tn.have(m.Key()))
		}
		for r := 0; r < 10; r++ {
			tn.round()
		}
		var sent uint64
		for _, e := range tn.nodes {
			sent += e.Stats().PayloadSent
		}
		return float64(sent) / float64(len(payload)) / 99
	}
	eager, lazy, lazy0 := run(0, 1), run(2048, 1), run(2048, 0)
	t.Logf("payload copies per delivery: eager %.2f, lazy %.2f, pure lazy %.2f", eager, lazy, lazy0)
	if lazy0 > 1.25 {
		t.Errorf("pure lazy push sent %.2f payload copies per delivery, want <= 1.25 (floor 1)", lazy0)
	}
	if lazy > 2.0 {
		t.Errorf("lazy push sent %.2f payload copies per delivery, want <= 2", lazy)
	}
	if eager < 2*lazy {
		t.Errorf("eager %.2f vs lazy %.2f copies per delivery: lazy push should cut copies at least in half", eager, lazy)
	}
}

func TestFIFOHoldsBackAndGivesUp(t *testing.T) {
	tn := newTestNet(t, 2, 1, func(_ int, c *Config) {
		c.FIFO = true
		c.FIFOTimeout = 3
		c.Mode = Push
		c.EagerPush = false
		c.Rounds = 1
	})
	a, b := tn.nodes[0], tn.nodes[1]
	app := tn.apps[1]
	mk := func(seq uint64) []byte {
		return EncodeFrame(&Frame{Messages: []*Message{{Origin: a.ID(), Seq: seq, Topic: "t", Payload: []byte{byte(seq)}}}})
	}
	step := func(seq uint64) {
		if err := b.Step(a.ID(), mk(seq)); err != nil {
			t.Fatal(err)
		}
	}
	step(1)
	step(3) // held: 2 missing
	if len(app.got) != 1 {
		t.Fatalf("delivered %d, want 1 (3 held back)", len(app.got))
	}
	step(2)
	if len(app.got) != 3 || app.got[1].Seq != 2 || app.got[2].Seq != 3 {
		t.Fatalf("after the gap filled: delivered %v", seqs(app.got))
	}
	step(6) // 4, 5 never come
	for i := 0; i < 4; i++ {
		b.Tick()
	}
	if len(app.got) != 4 || app.got[3].Seq != 6 {
		t.Fatalf("after FIFOTimeout: delivered %v, want 1 2 3 6", seqs(app.got))
	}
	if len(app.lost) != 1 || app.lost[0][1] != 4 || app.lost[0][2] != 5 {
		t.Fatalf("loss reports %v, want [4,5]", app.lost)
	}
	step(5) // too late: never delivered out of order
	if len(app.got) != 4 || b.Stats().FIFOLate != 1 {
		t.Fatalf("late message: delivered %v, FIFOLate %d", seqs(app.got), b.Stats().FIFOLate)
	}
}

func seqs(ms []*Message) []uint64 {
	var s []uint64
	for _, m := range ms {
		s = append(s, m.Seq)
	}
	return s
}

func TestSelectionPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy Policy
		want   []uint64 // sequence numbers the first round pushes, in order
	}{
		{Recent, []uint64{5, 4}},
		{Priority, []uint64{3, 1}},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			var sent []*Frame
			e, err := New(Config{
				ID: "a", Sampler: &StaticSampler{Peers: []NodeID{"b"}, Rand: rand.New(rand.NewPCG(1, 1))},
				Transport: transportFunc(func(_ NodeID, f []byte) {
					fr, err := DecodeFrame(f, DefaultLimits())
					if err != nil {
						t.Fatal(err)
					}
					sent = append(sent, fr)
				}),
			}.with(func(c *Config) {
				c.Policy, c.MaxRoundMessages, c.EagerPush, c.Mode, c.Rounds = tc.policy, 2, false, Push, 50
			}))
			if err != nil {
				t.Fatal(err)
			}
			prio := []uint8{9, 0, 9, 0, 0}
			for i := 0; i < 5; i++ {
				if _, err := e.Publish("t", []byte{byte(i)}, WithPriority(prio[i])); err != nil {
					t.Fatal(err)
				}
				e.Tick() // distinct receive ticks; first rounds push too
			}
			sent = nil
			e.Tick()
			if len(sent) != 1 {
				t.Fatalf("%d frames, want 1", len(sent))
			}
			if got := seqs(sent[0].Messages); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("pushed %v, want %v", got, tc.want)
			}
		})
	}
}

// with applies f to a copy of DefaultConfig merged with c's required fields.
func (c Config) with(f func(*Config)) Config {
	d := DefaultConfig()
	d.ID, d.Sampler, d.Transport, d.App, d.Rand = c.ID, c.Sampler, c.Transport, c.App, c.Rand
	f(&d)
	return d
}

type transportFunc func(NodeID, []byte)

func (f transportFunc) Send(to NodeID, b []byte) { f(to, b) }

func TestPublishOptions(t *testing.T) {
	tn := newTestNet(t, 2, 1, nil)
	e := tn.nodes[0]
	for _, c := range []struct {
		opts []PublishOption
		prio uint8
		ts   int64
	}{
		{nil, 0, 0},
		{[]PublishOption{WithPriority(7)}, 7, 0},
		{[]PublishOption{WithTimestamp(-42)}, 0, -42},
		{[]PublishOption{WithTimestamp(1), {}, WithPriority(255), WithTimestamp(1 << 62)}, 255, 1 << 62},
	} {
		m, err := e.Publish("t", []byte("x"), c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if m.Priority != c.prio || m.Timestamp != c.ts {
			t.Errorf("options %v: priority %d timestamp %d, want %d %d", c.opts, m.Priority, m.Timestamp, c.prio, c.ts)
		}
	}
	// Options cost no allocation: two lone engines publishing the same
	// messages, with and without options, allocate alike.
	allocs := func(opts ...PublishOption) float64 {
		c := DefaultConfig()
		c.ID, c.Transport = "lone", transportFunc(func(NodeID, []byte) {})
		c.Sampler = &StaticSampler{Rand: rand.New(rand.NewPCG(1, 2))}
		e, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		payload := []byte("x")
		return testing.AllocsPerRun(200, func() { _, _ = e.Publish("t", payload, opts...) })
	}
	if plain, with := allocs(), allocs(WithPriority(3), WithTimestamp(99)); plain != with {
		t.Errorf("Publish allocates %v times per call with options, %v without", with, plain)
	}
}

func TestPublishBounds(t *testing.T) {
	tn := newTestNet(t, 2, 1, func(_ int, c *Config) { c.MaxMessageSize = 10 })
	if _, err := tn.nodes[0].Publish("t", make([]byte, 11)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized publish: err = %v", err)
	}
	if _, err := tn.nodes[0].Publish(string(make([]byte, 300)), nil); !errors.Is(err, ErrTopicTooLong) {
		t.Fatalf("long topic: err = %v", err)
	}
	// An oversized message from a peer is dropped and counted, not delivered.
	f := EncodeFrame(&Frame{Messages: []*Message{{Origin: "x", Seq: 1, Payload: make([]byte, 11)}}})
	if err := tn.nodes[1].Step("x", f); err != nil {
		t.Fatal(err)
	}
	if s := tn.nodes[1].Stats(); s.TooLarge != 1 || s.Delivered != 0 {
		t.Fatalf("TooLarge=%d Delivered=%d", s.TooLarge, s.Delivered)
	}
}

func TestStoreBoundsEvictAndCount(t *testing.T) {
	tn := newTestNet(t, 2, 1, func(_ int, c *Config) { c.MaxStoreMessages = 3; c.MaxStoreBytes = 1 << 20 })
	for i := 0; i < 10; i++ {
		tn.publish(0, "t", []byte{1})
	}
	n, _ := tn.nodes[0].Stored()
	if n != 3 || tn.nodes[0].Stats().StoreEvicted != 7 {
		t.Fatalf("stored %d, evicted %d; want 3 and 7", n, tn.nodes[0].Stats().StoreEvicted)
	}
	tn2 := newTestNet(t, 2, 1, func(_ int, c *Config) { c.MaxStoreBytes = 250 })
	for i := 0; i < 10; i++ {
		tn2.publish(0, "t", make([]byte, 100))
	}
	if _, b := tn2.nodes[0].Stored(); b > 250 {
		t.Fatalf("store holds %d payload bytes > 250", b)
	}
	tn3 := newTestNet(t, 2, 1, func(_ int, c *Config) { c.StoreTTL = 5 })
	tn3.publish(0, "t", []byte{1})
	for i := 0; i < 6; i++ {
		tn3.nodes[0].Tick()
	}
	if n, _ := tn3.nodes[0].Stored(); n != 0 || tn3.nodes[0].Stats().StoreExpired != 1 {
		t.Fatalf("after TTL: stored %d, expired %d", n, tn3.nodes[0].Stats().StoreExpired)
	}
}

func TestSeenSetBounded(t *testing.T) {
	tn := newTestNet(t, 1, 1, func(_ int, c *Config) { c.MaxOrigins = 16; c.SeenTTL = 10; c.StoreTTL = 2 })
	e := tn.nodes[0]
	for i := 0; i < 100; i++ {
		f := EncodeFrame(&Frame{Messages: []*Message{{Origin: NodeID(fmt.Sprintf("o%d", i)), Seq: 1}}})
		if err := e.Step("p", f); err != nil {
			t.Fatal(err)
		}
	}
	if len(e.originList) > 16 || e.Stats().OriginsEvicted == 0 {
		t.Fatalf("%d origins tracked, %d evicted; want <= 16 and > 0", len(e.originList), e.Stats().OriginsEvicted)
	}
	for i := 0; i < 20; i++ {
		e.Tick()
	}
	if len(e.originList) != 0 || e.Stats().OriginsExpired == 0 {
		t.Fatalf("after SeenTTL: %d origins tracked, %d expired", len(e.originList), e.Stats().OriginsExpired)
	}
}

func TestGapsDetectedAndPulled(t *testing.T) {
	// b misses seq 2 of a's three messages; its digest shows the gap and a's
	// answer fills it.
	tn := newTestNet(t, 2, 1, func(_ int, c *Config) { c.Mode = Pull; c.EagerPush = false })
	a, b := tn.nodes[0], tn.nodes[1]
	var ms []*Message
	for i := 0; i < 3; i++ {
		m, err := a.Publish("t", []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	tn.queue = nil
	for _, i := range []int{0, 2} {
		if err := b.Step(a.ID(), EncodeFrame(&Frame{Messages: []*Message{ms[i]}})); err != nil {
			t.Fatal(err)
		}
	}
	d := b.buildDigest()
	if len(d.Entries) != 1 || d.Entries[0].Contiguous != 1 || fmt.Sprint(d.Entries[0].Above) != "[3]" {
		t.Fatalf("digest %+v, want contiguous 1 above [3]", d.Entries)
	}
	b.Tick()
	tn.settle()
	if !b.Has(ms[1].Key()) {
		t.Fatal("gap not repaired by pull")
	}
	if s := a.Stats(); s.PullAnswered != 1 {
		t.Fatalf("a answered %d messages to the pull, want exactly the missing one", s.PullAnswered)
	}
}

func TestGapAbandonedAfterTimeout(t *testing.T) {
	tn := newTestNet(t, 1, 1, func(_ int, c *Config) { c.GapTimeout = 5 })
	e := tn.nodes[0]
	if err := e.Step("p", EncodeFrame(&Frame{Messages: []*Message{{Origin: "o", Seq: 4}}})); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		e.Tick()
	}
	if s := e.Stats(); s.GapsAbandoned != 1 {
		t.Fatalf("GapsAbandoned = %d, want 1 (one run, seqs 1-3)", s.GapsAbandoned)
	}
	if !e.Has(MsgKey{"o", 2}) {
		t.Fatal("abandoned seq should count as seen")
	}
}

type rejectAll struct{}

func (rejectAll) Validate(NodeID, *Message) error { return errors.New("no") }

func TestValidatorDropsAndDoesNotForward(t *testing.T) {
	tn := newTestNet(t, 10, 1, func(i int, c *Config) {
		if i == 1 {
			c.Validator = rejectAll{}
		}
	})
	f := EncodeFrame(&Frame{Messages: []*Message{{Origin: "evil", Seq: 1, Payload: []byte("x")}}})
	if err := tn.nodes[1].Step("n0000", f); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	s := tn.nodes[1].Stats()
	if s.Invalid != 1 || s.Delivered != 0 || s.MessagesSent != 0 {
		t.Fatalf("Invalid=%d Delivered=%d MessagesSent=%d", s.Invalid, s.Delivered, s.MessagesSent)
	}
	if tn.nodes[1].Has(MsgKey{"evil", 1}) {
		t.Fatal("rejected message marked as seen")
	}
}

func TestInboundFloodBounded(t *testing.T) {
	tn := newTestNet(t, 1, 1, func(_ int, c *Config) { c.MaxInboundPerPeerPerRound = 10 })
	e := tn.nodes[0]
	var ms []*Message
	for i := 1; i <= 50; i++ {
		ms = append(ms, &Message{Origin: "o", Seq: uint64(i)})
	}
	if err := e.Step("flooder", EncodeFrame(&Frame{Messages: ms})); err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.Delivered != 10 || s.InboundDropped != 40 {
		t.Fatalf("Delivered=%d InboundDropped=%d, want 10 and 40", s.Delivered, s.InboundDropped)
	}
	// Another peer is not starved by the flooder.
	if err := e.Step("honest", EncodeFrame(&Frame{Messages: []*Message{{Origin: "h", Seq: 1}}})); err != nil {
		t.Fatal(err)
	}
	if e.Stats().Delivered != 11 {
		t.Fatal("honest peer's message dropped")
	}
}

func TestPeerBudgetDrops(t *testing.T) {
	tn := newTestNet(t, 2, 1, func(_ int, c *Config) { c.MaxPeerBytesPerRound = 3000; c.EagerPush = false })
	for i := 0; i < 10; i++ {
		tn.publish(0, "t", make([]byte, 1000))
	}
	tn.queue = nil
	tn.nodes[0].Tick()
	if s := tn.nodes[0].Stats(); s.PeerBudgetDrops == 0 {
		t.Fatal("no budget drops")
	}
	var sent int
	for _, p := range tn.queue {
		sent += len(p.frame)
	}
	if sent > 3000+200 {
		t.Fatalf("sent %d bytes to one peer in a round, budget 3000", sent)
	}
}

func TestMalformedFrameCounted(t *testing.T) {
	tn := newTestNet(t, 1, 1, nil)
	for _, f := range [][]byte{nil, {9}, {1, 1, 200}, {1, 0, 0}} {
		if err := tn.nodes[0].Step("p", f); err == nil {
			t.Fatalf("frame %x accepted", f)
		}
	}
	if s := tn.nodes[0].Stats(); s.DecodeErrors != 4 {
		t.Fatalf("DecodeErrors = %d", s.DecodeErrors)
	}
}

func TestDeterminism(t *testing.T) {
	run := func() string {
		tn := newTestNet(t, 80, 42, nil)
		tn.loss = 0.2
		for i := 0; i < 4; i++ {
			tn.publish(i, "t", []byte{byte(i)})
		}
		for r := 0; r < 15; r++ {
			tn.round()
		}
		var s string
		for _, e := range tn.nodes {
			st := e.Stats()
			s += fmt.Sprintf("%d/%d/%d;", st.BytesSent, st.Delivered, st.Duplicates)
		}
		return s
	}
	if a, b := run(), run(); a != b {
		t.Fatal("two runs with the same seed differ")
	}
}

func TestInvalidConfig(t *testing.T) {
	c := DefaultConfig()
	c.Fanout = 0
	if _, err := New(c); err == nil {
		t.Fatal("config without ID, Sampler, Transport and with Fanout 0 accepted")
	}
}

type recordingPiggy struct{ calls int }

func (p *recordingPiggy) Piggyback(_ NodeID, f []byte, room int) []byte {
	p.calls++
	return AppendRecord(f, RecMembershipFirst, []byte("member-update"))
}

func TestPiggybackRecordsTravel(t *testing.T) {
	pg := &recordingPiggy{}
	var got []Record
	tn := newTestNet(t, 2, 1, func(i int, c *Config) {
		if i == 0 {
			c.Piggyback = pg
		}
	})
	if _, err := tn.nodes[0].Publish("t", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, p := range tn.queue {
		f, err := DecodeFrame(p.frame, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.Records...)
	}
	tn.settle()
	if pg.calls == 0 || len(got) == 0 || string(got[0].Body) != "member-update" {
		t.Fatalf("piggybacked records not carried: calls=%d records=%v", pg.calls, got)
	}
}

// An origin numbering from the clock leaves a gap below its first message at
// every receiver; digests must still list everything held above it, so pull
// answers resend nothing the requester already has.
func TestClockSeqNoRedundantPull(t *testing.T) {
	tn := newTestNet(t, 3, 1, func(_ int, c *Config) { c.FirstSeq = 1_732_500_000_000_000 })
	for i := 0; i < 300; i++ {
		tn.publish(0, "t", []byte{byte(i)})
	}
	for r := 0; r < 5; r++ {
		tn.round()
	}
	var answered uint64
	for i, e := range tn.nodes {
		answered += e.Stats().PullAnswered
		if got := len(tn.apps[i].got); got != 300 {
			t.Fatalf("node %d delivered %d of 300", i, got)
		}
	}
	if answered != 0 {
		t.Fatalf("pull answers sent %d bodies everyone already had", answered)
	}
}

// With KeepFrames a new message is stored aliasing the frame it came in
// (no copy); without it, the engine's copy is independent of the frame.
func TestKeepFrames(t *testing.T) {
	for _, keep := range []bool{false, true} {
		tn := newTestNet(t, 2, 1, func(i int, c *Config) { c.KeepFrames = keep })
		m := &Message{Origin: "x", Seq: 1, Topic: "t", Payload: []byte("payload"), Auth: []byte("sig")}
		frame := EncodeFrame(&Frame{Messages: []*Message{m}})
		if err := tn.nodes[1].Step("x", frame); err != nil {
			t.Fatal(err)
		}
		got := tn.apps[1].got
		if len(got) != 1 || string(got[0].Payload) != "payload" || string(got[0].Auth) != "sig" {
			t.Fatalf("keep=%v: delivered %+v", keep, got)
		}
		if cap(got[0].Payload) != len(got[0].Payload) {
			t.Fatalf("keep=%v: payload capacity %d reaches past it", keep, cap(got[0].Payload))
		}
		p := &got[0].Payload[0]
		inFrame := false
		for i := range frame {
			if &frame[i] == p {
				inFrame = true
			}
		}
		if inFrame != keep {
			t.Fatalf("keep=%v: payload aliases the frame: %v", keep, inFrame)
		}
	}
}

// bufTransport is a netTransport that also lends frame buffers
// (FrameBuffers) and logs every frame sent.
type bufTransport struct {
	*netTransport
	lend   bool
	lent   map[*byte]bool // first byte of each buffer lent
	log    *[][]byte
	calls  int
	bodies int // frames sent that hold a body (larger than bodySize)
	unlent int // of those, built outside a lent buffer
}

const bodySize = 3000

func (b *bufTransport) Send(to NodeID, frame []byte) {
	if len(frame) > bodySize {
		b.bodies++
		if b.lend && !b.lent[&frame[0]] {
			b.unlent++
		}
	}
	*b.log = append(*b.log, append([]byte(nil), frame...))
	b.netTransport.Send(to, frame)
}

type lendingTransport struct{ *bufTransport }

func (b lendingTransport) FrameBuffer(n int) []byte {
	b.calls++
	buf := make([]byte, 1, n+64)
	b.lent[&buf[0]] = true
	return buf[:0]
}

func TestFrameBuffers(t *testing.T) {
	const n, msgs, size = 20, 5, bodySize
	run := func(lend bool) (log [][]byte, bt []*bufTransport) {
		tn := newTestNet(t, n, 7, func(i int, c *Config) {
			b := &bufTransport{netTransport: c.Transport.(*netTransport), lend: lend, lent: map[*byte]bool{}, log: &log}
			bt = append(bt, b)
			if lend {
				c.Transport = lendingTransport{b}
			} else {
				c.Transport = b
			}
		})
		for m := 0; m < msgs; m++ {
			payload := make([]byte, size)
			payload[0] = byte(m)
			if _, err := tn.nodes[0].Publish("t", payload, WithTimestamp(int64(m))); err != nil {
				t.Fatal(err)
			}
			tn.settle()
		}
		for r := 0; r < 20; r++ {
			tn.round()
		}
		for i := 1; i < n; i++ {
			if got := len(tn.apps[i].got); got != msgs {
				t.Fatalf("lend=%v: node %d delivered %d of %d", lend, i, got, msgs)
			}
		}
		return log, bt
	}
	plain, _ := run(false)
	lent, bts := run(true)
	if len(plain) != len(lent) {
		t.Fatalf("lending buffers changed the traffic: %d frames against %d", len(lent), len(plain))
	}
	for i := range plain {
		if string(plain[i]) != string(lent[i]) {
			t.Fatalf("frame %d differs with lent buffers", i)
		}
	}
	calls, bodies := 0, 0
	for i, b := range bts {
		calls += b.calls
		bodies += b.bodies
		if b.unlent > 0 {
			t.Errorf("node %d built %d of its %d body frames outside the lent buffers", i, b.unlent, b.bodies)
		}
	}
	if calls == 0 || bodies < n-1 {
		t.Fatalf("the engine asked for %d frame buffers and sent %d body frames", calls, bodies)
	}
}
