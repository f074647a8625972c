package grapevine

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// fakeClock is a settable wall clock for the guard.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func testGuard(t *testing.T, cfg GuardConfig) (*Guard, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	cfg.Now = clk.now
	cfg.AnyOrigin = true
	g, err := newGuard(cfg, "self")
	if err != nil {
		t.Fatal(err)
	}
	return g, clk
}

// TestScoreWeighsAndDecays: offences add their weights; the peer is
// penalized once its score rises above the threshold, and only once for
// the penalty; the score halves every half-life, so sparse honest errors
// never add up to a penalty.
func TestScoreWeighsAndDecays(t *testing.T) {
	var penalized []core.NodeID
	var untils []time.Time
	g, clk := testGuard(t, GuardConfig{OnPenalized: func(id core.NodeID, until time.Time) {
		penalized = append(penalized, id)
		untils = append(untils, until)
	}})
	// Four malformed frames weigh 16: not above the threshold; the fifth is.
	for i := 0; i < 4; i++ {
		g.Penalize("bad", core.OffenceMalformed)
	}
	if g.Penalized("bad") || len(penalized) != 0 {
		t.Fatal("penalized at a score of 16")
	}
	g.Penalize("bad", core.OffenceMalformed)
	if !g.Penalized("bad") || len(penalized) != 1 {
		t.Fatalf("not penalized above the threshold (score %v)", g.Score("bad"))
	}
	if want := clk.t.Add(time.Minute); !untils[0].Equal(want) {
		t.Errorf("penalized until %v, want %v", untils[0], want)
	}
	g.Penalize("bad", core.OffenceMalformed)
	if len(penalized) != 1 {
		t.Fatal("penalized again during its penalty")
	}
	if err := g.Validate("bad", &core.Message{Origin: "o"}); !errors.Is(err, ErrPenalized) {
		t.Fatalf("a penalized peer's message: %v", err)
	}
	clk.t = clk.t.Add(time.Minute)
	if g.Penalized("bad") {
		t.Fatal("still penalized after PenaltyFor")
	}
	if s := g.Score("bad"); s < 11.9 || s > 12.1 {
		t.Fatalf("score %v a half-life after 24, want 12", s)
	}

	// An honest peer's refuted accusation every 10 s (a false suspicion
	// under loss) settles near 1/(1-2^(-1/6)) ≈ 9.2: never penalized.
	for i := 0; i < 100; i++ {
		g.Penalize("honest", core.OffenceRefutedAccusation)
		clk.t = clk.t.Add(10 * time.Second)
	}
	if g.Penalized("honest") || g.Score("honest") > 10 {
		t.Fatalf("an offence every 10 s reached %v", g.Score("honest"))
	}
	// Invalid messages weigh 1: the 17th in a burst penalizes.
	for i := 0; i < 16; i++ {
		g.Penalize("forger", core.OffenceFlood)
	}
	if g.Penalized("forger") {
		t.Fatal("penalized after 16 floods")
	}
	g.Penalize("forger", core.OffenceFlood)
	if !g.Penalized("forger") {
		t.Fatal("not penalized after 17 floods")
	}
	if st := g.Stats(); st.Offences[core.OffenceMalformed] != 6 || st.Score.Penalized != 2 {
		t.Fatalf("stats %+v", st)
	}
	// Penalize is exported: an offence value this code does not know is
	// ignored, not weighed (and does not index out of range).
	g.Penalize("odd", core.Offence(core.NumOffences))
	g.Penalize("odd", 0)
	if g.Score("odd") != 0 {
		t.Fatalf("unknown offences scored %v", g.Score("odd"))
	}
}

// TestScoreTableBounded: the table keeps MaxPeers scores; a new offender
// takes the lowest score's place, never a penalized peer's, and is
// untracked (counted) only when every tracked peer is penalized.
func TestScoreTableBounded(t *testing.T) {
	sc := DefaultScoreConfig()
	sc.MaxPeers = 8
	g, _ := testGuard(t, GuardConfig{Score: sc})
	for i := 0; i < 5; i++ {
		g.Penalize("persistent", core.OffenceMalformed) // penalized
	}
	for i := 0; i < 20; i++ {
		g.Penalize(core.NodeID(fmt.Sprint("once", i)), core.OffenceRefutedAccusation)
	}
	st := g.Stats().Score
	if st.Tracked != 8 || st.Evicted != 13 {
		t.Fatalf("score table %+v", st)
	}
	if !g.Penalized("persistent") {
		t.Fatal("a penalized peer was evicted")
	}
	for i := 0; i < 7*5; i++ {
		g.Penalize(core.NodeID(fmt.Sprint("p", i/5)), core.OffenceMalformed)
	}
	g.Penalize("late", core.OffenceMalformed)
	if st := g.Stats().Score; st.Untracked != 1 || st.Tracked != 8 {
		t.Fatalf("with every tracked peer penalized: %+v", st)
	}
}

// TestGuardReplayWindowEdges: the signed timestamp must lie in
// [now−window, now+skew], both ends included.
func TestGuardReplayWindowEdges(t *testing.T) {
	g, clk := testGuard(t, GuardConfig{ReplayWindow: time.Minute, ClockSkew: 5 * time.Second})
	for _, c := range []struct {
		off  time.Duration
		want error
	}{
		{-time.Minute, nil}, {-time.Minute - time.Nanosecond, ErrStaleMessage},
		{5 * time.Second, nil}, {5*time.Second + time.Nanosecond, ErrFutureMessage}, {0, nil},
	} {
		m := &core.Message{Origin: "o", Seq: 1, Timestamp: clk.t.Add(c.off).UnixNano()}
		if err := g.Validate("relay", m); !errors.Is(err, c.want) {
			t.Errorf("offset %v: got %v, want %v", c.off, err, c.want)
		}
	}
	if st := g.Stats(); st.Invalid != 2 || st.Stale != 2 || st.Offences[core.OffenceInvalidMessage] != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// TestGuardAdmitChargesOnlyTheOrigin: a message the closed group's Admit
// refuses is an offence of its origin sending it, not of a relay.
func TestGuardAdmitChargesOnlyTheOrigin(t *testing.T) {
	refuse := errors.New("not a publisher")
	g, _ := testGuard(t, GuardConfig{Admit: func(*core.Message) error { return refuse }})
	if err := g.Validate("relay", &core.Message{Origin: "o"}); !errors.Is(err, refuse) {
		t.Fatal(err)
	}
	if g.Score("relay") != 0 {
		t.Fatal("a relay charged for forwarding")
	}
	_ = g.Validate("o", &core.Message{Origin: "o"})
	if g.Score("o") != 1 {
		t.Fatalf("the origin's own message: score %v, want 1", g.Score("o"))
	}
}

// TestPublishRateCharged: each message taken in is charged to its
// origin; over the bucket, the origin (never the relay) commits a flood.
func TestPublishRateCharged(t *testing.T) {
	g, clk := testGuard(t, GuardConfig{PublishRate: 10, PublishBurst: 5})
	for i := 0; i < 8; i++ {
		if !g.OriginKnown("relay", &core.Message{Origin: "spammer", Seq: uint64(i)}) {
			t.Fatal("refused")
		}
	}
	if g.Score("spammer") != 3 || g.Score("relay") != 0 {
		t.Fatalf("scores: spammer %v (want 3), relay %v", g.Score("spammer"), g.Score("relay"))
	}
	g.OriginKnown("relay", &core.Message{Origin: "self", Seq: 1}) // own messages are not charged
	clk.t = clk.t.Add(time.Second)                                // 10 tokens back, capped at 5
	for i := 0; i < 5; i++ {
		g.OriginKnown("relay", &core.Message{Origin: "spammer", Seq: uint64(100 + i)})
	}
	if st := g.Stats(); st.Offences[core.OffenceFlood] != 3 {
		t.Fatalf("floods %d after the bucket refilled", st.Offences[core.OffenceFlood])
	}
}

// TestPublishRatesBounded: the per-origin buckets stay at maxRateOrigins;
// idle origins (full buckets) make room for new ones.
func TestPublishRatesBounded(t *testing.T) {
	var o publishRates
	now := time.Unix(1000, 0)
	for i := 0; i < maxRateOrigins+100; i++ {
		o.over(core.NodeID(fmt.Sprint(i)), 1, 1, now)
	}
	if len(o.buckets) != maxRateOrigins || o.untracked != 100 {
		t.Fatalf("%d buckets, %d untracked", len(o.buckets), o.untracked)
	}
	later := now.Add(2 * time.Second) // every bucket full again
	o.over("new", 1, 1, later)
	if len(o.buckets) != 1 {
		t.Fatalf("%d buckets after the idle ones were forgotten", len(o.buckets))
	}
	if !o.over("new", 1, 1, later) {
		t.Fatal("second message in the same instant not over a burst of 1")
	}
}

// TestGuardOwnsTheHooks: a Node with a guard refuses a Validator or
// Penalizer of its own, with a clear error.
func TestGuardOwnsTheHooks(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ID, cfg.Transport = "a", memTransport{net: &memNet{}}
	cfg.Guard = &GuardConfig{Now: time.Now}
	cfg.Gossip.Penalizer = core.PenalizerFunc(func(core.NodeID, core.Offence) {})
	if _, err := NewNode(cfg); err == nil {
		t.Fatal("a Penalizer beside the guard accepted")
	}
	cfg.Gossip.Penalizer = nil
	nd, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if nd.Guard() == nil || nd.Engine().Config().Validator != nd.Guard() {
		t.Fatal("the guard is not the engine's validator")
	}
	cfg.Guard = &GuardConfig{}
	if _, err := NewNode(cfg); err == nil {
		t.Fatal("a guard without a clock accepted")
	}
}
