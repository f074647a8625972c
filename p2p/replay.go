package p2p

import (
	"time"

	"github.com/grapevine-p2p/grapevine"
)

// Errors from the replay window (WithReplayWindow), checked by the Node's
// guard (grapevine.GuardConfig.ReplayWindow).
var (
	ErrStaleMessage  = grapevine.ErrStaleMessage
	ErrFutureMessage = grapevine.ErrFutureMessage
)

// The default replay window (WithReplayWindow). GossipSub keeps its seen
// cache for 2 minutes; messages older than that are not repaired by any
// member's store (30 s) anyway. Hosts synchronised by NTP are within
// milliseconds of each other; 30 s of skew also admits a laptop whose
// clock drifted for a few weeks.
const (
	defaultReplayWindow = 2 * time.Minute
	defaultClockSkew    = 30 * time.Second
)
