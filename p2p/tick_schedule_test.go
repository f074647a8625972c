package p2p

import (
	"context"
	"testing"
	"time"
)

// TestTickSkipping: an idle pair of peers runs its ticks with far fewer
// wake-ups than ticks when the driver sleeps through quiet ones, one
// wake-up a tick without it, and delivers either way.
func TestTickSkipping(t *testing.T) {
	for _, skip := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[skip], func(t *testing.T) {
			peers := startPeers(t, 2, false, WithTickSkipping(skip))
			a, b := peers[0], peers[1]
			sub, err := b.Subscribe("t")
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "membership", func() bool { return alive(a) == 2 && alive(b) == 2 })
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := a.Publish(ctx, "t", []byte("m")); err != nil {
				t.Fatal(err)
			}
			if _, err := sub.Next(ctx); err != nil {
				t.Fatal(err)
			}
			// Idle, once the message and the join's updates have been
			// passed on: the probes go on, nothing else.
			time.Sleep(2 * time.Second)
			before := a.Stats().Ticks
			time.Sleep(3 * time.Second)
			after := a.Stats().Ticks
			run, woken := after.Run-before.Run, after.Woken-before.Woken
			t.Logf("idle 3 s: %d ticks run, %d wake-ups for them", run, woken)
			if run < 20 {
				t.Fatalf("%d ticks in 3 s of 100 ms ticks: the ticks fell behind", run)
			}
			if skip && woken*2 > run {
				t.Errorf("%d wake-ups for %d ticks: the driver did not sleep through quiet ticks", woken, run)
			}
			if !skip && woken != run {
				t.Errorf("%d wake-ups for %d ticks without skipping, want one each", woken, run)
			}
		})
	}
}

// TestTickScheduleGrid: quiet ticks come due as their time passes, only up
// to the tick the machine may act in, and a timer served late drops the
// grid ticks that passed after it.
func TestTickScheduleGrid(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := newTickSchedule(100*time.Millisecond, t0, true)
	defer s.stop()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// Tick 1 runs on time; the machine then says 5 (due at tick 6).
	s.fired(at(100))
	s.plan(5, at(100))
	if s.due != 6 {
		t.Fatalf("due %d, want 6", s.due)
	}
	if n := s.quiet(at(250)); n != 1 {
		t.Fatalf("at 250 ms %d quiet ticks due, want 1 (tick 2)", n)
	}
	if n := s.quiet(at(900)); n != 4 {
		t.Fatalf("at 900 ms %d quiet ticks due, want 4 (ticks 2 to 5, not the due tick 6)", n)
	}
	s.done += 4
	// An input gave the machine work two ticks on: sooner, never later.
	s.sooner(2, at(550))
	if s.due != 6 {
		t.Fatalf("sooner moved due to %d from 6, though 5+2 is later", s.due)
	}
	s.sooner(1, at(550))
	if s.due != 6 {
		t.Fatalf("due %d, want 6 (done 5 + 1)", s.due)
	}
	// The timer is served 350 ms late: ticks 7 to 9 passed and are dropped.
	if late := s.fired(at(950)); late != 350*time.Millisecond {
		t.Fatalf("late %v, want 350ms", late)
	}
	if s.done != 9 {
		t.Fatalf("done %d, want 9 (ticks 7 to 9 dropped)", s.done)
	}
	s.plan(1<<20, at(950))
	if s.due != 9+maxQuietTicks {
		t.Fatalf("due %d, want %d (bounded by maxQuietTicks)", s.due, 9+maxQuietTicks)
	}
	off := newTickSchedule(100*time.Millisecond, t0, false)
	defer off.stop()
	off.fired(at(100))
	off.plan(7, at(100))
	if off.due != 2 {
		t.Fatalf("without skipping due %d, want 2", off.due)
	}
}
