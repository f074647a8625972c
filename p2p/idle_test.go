package p2p

import (
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// Frames whose bodies are buffered with their length are read with no read
// deadline at all, and none waits for the next frame: a QUIC stream
// allocates a timer for each blocking read under one, and the inbound
// readers used to set two per frame, the first over the wait for the next
// frame's length, which nearly always blocks.
func TestFramesReadWithoutDeadlines(t *testing.T) {
	in, pw, _ := newFakeIn(t)
	fs := in.s.(*fakeStream)
	rem := &remote{}
	go func() {
		for i := 0; i < 50; i++ {
			pw.Write(core.AppendLengthPrefixed(nil, make([]byte, 100+i)))
		}
	}()
	for i := 0; i < 50; i++ {
		f, _, err := in.readFrame(rem)
		if err != nil || len(f) != 100+i {
			t.Fatalf("frame %d: %d bytes, %v", i, len(f), err)
		}
	}
	if d := fs.set(); len(d) != 0 {
		t.Fatalf("%d read deadlines set for 50 small frames, want none", len(d))
	}
	// A body that does not come with its length gets the frame timeout.
	go pw.Write(appendUvarint(nil, 2000))
	done := make(chan error, 1)
	go func() { _, _, err := in.readFrame(rem); done <- err }()
	time.Sleep(50 * time.Millisecond)
	if d := fs.set(); len(d) != 1 {
		t.Fatalf("%d read deadlines set for a body still on its way, want 1", len(d))
	}
	pw.Write(make([]byte, 2000))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The sweep arms the idle deadline only on a stream whose reader has waited
// for a frame since before the cutoff, once; a frame that starts clears it.
func TestIdleSweep(t *testing.T) {
	in, _, _ := newFakeIn(t)
	fs := in.s.(*fakeStream)
	now := time.Now()
	cutoff, deadline := now.Add(-time.Minute), now.Add(15*time.Second)

	in.lastFrame = monoNanos(now.Add(-2 * time.Minute))
	in.armIdle(cutoff, deadline) // the reader is not waiting: inside a frame
	if len(fs.set()) != 0 {
		t.Fatal("armed while the reader was inside a frame")
	}
	in.setWaiting(true)
	in.lastFrame = monoNanos(now.Add(-30 * time.Second))
	in.armIdle(cutoff, deadline) // waiting, but a frame started recently
	if len(fs.set()) != 0 {
		t.Fatal("armed on a stream whose last frame started 30 s ago (idle timeout 1 min)")
	}
	in.lastFrame = monoNanos(now.Add(-2 * time.Minute))
	in.armIdle(cutoff, deadline)
	in.armIdle(cutoff, deadline.Add(time.Minute)) // a second sweep does not push it back
	if d := fs.set(); len(d) != 1 || !d[0].Equal(deadline) {
		t.Fatalf("deadlines set %v, want just %v", d, deadline)
	}
	n := len(fs.deadlines)
	in.frameStarted(true)
	if len(fs.deadlines) != n+1 || !fs.deadlines[n].IsZero() || in.armed {
		t.Fatalf("a frame that started did not clear the idle deadline: %v", fs.deadlines[n:])
	}
	// A replaced stream keeps replace's past deadline.
	in.setWaiting(true)
	in.lastFrame = monoNanos(now.Add(-2 * time.Minute))
	in.replaced.Store(true)
	in.armIdle(cutoff, deadline)
	if last := fs.deadlines[len(fs.deadlines)-1]; !last.Before(now) {
		t.Fatalf("a replaced stream was left with deadline %v", last)
	}
}
