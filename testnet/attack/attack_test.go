package attack

import (
	"flag"
	"fmt"
	"testing"
	"time"
)

var (
	long     = flag.Bool("attack.long", false, "run each attack for -attack.duration with 1 and 8 attackers and print the table")
	duration = flag.Duration("attack.duration", 20*time.Second, "length of each attack with -attack.long")
)

// The goals of issue 13, checked on every attack: heap growth at most
// 64 MiB, at most 1,000 more goroutines, every honest message delivered,
// and Close within 2 s. The latency goal (p99 at most twice the
// baseline's) is a performance figure: on a shared 2-core test machine two
// 3-second runs differ by more than that with no attack at all, so `make
// test` only checks that no attack stalls delivery (p99 under 2 s), and
// `make attack` (-attack.long, 20-second runs) checks the ratio.
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
	limit := 2 * time.Second
	if *long {
		limit = max(2*base, 50*time.Millisecond)
	}
	if r.P99 > limit {
		t.Errorf("%s: p99 %v over %v (baseline %v)", r.Kind, r.P99, limit, base)
	}
	if r.Close > 2*time.Second {
		t.Errorf("%s: Close took %v", r.Kind, r.Close)
	}
}

// TestAttacks runs each attack as a subtest named after its kind and
// attacker count ("none", "stall-8"; -run 'TestAttacks/(none|stall)'
// measures one row with its baseline). Without the "none" subtest the
// latency goal is the 50 ms floor.
func TestAttacks(t *testing.T) {
	d, counts := 2*time.Second, []int{2}
	if *long {
		d, counts = *duration, []int{1, 8}
	}
	var base time.Duration
	for _, n := range counts {
		for _, k := range Kinds {
			name := fmt.Sprintf("%s-%d", k, n)
			if k == None {
				if n != counts[0] {
					continue
				}
				name = string(None)
			}
			t.Run(name, func(t *testing.T) {
				cfg := Config{Kind: k, Attackers: n, Honest: 4, Duration: d, Rate: 50, Size: 1024}
				r, err := Run(cfg)
				if err != nil {
					t.Fatalf("%s: %v", k, err)
				}
				if k == None {
					base = r.P99
				}
				check(t, r, base)
			})
		}
	}
}
