package membership

import (
	"os"
	"strconv"
	"testing"
)

// TestLongLossNoFalseFailures is a long false-positive check, skipped unless
// GV_LONG_N is set: GV_LONG_N members (converged through a join) run
// GV_LONG_TICKS ticks with every frame lost at rate GV_LONG_LOSS, state
// exchanges included, and no live member may be declared failed. E.g. one
// simulated hour at n = 200 and 30 % loss:
//
//	GV_LONG_N=200 GV_LONG_TICKS=36000 GV_LONG_LOSS=0.3 go test -run TestLongLossNoFalseFailures -v -timeout 1h ./membership/
func TestLongLossNoFalseFailures(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GV_LONG_N"))
	if n < 2 {
		t.Skip("set GV_LONG_N (and GV_LONG_TICKS, GV_LONG_LOSS) to run")
	}
	ticks, _ := strconv.Atoi(os.Getenv("GV_LONG_TICKS"))
	loss, _ := strconv.ParseFloat(os.Getenv("GV_LONG_LOSS"), 64)
	c := newCluster(t, n, 7, nil)
	c.joinAll()
	took := c.runUntil(5000, "join", c.converged)
	c.events = c.events[:0]
	c.loss = loss
	c.run(ticks)
	fails, susp := c.count(EventFail, ""), c.count(EventSuspect, "")
	t.Logf("n=%d loss=%.2f ticks=%d (joined in %d): %d fail events, %d suspect events", n, loss, ticks, took, fails, susp)
	if fails != 0 {
		t.Fatalf("%d false failures", fails)
	}
}
