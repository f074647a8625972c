package p2p

import (
	"errors"
	"fmt"
	"time"
)

// Errors from the replay window (WithReplayWindow).
var (
	ErrStaleMessage  = errors.New("message timestamp is older than the replay window")
	ErrFutureMessage = errors.New("message timestamp is ahead of this peer's clock by more than the allowed skew")
)

// checkTimestamp admits a message whose origin signed timestamp ts (Unix
// ns) lies in [now−window, now+skew]. The timestamp is covered by the
// origin's signature (core.Message.ID), so a replayer cannot refresh it.
func (p *Peer) checkTimestamp(ts int64, now time.Time) error {
	t := time.Unix(0, ts)
	switch {
	case t.Before(now.Add(-p.s.replayWindow)):
		return fmt.Errorf("%w (%s old)", ErrStaleMessage, now.Sub(t).Round(time.Millisecond))
	case t.After(now.Add(p.s.clockSkew)):
		return fmt.Errorf("%w (%s ahead)", ErrFutureMessage, t.Sub(now).Round(time.Millisecond))
	}
	return nil
}
