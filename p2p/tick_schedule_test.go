package p2p

import (
	"context"
	"testing"
	"time"
)

// TestTickSkipping: an idle pair of peers runs its ticks with far fewer
// wake-ups than ticks when the driver sleeps through quiet ones, even
// with events left behind by a reader that stopped reading, and with one
// wake-up a tick without it; delivers either way; and SetTickSkipping
// switches a running peer the other way.
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
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
			// A reader that stopped reading Events: the channel full and
			// events waiting behind it must not keep the driver awake.
			a.call(ctx, func() {
				for len(a.events.ch) < cap(a.events.ch) {
					a.events.ch <- Event{}
				}
				a.events.backlog = append(a.events.backlog, queuedEvent{})
			})
			check := func(skip bool) {
				t.Helper()
				// Stats reads the counters before its call to the driver
				// runs the ticks slept through: an empty call first.
				ticks := func() struct{ Run, Woken uint64 } {
					a.call(ctx, func() {})
					return a.Stats().Ticks
				}
				before := ticks()
				time.Sleep(3 * time.Second)
				after := ticks()
				run, woken := after.Run-before.Run, after.Woken-before.Woken
				t.Logf("idle 3 s, skipping %v: %d ticks run, %d wake-ups for them", skip, run, woken)
				if run < 20 {
					t.Fatalf("%d ticks in 3 s of 100 ms ticks: the ticks fell behind", run)
				}
				if skip && woken*2 > run {
					t.Errorf("%d wake-ups for %d ticks: the driver did not sleep through quiet ticks", woken, run)
				}
				if !skip && woken+1 < run {
					t.Errorf("%d wake-ups for %d ticks without skipping, want one each", woken, run)
				}
			}
			check(skip)
			if err := a.SetTickSkipping(ctx, !skip); err != nil {
				t.Fatal(err)
			}
			check(!skip)
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

// TestQuietSplit: of the quiet ticks due, every one that came due while
// the driver waited for work runs, and of each stretch of work one (the
// rest are dropped, as a ticker drops them).
func TestQuietSplit(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	s := newTickSchedule(100*time.Millisecond, t0, true)
	defer s.stop()
	s.fired(at(100))
	s.plan(10, at(100)) // ticks 2 to 10 quiet
	// Busy until 450 ms (ticks 2 to 4), waiting until 720 ms (5 to 7),
	// busy since (tick 8 at 800 ms, now 850 ms).
	s.idleFrom, s.idleTo = at(450), at(720)
	n := s.quiet(at(850))
	if n != 7 {
		t.Fatalf("%d quiet ticks due at 850 ms, want 7 (ticks 2 to 8)", n)
	}
	b, w, a := s.quietSplit(n)
	if b != 3 || w != 3 || a != 1 {
		t.Fatalf("split %d/%d/%d, want 3 while busy, 3 while waiting, 1 since", b, w, a)
	}
}
