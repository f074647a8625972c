package p2p

import (
	"errors"
)

// WithPublishRateLimit bounds how fast any one origin may publish, as this
// peer sees it: a token bucket per origin of perSecond messages a second
// (burst of burst), charged for every new message this peer accepts (the
// first copy, once it verified; duplicates and refused messages cost
// nothing). Every message over the bucket is an offence of its origin
// (reason "flood", weight 1 in the misbehaviour score), so an origin
// publishing faster is disconnected and refused for a minute after 17 such
// messages within seconds, like a peer sending invalid messages (the
// Node's guard enforces it: grapevine.GuardConfig.PublishRate). The signature proves the origin published
// each of them, so the offence is the origin's, never a relay's; nobody
// else can make an origin exceed its rate (a replayed message is a
// duplicate or outside the replay window).
//
// The messages over the rate are still delivered: every member receives
// the same messages, so dropping some would make members disagree about
// what was published; the penalty stops the spammer injecting more.
// Default: 200 messages a second with bursts of 1,000
// (defaultPublishRate, defaultPublishBurst). An application whose members
// publish faster sets it a few times above its fastest honest publisher's
// rate; 0 turns it off. Every member of a group should use the same limit.
func WithPublishRateLimit(perSecond float64, burst int) Option {
	return func(s *settings) error {
		if perSecond < 0 || (perSecond > 0 && burst < 1) {
			return errors.New("publish rate limit must not be negative, and its burst at least 1")
		}
		s.publishRate, s.publishBurst = perSecond, burst
		return nil
	}
}

// The default publish rate limit (see WithPublishRateLimit and the
// settings' defaults in options.go).
const (
	defaultPublishRate  = 200
	defaultPublishBurst = 1000
)
