package p2p

import (
	"errors"
	"time"

	"github.com/grapevine-p2p/grapevine"
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/libp2p/go-libp2p/core/peer"
)

// guardConfig is the guard the peer's Node runs (grapevine.GuardConfig):
// the replay window (WithReplayWindow), the origin's signature for this
// group, the closed group's publish role, the origin rule (origins.go), the
// publish rate limit (WithPublishRateLimit) and the misbehaviour score, on
// the wall clock. Its hooks count and log on the driver goroutine.
func (p *Peer) guardConfig() *grapevine.GuardConfig {
	g := GuardProfile(p.s.group)
	g.ReplayWindow, g.ClockSkew = p.s.replayWindow, p.s.clockSkew
	g.PublishRate, g.PublishBurst = p.s.publishRate, p.s.publishBurst
	g.AnyOrigin = p.s.noOriginCheck
	if p.s.noVerify {
		g.Verify, g.ReplayWindow = nil, 0
	}
	if p.auth != nil {
		g.Admit = p.auth.validate
	}
	g.OnOffence = func(_ core.NodeID, o core.Offence) {
		p.m.penalties.WithLabelValues(o.String()).Inc()
	}
	g.OnRefused = func(from core.NodeID, m *core.Message, err error) {
		if errors.Is(err, grapevine.ErrPenalized) {
			// The rest of a penalized peer's frames already read: dropped
			// without the signature check.
			p.inbound(inPenalized, kindGossip)
			return
		}
		p.m.invalid.Inc()
		p.ctr.invalid.Add(1)
		p.warn("invalid_message", "dropping message that fails verification", "from", ShortID(from), "origin", ShortID(m.Origin), "seq", m.Seq, "err", err)
	}
	g.OnPenalized = func(id core.NodeID, until time.Time) { p.penalized(peer.ID(id), until) }
	return &g
}

// GuardProfile returns the guard a p2p peer of group runs by default
// (without its hooks): p2p.VerifyMessage for the group, a replay window of
// 2 minutes with 30 s of clock skew, a publish rate limit of 200 messages a
// second per origin with bursts of 1,000, the default misbehaviour score,
// on the wall clock. The simulator's attack suite (testnet/attack) runs the
// same guard on its virtual clock.
func GuardProfile(group string) grapevine.GuardConfig {
	return grapevine.GuardConfig{
		Now:          time.Now,
		Verify:       func(m *core.Message) error { return VerifyMessage(group, m) },
		ReplayWindow: defaultReplayWindow, ClockSkew: defaultClockSkew,
		PublishRate: defaultPublishRate, PublishBurst: defaultPublishBurst,
		Score: grapevine.DefaultScoreConfig(),
	}
}

// penalized disconnects id, which the guard has just penalized until
// until: the transport resets its streams and refuses its connections
// until then (driver goroutine).
func (p *Peer) penalized(id peer.ID, until time.Time) {
	p.tr.penalize(id, until)
	p.warn("peer_penalized", "disconnecting a peer whose messages or records fail verification",
		"peer", ShortID(core.NodeID(id)), "for", time.Until(until).Round(time.Second).String())
	p.wg.Add(1) // the driver's own count is held: Close is not waiting on zero
	go func() {
		defer p.wg.Done()
		p.host.Network().ClosePeer(id)
	}()
}

// CoverReplayWindow raises c.SeenTTL so that seen-state outlives a replay
// window of window and skew at ticks of tick: a message admitted by its
// timestamp is then never taken for a new one.
func CoverReplayWindow(c *core.Config, window, skew, tick time.Duration) {
	if tick > 0 {
		c.SeenTTL = max(c.SeenTTL, int((window+skew+tick-1)/tick)+1)
	}
}

// MembershipVerifier returns the verifier a Peer of group checks membership
// records with (MembershipSigner's signatures), for tools that run the
// protocol without a Peer, such as the simulator's attack suite.
func MembershipVerifier(group string) membership.Verifier { return memberVerifier(group) }
