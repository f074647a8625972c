package p2p

import (
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestScorer: offences lower a peer's score by their weights; at the
// threshold the peer is banned once (onBan runs once) for BanDuration; the
// score decays by half per HalfLife; penalties are counted by reason; the
// table stays within MaxTracked, forgetting the least penalised first.
func TestScorer(t *testing.T) {
	now := time.Unix(1000, 0)
	pen := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "p"}, []string{"reason"})
	bans := prometheus.NewCounter(prometheus.CounterOpts{Name: "b"})
	params := DefaultScoreParams()
	params.MaxTracked = 3
	s := newScorer(params, func() time.Time { return now }, pen, bans)
	var banned []peer.ID
	s.onBan = func(p peer.ID) { banned = append(banned, p) }

	mallory, alice := peer.ID("mallory"), peer.ID("alice")
	if s.offence(mallory, core.OffenceForgedAccusation) {
		t.Fatal("banned after one forged accusation")
	}
	if !s.offence(mallory, core.OffenceForgedAccusation) || !s.banned(mallory) {
		t.Fatal("not banned after two forged accusations")
	}
	s.offence(mallory, core.OffenceMalformed)
	if len(banned) != 1 || banned[0] != mallory {
		t.Fatalf("onBan calls %v, want mallory once", banned)
	}
	if got := counterValue(pen.WithLabelValues("forged_accusation")); got != 2 {
		t.Fatalf("forged_accusation counted %v", got)
	}
	if counterValue(bans) != 1 {
		t.Fatal("ban not counted")
	}

	// Decay: half per minute.
	s.penalize(alice, "stale_message", 40)
	now = now.Add(time.Minute)
	if got := s.score(alice); got < -20.01 || got > -19.99 {
		t.Fatalf("score after a half-life %v, want -20", got)
	}
	// The ban ends after BanDuration.
	now = now.Add(params.BanDuration)
	if s.banned(mallory) {
		t.Fatal("still banned after BanDuration")
	}

	// Bounded table: a flood of peer IDs forgets the least penalised.
	for i := 0; i < 100; i++ {
		s.penalize(peer.ID(rune('a'+i%26))+peer.ID(rune('A'+i/26)), "flood", 1)
	}
	if len(s.scores) > params.MaxTracked {
		t.Fatalf("%d peers tracked, bound %d", len(s.scores), params.MaxTracked)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
