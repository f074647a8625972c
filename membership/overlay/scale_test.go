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
