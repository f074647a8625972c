package grapevine

import (
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"golang.org/x/time/rate"
)

// maxRateOrigins bounds the origins whose publish rate is tracked
// (GuardConfig.PublishRate). When it is reached, origins whose bucket is
// full again (idle for a while) are forgotten; if none is, a new origin is
// not tracked until one is. Origins are members whose messages verified, so
// a member list of more than 4,096 publishing at once is needed to fill it.
const maxRateOrigins = 4096

// publishRates is the per-origin token buckets of the publish rate limit.
type publishRates struct {
	buckets   map[core.NodeID]*rate.Limiter
	untracked uint64 // messages of origins not tracked: the table was full of busy origins
}

// over charges one accepted message to origin at now and reports whether
// it was over the origin's rate (perSecond, burst).
func (o *publishRates) over(origin core.NodeID, perSecond float64, burst int, now time.Time) bool {
	b := o.buckets[origin]
	if b == nil {
		if len(o.buckets) >= maxRateOrigins {
			for id, l := range o.buckets {
				if l.TokensAt(now) >= float64(burst) {
					delete(o.buckets, id)
				}
			}
			if len(o.buckets) >= maxRateOrigins {
				o.untracked++
				return false
			}
		}
		if o.buckets == nil {
			o.buckets = make(map[core.NodeID]*rate.Limiter)
		}
		b = rate.NewLimiter(rate.Limit(perSecond), burst)
		o.buckets[origin] = b
	}
	return !b.AllowN(now, 1)
}
