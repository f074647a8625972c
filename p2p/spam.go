package p2p

import (
	"errors"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"
)

// WithPublishRateLimit bounds how fast any one origin may publish, as this
// peer sees it: a token bucket per origin of perSecond messages a second
// (burst of burst), charged for every new message this peer accepts (the
// first copy, once it verified; duplicates and refused messages cost
// nothing). Every message over the bucket is an offence of its origin
// (reason "flood"), so an origin publishing faster is disconnected and
// refused for a minute after 16 such messages in a minute, like a peer
// sending invalid messages. The signature proves the origin published
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

// maxRateOrigins bounds the origins whose publish rate is tracked. When it
// is reached, origins whose bucket is full again (idle for a while) are
// forgotten; if none is, a new origin is not tracked until one is.
const maxRateOrigins = 4096

// originRates is the per-origin token buckets of WithPublishRateLimit.
type originRates struct {
	mu      sync.Mutex
	buckets map[core.NodeID]*rate.Limiter
}

// over charges one accepted message to origin at now and reports whether
// it was over the origin's rate (limit a second, burst).
func (o *originRates) over(origin core.NodeID, limit rate.Limit, burst int, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buckets[origin]
	if b == nil {
		if len(o.buckets) >= maxRateOrigins {
			for id, l := range o.buckets {
				if l.TokensAt(now) >= float64(burst) {
					delete(o.buckets, id)
				}
			}
			if len(o.buckets) >= maxRateOrigins {
				return false
			}
		}
		if o.buckets == nil {
			o.buckets = make(map[core.NodeID]*rate.Limiter)
		}
		b = rate.NewLimiter(limit, burst)
		o.buckets[origin] = b
	}
	return !b.AllowN(now, 1)
}

// chargeOrigin counts a verified new message against its origin's publish
// rate (WithPublishRateLimit) and penalizes the origin when it is over.
func (p *Peer) chargeOrigin(m *core.Message) {
	if p.s.publishRate <= 0 || m.Origin == p.id {
		return
	}
	if !p.rates.over(m.Origin, rate.Limit(p.s.publishRate), p.s.publishBurst, time.Now()) {
		return
	}
	p.m.penalties.WithLabelValues(core.OffenceFlood.String()).Inc()
	p.countOffence(peer.ID(m.Origin))
}
