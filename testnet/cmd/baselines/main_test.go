package main

import (
	"strings"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/testnet/baselines/compare"
)

func TestMedianDurOrdersNeverLast(t *testing.T) {
	ms := time.Millisecond
	if got := medianDur([]time.Duration{-1, 5 * ms, 3 * ms}); got != 5*ms {
		t.Errorf("median = %v, want 5ms", got)
	}
	if got := medianDur([]time.Duration{-1, -1, 3 * ms}); got >= 0 {
		t.Errorf("median = %v, want never", got)
	}
	if got := medianDur([]time.Duration{4 * ms, 2 * ms}); got != 2*ms {
		t.Errorf("median of two = %v, want the lower", got)
	}
}

func TestFormatting(t *testing.T) {
	cases := map[string]string{
		dur(-1):                      "never",
		dur(42 * time.Millisecond):   "42 ms",
		dur(1500 * time.Millisecond): "1.50 s",
		dur(150 * time.Second):       "150 s",
		pct(1):                       "100 %",
		pct(0.9996):                  "99.960 %",
		pct(0.737):                   "73.7 %",
		slug("10% loss"):             "10-loss",
		slug("internal node crash"):  "internal-node-crash",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// A tiny end-to-end render: the tables hold a row per protocol run.
func TestRender(t *testing.T) {
	var results []*compare.Result
	for _, proto := range []string{"tree", "srm"} {
		p := compare.DefaultParams()
		p.Protocol, p.N, p.Seed, p.Messages, p.Scenario = proto, 30, 1, 2, compare.Scenarios[1]
		r, err := compare.Run(p)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	doc := render(results, []size{{n: 30, seeds: 1}}, compare.Scenarios[1:2], []string{"tree", "srm"}, time.Second, 1, 30)
	for _, want := range []string{"## 10% loss", "| 30 | tree |", "| 30 | srm |", "Inside the baselines (n = 30"} {
		if !strings.Contains(doc, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
}
