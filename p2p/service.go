package p2p

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/peer"
)

// The service score: how well each member has lately served the gossip
// this peer asked it for (core.ServiceScore). A member may stay in the
// group, answer probes and accept gossip streams without ever reading them
// (testnet/attack's stalling members): it swallows tree bodies, pull
// digests and IWANTs, and the transport notices only once the stream's
// flow-control window is full and writes block. The engine reports what
// it asked and what came back (an IWANT that expired unanswered, a pull
// digest listing missing messages that drew no body by the next round:
// Unserved; a new body: Served), the transport what it saw (a gossip write
// that hit its deadline, or took longer than blockedWrite), and the score
// turns these into a penalty per member in the spirit of GossipSub v1.1's
// behaviour penalty (P7) and mesh-delivery deficit (P3): it grows with
// every failure, decays with a half-life of serviceHalfLife, and is halved
// by every body the member serves. A member whose penalty is above
// serviceThreshold, or whose gossip write is blocked right now, is
// Unserving: the engine passes it over as a tree-push chunk head, as an
// announcement, push or pull target and as an IWANT announcer while
// another member is available. Nothing disconnects it (an overloaded
// honest member also stops reading for a while): gossip is only steered
// around it, and it is chosen again once it serves or its penalty decays.

// Score parameters.
const (
	// serviceHalfLife: a penalty halves in this time without new failures.
	serviceHalfLife = 30 * time.Second
	// serviceThreshold: above it a member is Unserving. One unserved
	// request (penalty 1) makes a member Unserving for one half-life,
	// unless it serves a body first.
	serviceThreshold = 0.5
	// serviceMax caps a penalty, so a member that served nothing for a
	// long time recovers within a few half-lives (or a few bodies served).
	serviceMax = 8
	// servicePeers bounds the members with a penalty remembered; penalties
	// that decayed below serviceForget are forgotten first, and failures of
	// members beyond the bound are counted (ServiceStats.Untracked) but not
	// scored.
	servicePeers  = 4096
	serviceForget = 0.05
)

// Penalties per failure.
const (
	penaltyUnserved     = 1 // a request the engine reports unserved
	penaltySlowWrite    = 1 // a gossip batch that took longer than blockedWrite to write
	penaltyWriteTimeout = 4 // a gossip batch that hit its write deadline
)

// ServiceStats are the service score's counters (Peer.ServiceStats).
type ServiceStats struct {
	Unserved      uint64 // requests the engine reported unserved
	Served        uint64 // new bodies the engine reported served
	SlowWrites    uint64 // gossip batches written after more than blockedWrite (penalized)
	WriteTimeouts uint64 // gossip batches that hit their write deadline (penalized)
	Steered       uint64 // times the engine was told a member is unserving (it chose another if one was available)
	Untracked     uint64 // failures not scored: servicePeers members already had a penalty
	Scored        int    // members whose penalty is above the threshold now
	Tracked       int    // members with a penalty remembered now
	// Engine counts what the engine did with the answers: chunk heads and
	// targets it passed over, chunks with no serving member.
	Engine core.ServiceStats
}

type serviceEntry struct {
	penalty float64   // as of at
	at      time.Time // when penalty was last updated
}

// serviceScores holds the per-member penalties. Safe for concurrent use:
// the engine reports on the driver goroutine, writers on their own.
type serviceScores struct {
	mu    sync.Mutex
	peers map[peer.ID]*serviceEntry
	now   func() time.Time

	unserved, served, slowWrites, writeTimeouts, steered, untracked atomic.Uint64
}

func newServiceScores() *serviceScores {
	return &serviceScores{peers: make(map[peer.ID]*serviceEntry), now: time.Now}
}

// decayed returns e's penalty at now.
func (e *serviceEntry) decayed(now time.Time) float64 {
	d := now.Sub(e.at)
	if d <= 0 {
		return e.penalty
	}
	return e.penalty * math.Exp2(-float64(d)/float64(serviceHalfLife))
}

// penalize adds p to id's penalty.
func (s *serviceScores) penalize(id peer.ID, p float64) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.peers[id]
	if e == nil {
		if len(s.peers) >= servicePeers {
			s.sweep(now)
		}
		if len(s.peers) >= servicePeers {
			s.untracked.Add(1)
			return
		}
		e = &serviceEntry{at: now}
		s.peers[id] = e
	}
	e.penalty = min(e.decayed(now)+p, serviceMax)
	e.at = now
}

// sweep forgets penalties that decayed below serviceForget. Called with mu.
func (s *serviceScores) sweep(now time.Time) {
	for id, e := range s.peers {
		if e.decayed(now) < serviceForget {
			delete(s.peers, id)
		}
	}
}

// served halves id's penalty: it answered with a body.
func (s *serviceScores) servedBy(id peer.ID) {
	s.served.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.peers[id]
	if e == nil {
		return
	}
	now := s.now()
	e.penalty, e.at = e.decayed(now)/2, now
	if e.penalty < serviceForget {
		delete(s.peers, id)
	}
}

// bad reports whether id's penalty is above serviceThreshold.
func (s *serviceScores) bad(id peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.peers[id]
	return e != nil && e.decayed(s.now()) > serviceThreshold
}

// snapshot fills the counters and gauges of st.
func (s *serviceScores) snapshot(st *ServiceStats) {
	st.Unserved, st.Served = s.unserved.Load(), s.served.Load()
	st.SlowWrites, st.WriteTimeouts = s.slowWrites.Load(), s.writeTimeouts.Load()
	st.Steered, st.Untracked = s.steered.Load(), s.untracked.Load()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Tracked = len(s.peers)
	for _, e := range s.peers {
		if e.decayed(now) > serviceThreshold {
			st.Scored++
		}
	}
}

// Unserving implements core.ServiceScore for the transport: id's penalty
// is above the threshold, or a gossip write to it has been blocked for
// longer than blockedWrite (it is not reading now).
func (t *transport) Unserving(id core.NodeID) bool {
	pid := peer.ID(id)
	bad := t.svc.bad(pid)
	if !bad {
		t.mu.Lock()
		r := t.remotes[pid]
		t.mu.Unlock()
		if r != nil {
			wg := r.writing[kindGossip].Load()
			bad = wg != 0 && time.Since(time.Unix(0, wg)) > blockedWrite
		}
	}
	if bad {
		t.svc.steered.Add(1)
	}
	return bad
}

// Unserved implements core.ServiceScore.
func (t *transport) Unserved(id core.NodeID) {
	t.svc.unserved.Add(1)
	t.svc.penalize(peer.ID(id), penaltyUnserved)
}

// Served implements core.ServiceScore.
func (t *transport) Served(id core.NodeID) { t.svc.servedBy(peer.ID(id)) }

// wrote scores a gossip batch written to r that took d (penalized when
// longer than blockedWrite: the member reads slowly or not at all).
func (t *transport) wrote(r *remote, k kind, d time.Duration) {
	if k == kindGossip && d > blockedWrite {
		t.svc.slowWrites.Add(1)
		t.svc.penalize(r.id, penaltySlowWrite)
	}
}

// writeTimedOut scores a gossip batch to r that hit its write deadline.
func (t *transport) writeTimedOut(r *remote, k kind) {
	if k == kindGossip {
		t.svc.writeTimeouts.Add(1)
		t.svc.penalize(r.id, penaltyWriteTimeout)
	}
}

// ServiceStats returns the service score's counters and what the engine
// did with it.
func (p *Peer) ServiceStats() ServiceStats {
	var st ServiceStats
	p.tr.svc.snapshot(&st)
	_ = p.call(context.Background(), func() {
		if m, ok := p.mc.(*nodeMachine); ok {
			st.Engine = m.n.Engine().ServiceStats()
		}
	})
	return st
}
