package grapevine

import (
	"errors"
	"fmt"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
)

// The guard is what a Node believes of the gossip it hears when any peer may
// be hostile (docs/SECURITY.md): the same code in native peers, browser tabs
// and the simulator's attack suite (testnet/attack). It is the gossip
// engine's Validator and OriginGate and both layers' Penalizer:
//
//   - A message is taken in only if its origin's signed timestamp lies in
//     the replay window and its signature verifies (Verify, e.g.
//     p2p.VerifyMessage for the group), and the closed group's Admit, if
//     any, admits it.
//   - Then only once its origin is a member this node knows, in any state,
//     or one the sender's own state lists as departed (origins.go in p2p
//     explains why); until then the engine holds it and the sender is asked
//     for its membership state.
//   - Each new message taken in is charged to its origin's publish rate
//     (publish_rate.go); over it, the origin commits a flood offence.
//   - Every offence the layers attribute to a peer goes into its
//     misbehaviour score (score.go); above the threshold the peer is
//     penalized: its messages are dropped before their signature check, and
//     the adapter hears of it (OnPenalized) to disconnect and refuse it.

// Errors of the guard's checks.
var (
	ErrPenalized     = errors.New("grapevine: sender is penalized for misbehaviour")
	ErrStaleMessage  = errors.New("message timestamp is older than the replay window")
	ErrFutureMessage = errors.New("message timestamp is ahead of this peer's clock by more than the allowed skew")
)

// GuardConfig configures a Node's guard (Config.Guard).
type GuardConfig struct {
	// Now is the wall clock: origins' signed timestamps are compared with
	// it and scores decay by it. Required. The guard is still a pure state
	// machine: the simulator passes its virtual time.
	Now func() time.Time
	// Verify checks a message's origin signature (p2p.VerifyMessage for the
	// group). Nil: signatures are not checked (trusted networks, tests).
	Verify func(m *core.Message) error
	// ReplayWindow and ClockSkew: a message whose signed timestamp is more
	// than ReplayWindow before or more than ClockSkew after Now is refused.
	// The engine's SeenTTL must cover ReplayWindow+ClockSkew, so that a
	// message admitted by its timestamp is never taken for a new one. Zero
	// ReplayWindow: no timestamp check.
	ReplayWindow, ClockSkew time.Duration
	// Admit, if set, vets a message whose signature verified (a closed
	// group's publish role). A refusal is an offence only of the origin
	// sending its own message: an honest relay may have forwarded it just
	// before the origin's credential lapsed.
	Admit func(m *core.Message) error
	// AnyOrigin takes in messages of origins that are not members (tests
	// of the other checks).
	AnyOrigin bool
	// PublishRate and PublishBurst bound how fast one origin may publish,
	// as this node sees it: a token bucket per origin, charged for each new
	// message taken in; every message over it is a flood offence of its
	// origin (its signature proves it published it, so no relay is ever
	// charged). The messages over the rate are still delivered, so that
	// members agree on what was published. Zero PublishRate: no limit.
	PublishRate  float64
	PublishBurst int
	// Score weighs offences (DefaultScoreConfig when zero).
	Score ScoreConfig
	// OnOffence, if set, hears every offence counted against a peer
	// (metrics by reason).
	OnOffence func(from core.NodeID, o core.Offence)
	// OnRefused, if set, hears every message the guard refused and why
	// (ErrPenalized for a penalized sender's, dropped unchecked).
	OnRefused func(from core.NodeID, m *core.Message, err error)
	// OnPenalized, if set, hears a peer whose score rose above the
	// threshold, and until when it is penalized: the adapter disconnects
	// and refuses it.
	OnPenalized func(id core.NodeID, until time.Time)
}

// GuardStats counts what the guard refused and charged.
type GuardStats struct {
	Refused  uint64 // messages of penalized senders, dropped unchecked
	Invalid  uint64 // messages failing the timestamp, signature or admission check
	Stale    uint64 // of those, outside the replay window (either side)
	Offences [core.NumOffences]uint64
	// UnprovenExpiries: expiries of messages held for their unknown
	// origin, as the engine reports them (at most one per sender and
	// origin in two holds, however many of the pair's messages expired),
	// while the sender's state had not come back whole: dropped, not
	// charged (see Penalize).
	UnprovenExpiries uint64
	// PublishUntracked: messages of origins whose publish rate was not
	// tracked (the table of busy origins was full).
	PublishUntracked uint64
	Score            ScoreStats
}

// Guard is a Node's guard (see above). It is not safe for concurrent use:
// it runs inside the Node's single thread.
type Guard struct {
	cfg       GuardConfig
	self      core.NodeID
	ml        *membership.Memberlist
	holdTicks int
	scores    scores
	rates     publishRates
	stats     GuardStats
}

func newGuard(cfg GuardConfig, self core.NodeID) (*Guard, error) {
	if cfg.Now == nil {
		return nil, errors.New("grapevine: GuardConfig.Now is required")
	}
	if cfg.PublishRate < 0 || (cfg.PublishRate > 0 && cfg.PublishBurst < 1) {
		return nil, errors.New("grapevine: the publish rate must not be negative, and its burst at least 1")
	}
	if cfg.Score.Threshold == 0 {
		cfg.Score = DefaultScoreConfig()
	}
	return &Guard{cfg: cfg, self: self, scores: newScores(cfg.Score)}, nil
}

// Validate implements core.Validator: the replay window, the origin's
// signature and the closed group's admission, unless the sender is
// penalized (its messages are then dropped before any check).
func (g *Guard) Validate(from core.NodeID, m *core.Message) error {
	now := g.cfg.Now()
	if g.scores.penalized(from, now) {
		g.stats.Refused++
		g.refused(from, m, ErrPenalized)
		return ErrPenalized
	}
	err := g.checkTimestamp(m.Timestamp, now)
	if err != nil {
		g.stats.Stale++
	}
	if err == nil && g.cfg.Verify != nil {
		err = g.cfg.Verify(m)
	}
	offence := err != nil
	if err == nil && g.cfg.Admit != nil {
		err = g.cfg.Admit(m)
		offence = err != nil && from == m.Origin
	}
	if err == nil {
		return nil
	}
	g.stats.Invalid++
	g.refused(from, m, err)
	if offence {
		g.offence(from, core.OffenceInvalidMessage, now)
	}
	return err
}

// checkTimestamp admits a signed timestamp ts (Unix ns) in
// [now−ReplayWindow, now+ClockSkew]. It is covered by the origin's
// signature (core.Message.ID), so a replayer cannot refresh it.
func (g *Guard) checkTimestamp(ts int64, now time.Time) error {
	if g.cfg.ReplayWindow <= 0 {
		return nil
	}
	t := time.Unix(0, ts)
	switch {
	case t.Before(now.Add(-g.cfg.ReplayWindow)):
		return fmt.Errorf("%w (%s old)", ErrStaleMessage, now.Sub(t).Round(time.Millisecond))
	case t.After(now.Add(g.cfg.ClockSkew)):
		return fmt.Errorf("%w (%s ahead)", ErrFutureMessage, t.Sub(now).Round(time.Millisecond))
	}
	return nil
}

// OriginKnown implements core.OriginGate: whether the origin of m, a
// message that verified, is a member this node knows (or one the sender
// vouched for as departed). If not, the engine holds m and asks again every
// tick, and the sender is asked for its state, so that the origin is learned
// if the sender knows it. When it says yes, the engine takes m in: m is
// charged to its origin's publish rate here, once per message.
func (g *Guard) OriginKnown(from core.NodeID, m *core.Message) bool {
	if !g.cfg.AnyOrigin && g.ml != nil {
		if _, known := g.ml.Member(m.Origin); !known && !g.ml.Vouched(from, m.Origin) {
			g.ml.AskState(from, max(1, g.holdTicks/2))
			return false
		}
	}
	if g.cfg.PublishRate > 0 && m.Origin != g.self {
		now := g.cfg.Now()
		if g.rates.over(m.Origin, g.cfg.PublishRate, g.cfg.PublishBurst, now) {
			g.offence(m.Origin, core.OffenceFlood, now)
		}
	}
	return true
}

// Penalize implements core.Penalizer for both layers (and the Node's
// decoding). A rejected message was charged by Validate already. A held
// message of an unknown origin that expired proves something only if the
// sender's whole state came back during the hold without the origin in it
// (it forwarded a message of an origin it did not know); otherwise it is
// dropped uncharged (the sender was slow, or not asked under the rate
// limit).
func (g *Guard) Penalize(from core.NodeID, o core.Offence) {
	switch o {
	case core.OffenceInvalidMessage:
		return
	case core.OffenceUnknownOrigin:
		if g.ml == nil || !g.ml.StateSince(from, g.holdTicks) {
			g.stats.UnprovenExpiries++
			return
		}
	}
	g.offence(from, o, g.cfg.Now())
}

// offence charges one offence o to id.
func (g *Guard) offence(id core.NodeID, o core.Offence, now time.Time) {
	if o == 0 || int(o) >= core.NumOffences {
		return // not an offence this code knows: nothing to weigh it by
	}
	g.stats.Offences[o]++
	if g.cfg.OnOffence != nil {
		g.cfg.OnOffence(id, o)
	}
	if ok, until := g.scores.add(id, o, now); ok && g.cfg.OnPenalized != nil {
		g.cfg.OnPenalized(id, until)
	}
}

func (g *Guard) refused(from core.NodeID, m *core.Message, err error) {
	if g.cfg.OnRefused != nil {
		g.cfg.OnRefused(from, m, err)
	}
}

// Penalized reports whether id is penalized now.
func (g *Guard) Penalized(id core.NodeID) bool { return g.scores.penalized(id, g.cfg.Now()) }

// Score returns id's misbehaviour score now (0: none).
func (g *Guard) Score(id core.NodeID) float64 { return g.scores.score(id, g.cfg.Now()) }

// Stats returns the guard's counters.
func (g *Guard) Stats() GuardStats {
	st := g.stats
	st.Score = g.scores.statsNow()
	st.PublishUntracked = g.rates.untracked
	return st
}
