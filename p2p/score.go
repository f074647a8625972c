package p2p

import (
	"math"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
)

// ScoreParams configure the misbehaviour score every peer keeps of the
// peers it hears from, in the spirit of GossipSub v1.1's P4
// (invalid messages) and P7 (behaviour penalty): each offence the engines
// or the adapter attribute to a peer (core.Offence) lowers that peer's
// score by its weight; the score decays back towards 0; a peer whose score
// falls to GraylistThreshold is ignored (its frames are dropped unread),
// disconnected, and refused reconnection for BanDuration.
//
// An honest peer running this code commits none of these offences, apart
// from rare invalid messages at the edge of the replay window (a relay
// whose clock differs from ours), which weigh little.
type ScoreParams struct {
	// Weights by offence (core.Offence); a missing entry weighs 0.
	Weights map[core.Offence]float64
	// StaleMessageWeight is the weight of a message refused only for its
	// timestamp (outside the replay window), which an honest relay can
	// send when clocks differ.
	StaleMessageWeight float64
	// GraylistThreshold is the score at or below which a peer is banned.
	GraylistThreshold float64
	// HalfLife is how long it takes a score to decay halfway back to 0.
	HalfLife time.Duration
	// BanDuration is how long a banned peer stays banned.
	BanDuration time.Duration
	// MaxTracked bounds the peers with a score (least penalised forgotten
	// first), so that a flood of peer IDs cannot grow the table.
	MaxTracked int
}

// DefaultScoreParams: an attacker sending forged accusations is banned at
// its second, one sending invalid signatures or malformed frames at its
// tenth (well within a second of a flood); an honest peer's occasional
// stale message (weight 1) would need a hundred within a few minutes.
func DefaultScoreParams() ScoreParams {
	return ScoreParams{
		Weights: map[core.Offence]float64{
			core.OffenceMalformed:         10,
			core.OffenceInvalidMessage:    10,
			core.OffenceBadSignature:      10,
			core.OffenceForgedAccusation:  50,
			core.OffenceFlood:             5,
			core.OffenceRefutedAccusation: 2,
		},
		StaleMessageWeight: 1,
		GraylistThreshold:  -100,
		HalfLife:           time.Minute,
		BanDuration:        10 * time.Minute,
		MaxTracked:         4096,
	}
}

// scorer keeps the misbehaviour scores. It is safe for concurrent use: the
// driver goroutine penalises, stream handlers ask banned.
type scorer struct {
	params ScoreParams
	now    func() time.Time
	// onBan runs (outside the lock) when a peer becomes banned.
	onBan     func(peer.ID)
	penalties *prometheus.CounterVec // reason
	bans      prometheus.Counter

	mu     sync.Mutex
	scores map[peer.ID]*peerScore
}

type peerScore struct {
	value    float64
	at       time.Time // when value was last decayed
	banUntil time.Time
}

func newScorer(p ScoreParams, now func() time.Time, penalties *prometheus.CounterVec, bans prometheus.Counter) *scorer {
	return &scorer{params: p, now: now, penalties: penalties, bans: bans, scores: make(map[peer.ID]*peerScore)}
}

// decayed returns the score's value at t.
func (s *scorer) decayed(ps *peerScore, t time.Time) float64 {
	if s.params.HalfLife <= 0 || !t.After(ps.at) {
		return ps.value
	}
	return ps.value * math.Exp2(-float64(t.Sub(ps.at))/float64(s.params.HalfLife))
}

// penalize lowers p's score by weight for reason and bans it at the
// threshold. It reports whether p is banned now.
func (s *scorer) penalize(p peer.ID, reason string, weight float64) bool {
	if s.penalties != nil {
		s.penalties.WithLabelValues(reason).Inc()
	}
	if weight <= 0 {
		return s.banned(p)
	}
	t := s.now()
	s.mu.Lock()
	ps := s.scores[p]
	if ps == nil {
		if len(s.scores) >= s.params.MaxTracked {
			s.forgetOne(t)
		}
		ps = &peerScore{at: t}
		s.scores[p] = ps
	}
	ps.value = s.decayed(ps, t) - weight
	ps.at = t
	newBan := false
	if ps.value <= s.params.GraylistThreshold && !t.Before(ps.banUntil) {
		ps.banUntil = t.Add(s.params.BanDuration)
		newBan = true
	}
	banned := t.Before(ps.banUntil)
	s.mu.Unlock()
	if newBan {
		if s.bans != nil {
			s.bans.Inc()
		}
		if s.onBan != nil {
			s.onBan(p)
		}
	}
	return banned
}

// offence penalises p for an engine's offence.
func (s *scorer) offence(p peer.ID, o core.Offence) bool {
	return s.penalize(p, o.String(), s.params.Weights[o])
}

// forgetOne drops the tracked peer with the highest score that is not
// banned (the least penalised), or the oldest ban. Called with mu held.
func (s *scorer) forgetOne(t time.Time) {
	var victim peer.ID
	best := math.Inf(-1)
	for id, ps := range s.scores {
		v := s.decayed(ps, t)
		if t.Before(ps.banUntil) {
			v = s.params.GraylistThreshold - 1 - float64(ps.banUntil.Sub(t))/float64(time.Hour)
		}
		if v > best {
			best, victim = v, id
		}
	}
	delete(s.scores, victim)
}

// banned reports whether p is banned now.
func (s *scorer) banned(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.scores[p]
	return ps != nil && s.now().Before(ps.banUntil)
}

// score returns p's current score (0 for a peer never penalised).
func (s *scorer) score(p peer.ID) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.scores[p]
	if ps == nil {
		return 0
	}
	return s.decayed(ps, s.now())
}
