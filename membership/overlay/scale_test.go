package overlay

import (
	"runtime"
	"testing"
)

// scaleRun joins n nodes through one contact, checks the overlay, crashes
// half the nodes silently and measures the ticks until the survivors'
// overlay is healthy again.
func scaleRun(t *testing.T, n int, seed uint64, perTick int) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c := newCluster(t, n, seed, 0, nil)
	last := c.joinAll(perTick, 60)
	r := c.check()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	fp := 0
	for _, ov := range c.nodes {
		fp += footprint(ov)
	}
	t.Logf("n=%d joined (last join at tick %d, checked at %d): %v", n, last, last+60, r)
	t.Logf("n=%d memory: overlay state %.0f B/node (estimate); whole heap incl. simulator and frames in flight %.0f B/node",
		n, float64(fp)/float64(n), float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/float64(n))
	st := c.sumStats()
	t.Logf("n=%d traffic during join: %.2f frames sent per node per tick", n, float64(st.FramesSent)/float64(n)/float64(last+60))
	if !r.healthy() {
		t.Errorf("after join: not healthy: %v", r)
	}
	if r.meanA < 0.85*float64(DefaultConfig().ActiveMax) {
		t.Errorf("active views not filled: mean degree %.2f", r.meanA)
	}
	if r.maxPassiveIn > 10*int(r.meanPassive+1) {
		t.Errorf("passive in-degree hub: max %d, mean %.1f", r.maxPassiveIn, r.meanPassive)
	}
	c.net.CrashFraction(0.5)
	before := c.check()
	t.Logf("n=%d just after crashing half: %v", n, before)
	healthyAt := -1
	for k := 1; k <= 300; k++ {
		c.runTicks(1)
		r := c.check()
		if k%10 == 0 && testing.Verbose() {
			t.Logf("  +%d: %v", k, r)
		}
		if r.healthy() {
			healthyAt = k
			break
		}
	}
	r = c.check()
	t.Logf("n=%d after crash: healthy after %d ticks: %v", n, healthyAt, r)
	t.Logf("n=%d stats: %+v", n, c.sumStats())
	if healthyAt < 0 {
		t.Fatalf("survivors not healthy 300 ticks after the crash: %v", r)
	}
}

func TestScale1000(t *testing.T) { scaleRun(t, 1000, 1, 20) }

func TestScale10000(t *testing.T) {
	if testing.Short() {
		t.Skip("n = 10,000 takes a while")
	}
	scaleRun(t, 10000, 1, 25)
}

// TestChurn: nodes crash silently and come back (with their stale views)
// throughout; once churn stops the overlay is healthy again, and no view or
// request list ever exceeded its cap.
func TestChurn(t *testing.T) {
	const n = 300
	c := newCluster(t, n, 5, 0.01, nil)
	c.joinAll(20, 30)
	rng := c.net.Rand()
	var down []int
	for round := 0; round < 60; round++ {
		for k := 0; k < 3; k++ {
			if i := 1 + rng.IntN(n-1); c.alive(i) {
				c.net.Crash(i)
				down = append(down, i)
			}
		}
		for k := 0; k < 3 && len(down) > 6; k++ {
			j := rng.IntN(len(down))
			c.net.Recover(down[j])
			down = append(down[:j], down[j+1:]...)
		}
		c.runTicks(10)
		for _, ov := range c.nodes {
			checkInvariants(t, ov)
		}
	}
	t.Logf("during churn (%d down): %v", len(down), c.check())
	for _, i := range down {
		c.net.Recover(i)
	}
	healthyAt := -1
	for k := 1; k <= 200 && healthyAt < 0; k++ {
		c.runTicks(1)
		if r := c.check(); r.components == 1 && r.belowMin == 0 && r.deadActive == 0 && r.asym <= 2 {
			healthyAt = k
		}
	}
	r := c.check()
	t.Logf("%d ticks after churn stopped: %v", healthyAt, r)
	if healthyAt < 0 {
		t.Fatalf("not healthy after churn: %v", r)
	}
}

// TestSizeEstimate: with a group size estimate the active view aims at
// 2·⌈ln n⌉+8: 14 at n = 20.
func TestSizeEstimate(t *testing.T) {
	c := newCluster(t, 20, 9, 0, func(cfg *Config) { cfg.SizeEstimate = func() int { return 20 } })
	c.joinAll(5, 60)
	r := c.check()
	if r.maxA > 14 || r.minA < 8 || r.components != 1 || r.asym != 0 {
		t.Fatalf("want degrees within [8, 14]: %v", r)
	}
	t.Logf("%v", r)
}
