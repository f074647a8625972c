package p2p

import "time"

// The idle timeout of inbound streams (InboundLimits.IdleTimeout).
//
// A stream on which no frame starts for IdleTimeout is reset: a peer must
// not hold a reader goroutine and a stream's state with streams it never
// uses. A read deadline set before every frame's length would do it, but a
// QUIC stream read with a deadline allocates a timer each time it blocks,
// and an inbound stream blocks before nearly every frame: at N = 50 those
// timers were an eighth of the bytes allocated while messages flowed
// (bench -heapprofile, window allocations). So the reader sets no deadline
// while it waits for a frame, and the driver sweeps now and then
// (idleSweepEvery): a stream whose reader has waited since IdleTimeout ago
// gets a deadline a sweep interval ahead. A frame that starts meanwhile
// clears it; otherwise the read ends and the stream is reset as idle, 1.25
// to 1.5 times IdleTimeout after its last frame started.

// idleSweepEvery is how often the sweep runs, and how far ahead it sets
// the deadline.
func idleSweepEvery(idle time.Duration) time.Duration { return idle / 4 }

// setWaiting notes that the reader waits for the next frame's length
// (reader goroutine).
func (in *inStream) setWaiting(w bool) {
	in.mu.Lock()
	in.waiting = w
	in.mu.Unlock()
}

// frameStarted notes, after the length read, that a frame started (ok) and
// clears a deadline the sweep armed meanwhile (reader goroutine).
func (in *inStream) frameStarted(ok bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.waiting = false
	if !ok {
		return
	}
	in.lastFrame = monoNanos(time.Now())
	if in.armed {
		in.armed = false
		if in.deadline(time.Time{}) != nil {
			// Replaced meanwhile: restore replace's past deadline, so
			// the reader stops at its next read.
			in.s.SetReadDeadline(time.Unix(1, 0))
		}
	}
}

// armIdle sets the idle deadline if the reader has waited for a frame since
// before cutoff.
func (in *inStream) armIdle(cutoff, deadline time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.armed || !in.waiting || in.lastFrame >= monoNanos(cutoff) {
		return
	}
	in.armed = true
	if in.deadline(deadline) != nil {
		// Replaced meanwhile: keep replace's past deadline.
		in.s.SetReadDeadline(time.Unix(1, 0))
	}
}

// sweepIdleInbound arms the idle deadline of the inbound streams that have
// waited for a frame longer than the idle timeout (driver goroutine).
func (t *transport) sweepIdleInbound(now time.Time) {
	idle := t.p.s.inbound.IdleTimeout
	if idle <= 0 {
		return
	}
	cutoff, deadline := now.Add(-idle), now.Add(idleSweepEvery(idle))
	t.streamsMu.Lock()
	defer t.streamsMu.Unlock()
	for _, in := range t.inbound {
		in.armIdle(cutoff, deadline)
	}
}
