package p2p

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricValue reads a counter's or a gauge's current value (-1 if it
// cannot be read).
func metricValue(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

// TestMemberGauges: the members gauge, refreshed once a second from the
// memberlist's counts by state, shows a three-member group alive, and a
// member that left as left (the gauges are resolved once, in memberStates'
// order, so a mismatch would put the counts under the wrong label).
func TestMemberGauges(t *testing.T) {
	peers := startPeers(t, 3, false)
	waitFor(t, 15*time.Second, "the group", func() bool { return alive(peers[0]) == 3 })
	byLabel := func(st string) float64 { return metricValue(peers[0].m.members.WithLabelValues(st)) }
	waitFor(t, 5*time.Second, "alive gauge 3", func() bool { return byLabel(StateAlive) == 3 })
	peers[2].Close()
	waitFor(t, 15*time.Second, "left gauge 1", func() bool { return byLabel(StateLeft) == 1 && byLabel(StateAlive) == 2 })
	if byLabel(StateSuspect) != 0 || byLabel(StateDead) != 0 {
		t.Fatalf("suspect %v, dead %v after a graceful leave", byLabel(StateSuspect), byLabel(StateDead))
	}
}
