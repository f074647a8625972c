package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	m := parseProcStat("cpu  22696 4 6581 66139 695 10 174 1342 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
	if !m.ok {
		t.Fatal("aggregate line not read")
	}
	want := machineCPU{ok: true, busy: (22696 + 4 + 6581) * clockTick, idle: (66139 + 695) * clockTick,
		irq: (10 + 174) * clockTick, steal: 1342 * clockTick}
	if m != want {
		t.Fatalf("got %+v, want %+v", m, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 x 4 5 6 7 8", "cpu 1 2 3 4 5 6 7 -8"} {
		if parseProcStat(bad).ok {
			t.Errorf("%q read as a cpu line", bad)
		}
	}
}

func TestDescribeMachine(t *testing.T) {
	from := machineCPU{ok: true}
	to := machineCPU{ok: true, busy: 3 * time.Second, irq: time.Second, steal: 2 * time.Second, idle: 4 * time.Second}
	got := describeMachine(from, to, 2*time.Second, 10*time.Second)
	if !strings.Contains(got, "other processes 0.10 cores, interrupts 0.10, steal 0.20, idle 0.40") {
		t.Fatalf("got %q", got)
	}
	// The process's own time counted by rusage can exceed /proc/stat's
	// busy time by a tick's rounding: never a negative figure.
	if got := describeMachine(from, to, 5*time.Second, 10*time.Second); !strings.Contains(got, "other processes 0.00") {
		t.Fatalf("got %q", got)
	}
	if got := describeMachine(machineCPU{}, to, 0, time.Second); !strings.Contains(got, "not readable") {
		t.Fatalf("got %q", got)
	}
}

func TestDescribeSchedLatencies(t *testing.T) {
	b := []float64{0, 1e-6, 1e-3, 0.1, 2}
	from := schedLatencies{Counts: []uint64{5, 5, 5, 5}, Buckets: b}
	to := schedLatencies{Counts: []uint64{5 + 50, 5 + 40, 5 + 9, 5 + 1}, Buckets: b}
	if got := describeSchedLatencies(from, to); got != "goroutine waits to run p50 1 µs, p90 1.0 ms, p99 100.0 ms" {
		t.Fatalf("got %q", got)
	}
	if got := describeSchedLatencies(from, from); !strings.Contains(got, "none") {
		t.Fatalf("got %q", got)
	}
	if got := describeSchedLatencies(schedLatencies{}, to); !strings.Contains(got, "not available") {
		t.Fatalf("got %q", got)
	}
	if got := describeSchedLatencies(from, readSchedLatencies()); !strings.Contains(got, "not available") {
		t.Fatalf("a histogram of another shape was read: %q", got)
	}
	live := readSchedLatencies()
	if len(live.Counts) == 0 || len(live.Buckets) != len(live.Counts)+1 {
		t.Fatalf("the runtime's histogram not read: %d counts, %d buckets", len(live.Counts), len(live.Buckets))
	}
}
