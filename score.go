package grapevine

import (
	"math"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// Misbehaviour scores, in the spirit of GossipSub v1.1's P4 (invalid
// messages) and P7 (behaviour penalty): every offence the layers attribute
// to a peer adds its weight to the peer's score, the score decays
// exponentially, and a peer whose score rises above the threshold is
// penalized: its frames are dropped unread and the adapter disconnects and
// refuses it for PenaltyFor. Unlike GossipSub's score, there is no positive
// part: a peer cannot earn credit to spend on offences later.
//
// The weights follow what an offence proves. An honest peer running this
// code never sends a frame that does not decode, a record whose signature
// does not verify, or an accusation at an incarnation its subject never
// signed: these weigh 4, so a peer that sends them is penalized at the
// fifth. A refuted accusation, a message of an origin the sender did not
// know, or a flood can also come from an honest peer that is behind, or
// that relays what it took in on another's word: these weigh 1, so it
// takes more than 16 in about a minute.

// ScoreConfig configures misbehaviour scores. Start from DefaultScoreConfig.
type ScoreConfig struct {
	// Weights is what one offence of each kind adds to its peer's score
	// (indexed by core.Offence).
	Weights [core.NumOffences]float64
	// Threshold: a peer whose score rises above it is penalized.
	Threshold float64
	// HalfLife: a score halves every HalfLife without offences, so a peer
	// that erred once is forgotten within minutes.
	HalfLife time.Duration
	// PenaltyFor is how long a penalized peer is ignored and refused.
	PenaltyFor time.Duration
	// MaxPeers bounds the peers scored at once (see scores.add).
	MaxPeers int
}

// DefaultScoreConfig returns the weights above, a threshold of 16, a
// half-life and a penalty of a minute, and room for 4,096 peers.
func DefaultScoreConfig() ScoreConfig {
	c := ScoreConfig{Threshold: 16, HalfLife: time.Minute, PenaltyFor: time.Minute, MaxPeers: 4096}
	for o := range c.Weights {
		c.Weights[o] = 1
	}
	c.Weights[core.OffenceMalformed] = 4
	c.Weights[core.OffenceBadSignature] = 4
	c.Weights[core.OffenceForgedAccusation] = 4
	return c
}

// ScoreStats counts the score table.
type ScoreStats struct {
	Tracked   int    // peers with a score now
	Penalized uint64 // penalties given (a peer penalized twice counts twice)
	Evicted   uint64 // scores forgotten to make room (the lowest first, never a penalized peer's)
	Untracked uint64 // offences not scored: the table was full of penalized peers
}

// peerScore is one peer's score as of at.
type peerScore struct {
	score float64
	at    time.Time
	until time.Time // penalized until then
}

// scores is the table of peers' scores. It is a pure data structure: time
// is passed in.
type scores struct {
	cfg   ScoreConfig
	peers map[core.NodeID]*peerScore
	stats ScoreStats
}

func newScores(cfg ScoreConfig) scores {
	return scores{cfg: cfg, peers: make(map[core.NodeID]*peerScore)}
}

// decayed returns s's score at now.
func (t *scores) decayed(s *peerScore, now time.Time) float64 {
	dt := now.Sub(s.at)
	if dt <= 0 || t.cfg.HalfLife <= 0 {
		return s.score
	}
	return s.score * math.Exp2(-float64(dt)/float64(t.cfg.HalfLife))
}

// score returns id's score at now (0 for a peer without one).
func (t *scores) score(id core.NodeID, now time.Time) float64 {
	if s := t.peers[id]; s != nil {
		return t.decayed(s, now)
	}
	return 0
}

// penalized reports whether id is penalized at now.
func (t *scores) penalized(id core.NodeID, now time.Time) bool {
	s := t.peers[id]
	return s != nil && now.Before(s.until)
}

// add charges one offence o of id at now and reports whether that made id
// penalized (it was not before), and until when. When the table is full,
// the lowest score that is not a penalized peer's is forgotten to make
// room: a peer filling the table with peers that erred once cannot shield
// a persistent offender, whose score is higher.
func (t *scores) add(id core.NodeID, o core.Offence, now time.Time) (bool, time.Time) {
	s := t.peers[id]
	if s == nil {
		if len(t.peers) >= max(t.cfg.MaxPeers, 1) && !t.evictLowest(now) {
			t.stats.Untracked++
			return false, time.Time{}
		}
		s = &peerScore{at: now}
		t.peers[id] = s
	}
	s.score = t.decayed(s, now) + t.cfg.Weights[o]
	s.at = now
	if s.score <= t.cfg.Threshold || now.Before(s.until) {
		return false, time.Time{}
	}
	s.until = now.Add(t.cfg.PenaltyFor)
	t.stats.Penalized++
	return true, s.until
}

// evictLowest forgets the lowest score of a peer not penalized at now;
// false if every peer is penalized.
func (t *scores) evictLowest(now time.Time) bool {
	var low core.NodeID
	lowScore := math.Inf(1)
	for id, s := range t.peers {
		if now.Before(s.until) {
			continue
		}
		if v := t.decayed(s, now); v < lowScore || (v == lowScore && id < low) {
			low, lowScore = id, v
		}
	}
	if math.IsInf(lowScore, 1) {
		return false
	}
	delete(t.peers, low)
	t.stats.Evicted++
	return true
}

func (t *scores) statsNow() ScoreStats {
	st := t.stats
	st.Tracked = len(t.peers)
	return st
}
