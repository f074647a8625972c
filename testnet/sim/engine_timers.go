package sim

import (
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// EngineTimers runs a gossip engine's two driver timers on a simulated
// node, as p2p's driver does on a real one: gap wants are asked GapAskWait
// after they appear (Engine.GapsWaiting, AskGaps), and unanswered tree
// bodies and IWANTs are resent every TreeAckWait while any await an answer
// (AwaitingAnswers, ResendUnanswered). Call Arm after every Tick, Step and
// Publish of the engine. p2p.DriverWaits gives a profile's intervals.
type EngineTimers struct {
	GapAskWait, TreeAckWait time.Duration
	// Fired, if set, runs after a timer's call into the engine (for a
	// check of what the call changed, as after any other input).
	Fired func()

	gapArmed, ackArmed bool
}

// Arm schedules on ep whichever of e's timers is due and not yet armed.
func (t *EngineTimers) Arm(ep *Endpoint, e *core.Engine) {
	if !t.gapArmed && e.GapsWaiting() {
		t.gapArmed = true
		ep.After(t.GapAskWait, func() {
			t.gapArmed = false
			e.AskGaps()
			t.Arm(ep, e)
			if t.Fired != nil {
				t.Fired()
			}
		})
	}
	if !t.ackArmed && e.AwaitingAnswers() {
		t.ackArmed = true
		ep.After(t.TreeAckWait, func() {
			t.ackArmed = false
			e.ResendUnanswered()
			t.Arm(ep, e)
			if t.Fired != nil {
				t.Fired()
			}
		})
	}
}
