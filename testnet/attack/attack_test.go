package attack

import (
	"flag"
	"testing"
	"time"
)

var (
	long     = flag.Bool("attack.long", false, "run each attack for -attack.duration with 1 and 8 attackers and print the table")
	duration = flag.Duration("attack.duration", 20*time.Second, "length of each attack with -attack.long")
)

// The goals of issue 13, checked on every attack: heap growth at most
// 64 MiB, at most 1,000 more goroutines, every honest message delivered,
// p99 at most twice the baseline's (or 50 ms, on a busy test machine), and
// Close within 2 s.
func check(t *testing.T, r Result, base time.Duration) {
	t.Helper()
	t.Log(r)
	if r.HeapGrowth > 64<<20 {
		t.Errorf("%s: heap grew %d MiB", r.Kind, r.HeapGrowth>>20)
	}
	if r.Goroutines > 1000 {
		t.Errorf("%s: %d more goroutines", r.Kind, r.Goroutines)
	}
	if r.Delivered != r.Published || r.Published == 0 {
		t.Errorf("%s: delivered %d of %d", r.Kind, r.Delivered, r.Published)
	}
	if r.P99 > max(2*base, 50*time.Millisecond) {
		t.Errorf("%s: p99 %v, baseline %v", r.Kind, r.P99, base)
	}
	if r.Close > 2*time.Second {
		t.Errorf("%s: Close took %v", r.Kind, r.Close)
	}
}

func TestAttacks(t *testing.T) {
	d, counts := 3*time.Second, []int{2}
	if *long {
		d, counts = *duration, []int{1, 8}
	}
	var base time.Duration
	for _, n := range counts {
		for _, k := range Kinds {
			if k == None && base != 0 {
				continue
			}
			cfg := Config{Kind: k, Attackers: n, Honest: 4, Duration: d, Rate: 50, Size: 1024}
			r, err := Run(cfg)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if k == None {
				base = r.P99
			}
			check(t, r, base)
		}
	}
}
