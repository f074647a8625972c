package main

import (
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// TestWindowCounterNames: every counter printed has a value, and every
// value is printed. A name missing from the values printed 0 for it
// whatever the peers counted.
func TestWindowCounterNames(t *testing.T) {
	values := windowCounterValues(p2p.Stats{})
	for _, name := range windowCounterNames {
		if _, ok := values[name]; !ok {
			t.Errorf("%q is printed but has no value", name)
		}
	}
	for name := range values {
		if !slices.Contains(windowCounterNames, name) {
			t.Errorf("%q has a value but is not printed", name)
		}
	}
	if len(values) != len(windowCounterNames) {
		t.Errorf("%d values, %d names", len(values), len(windowCounterNames))
	}
}

// TestTimelineCounterNames: every counter a timeline line shows is one of
// the window's counters (a renamed one would print 0 for ever).
func TestTimelineCounterNames(t *testing.T) {
	for _, c := range timelineCounters {
		if !slices.Contains(windowCounterNames, c.name) {
			t.Errorf("timeline counter %q is not a window counter", c.name)
		}
	}
}
