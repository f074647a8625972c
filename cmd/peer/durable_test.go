package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// poll waits until cond holds.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// snapshot returns the stdout lines so far.
func (p *proc) snapshot() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// delivered parses the msg lines of procs, in order, into the text indexes
// printed per origin and prefix ("a-17" from origin X: got[X]["a"] has 17).
func delivered(procs ...*proc) map[string][]int { return printed([]string{"msg"}, procs...) }

// printed is delivered for the lines of the given kinds (msg,
// redelivered).
func printed(kinds []string, procs ...*proc) map[string][]int {
	got := map[string][]int{}
	for _, p := range procs {
		for _, l := range p.snapshot() {
			f := strings.Fields(l)
			if len(f) != 4 || !slices.Contains(kinds, f[0]) {
				continue
			}
			pre, n, ok := strings.Cut(f[3], "-")
			i, err := strconv.Atoi(n)
			if !ok || err != nil {
				continue
			}
			got[f[1]+" "+pre] = append(got[f[1]+" "+pre], i)
		}
	}
	return got
}

// feed writes prefix-0, prefix-1, … to p's stdin every interval until n
// lines are written or stop is closed; it returns how many it wrote.
func feed(p *proc, prefix string, n int, interval time.Duration, stop <-chan struct{}, count *int, mu *sync.Mutex) {
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-stop:
			return
		case <-tk.C:
		}
		if _, err := fmt.Fprintf(p.stdin, "%s-%d\n", prefix, i); err != nil {
			return
		}
		mu.Lock()
		*count = i + 1
		mu.Unlock()
	}
}

// TestDurableProcesses is the crash test with real processes: three
// peers publish 1,000 messages at 20 a second each; a fourth, run with
// --data, is killed with SIGKILL 3 s in and restarted with the same key and
// directory 10 s later. Over its two lives it prints every message, in
// each origin's order, as a msg line at most once; a message delivered and
// not yet recorded as printed when it was killed comes again as a
// redelivered line, and nothing else does. It also published before the kill and
// after the restart: every other peer prints each of its messages at most
// once and all of those of its second life (no sequence number reused).
func TestDurableProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes, about 25 s")
	}
	dir := t.TempDir()
	common := []string{"--group", "durable-test", "--profile", "local", "--listen", "/ip4/127.0.0.1/tcp/0", "--dht=false"}
	run := func(name string, extra ...string) *proc {
		args := append([]string{"run", "--key", filepath.Join(dir, name+".key")}, common...)
		return startProc(t, append(args, extra...)...)
	}
	a := run("a")
	boot := a.field("listening")
	b, c := run("b", "--seed", boot), run("c", "--seed", boot)
	data := filepath.Join(dir, "r-data")
	r := run("r", "--seed", boot, "--data", data)
	ids := map[*proc]string{}
	for _, p := range []*proc{a, b, c, r} {
		ids[p] = p.field("peer")
	}
	waitJoined := func(p *proc, others ...*proc) {
		t.Helper()
		for _, o := range others {
			p.waitLine(20*time.Second, "join of "+ids[o], func(s string) bool {
				return s == "member join "+ids[o] || s == "member rejoin "+ids[o]
			})
		}
	}
	waitJoined(r, a, b, c)
	waitJoined(a, b, c, r)

	const perOrigin = 334 // 1,002 messages in all
	var mu sync.Mutex
	counts := map[string]*int{"a": new(int), "b": new(int), "c": new(int)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for name, p := range map[string]*proc{"a": a, "b": b, "c": c} {
		wg.Add(1)
		go func() { defer wg.Done(); feed(p, name, perOrigin, 50*time.Millisecond, stop, counts[name], &mu) }()
	}
	defer func() { close(stop); wg.Wait() }()
	rStop := make(chan struct{})
	var rCount int
	go feed(r, "r", 1000, 50*time.Millisecond, rStop, &rCount, &mu)

	time.Sleep(3 * time.Second)
	close(rStop)
	r.cmd.Process.Signal(syscall.SIGKILL)
	r.cmd.Wait()
	time.Sleep(10 * time.Second)
	mu.Lock()
	atRestart := map[string]int{"a": *counts["a"], "b": *counts["b"], "c": *counts["c"]}
	mu.Unlock()
	restart := time.Now()
	r2 := run("r", "--seed", boot, "--data", data)
	if id := r2.field("peer"); id != ids[r] {
		t.Fatalf("restarted with peer ID %s, want %s", id, ids[r])
	}
	ids[r2] = ids[r]
	// Catching up: everything published before the restart.
	both := []string{"msg", "redelivered"}
	poll(t, 30*time.Second, "catch-up", func() bool {
		got := printed(both, r2)
		for name, p := range map[string]*proc{"a": a, "b": b, "c": c} {
			s := got[ids[p]+" "+name]
			if len(s) == 0 || s[len(s)-1] < atRestart[name]-1 {
				return false
			}
		}
		return true
	})
	t.Logf("caught up on what was published in the 10 s down within %s of restarting", time.Since(restart).Round(time.Millisecond))
	waitJoined(a, r2)
	var r2Count int
	r2Done := make(chan struct{})
	go func() { feed(r2, "r2", 40, 50*time.Millisecond, nil, &r2Count, &mu); close(r2Done) }()
	wg.Wait()
	// Everything, exactly once, in order, over the two lives.
	var missing []string
	defer func() {
		if t.Failed() {
			t.Logf("missing at the restarted peer: %v; stderr of its second life: %s", missing, r2.err.String())
		}
	}()
	poll(t, 30*time.Second, "all messages", func() bool {
		got := printed(both, r, r2)
		missing = missing[:0]
		for name, p := range map[string]*proc{"a": a, "b": b, "c": c} {
			if s := got[ids[p]+" "+name]; len(s) < perOrigin {
				have := map[int]bool{}
				for _, v := range s {
					have[v] = true
				}
				var lacking []int
				for i := 0; i < perOrigin && len(lacking) < 5; i++ {
					if !have[i] {
						lacking = append(lacking, i)
					}
				}
				missing = append(missing, fmt.Sprintf("%s: %d of %d (lacking %v; first life printed %d of them)",
					name, len(s), perOrigin, lacking, len(delivered(r)[ids[p]+" "+name])))
			}
		}
		return len(missing) == 0
	})
	time.Sleep(time.Second) // a duplicate would show up now
	// msg lines: at most once each and in order over the two lives; the
	// redelivered ones come first in the second life, and with them every
	// message is there, in order.
	got, again, first := delivered(r, r2), printed([]string{"redelivered"}, r2), delivered(r)
	redone, twice := 0, 0
	for name, p := range map[string]*proc{"a": a, "b": b, "c": c} {
		key := ids[p] + " " + name
		s, re := got[key], again[key]
		for i := 1; i < len(s); i++ {
			if s[i] <= s[i-1] {
				t.Errorf("origin %s: msg lines out of order or twice: %d after %d", name, s[i], s[i-1])
			}
		}
		if len(re) > 0 {
			redone += len(re)
			t.Logf("origin %s: redelivered %v after the restart (the first life printed up to %v)", name, re, first[key][max(0, len(first[key])-1):])
		}
		all := slices.Concat(first[key], re, got[key][len(first[key]):])
		all = slices.Compact(all)
		if len(all) != perOrigin || !slices.IsSorted(all) || all[0] != 0 || all[len(all)-1] != perOrigin-1 {
			t.Errorf("origin %s: over the two lives %d distinct of %d published, or not in order (redelivered %v)", name, len(all), perOrigin, re)
		}
		for _, v := range re {
			if slices.Contains(first[key], v) {
				twice++
			}
		}
	}
	t.Logf("%d messages redelivered after the restart, %d of them printed by the first life", redone, twice)
	// The restarted peer's own messages at the others.
	<-r2Done
	n2 := r2Count
	for _, p := range []*proc{a, b, c} {
		poll(t, 20*time.Second, "the restarted peer's messages", func() bool {
			return len(delivered(p)[ids[r]+" r2"]) >= n2
		})
		got := delivered(p)
		for _, pre := range []string{"r", "r2"} {
			seen := map[int]bool{}
			for _, v := range got[ids[r]+" "+pre] {
				if seen[v] {
					t.Errorf("%s printed %s-%d twice", ids[p], pre, v)
				}
				seen[v] = true
			}
		}
		if s := got[ids[r]+" r2"]; len(s) != n2 {
			t.Errorf("%s printed %d of the restarted peer's %d new messages", ids[p], len(s), n2)
		}
	}
	t.Logf("the killed peer published %d before the kill and %d after the restart", rCount, n2)
}
