package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScenarioLossAndCrash is the acceptance test: 10 real peers on
// loopback for 20 s under 10 % frame loss, one crash; every message reaches
// every eligible peer and every survivor declares the crashed peer failed.
func TestScenarioLossAndCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s scenario")
	}
	sc, err := ParseYAML([]byte(`
name: test
peers: 10
profile: local
duration: 20s
publish:
  publishers: "0-2"
  rate: 5
  size: 200
  drain: 4s
faults:
  loss: 0.10
  crashes:
    - peer: 7
      at: 1s
`))
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), sc, Options{Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rep.Print(&out); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())
	if rep.JoinSeconds == nil {
		t.Errorf("the group never converged")
	}
	if rep.Published < 100 {
		t.Errorf("published %d messages, want at least 100 (3 publishers × 5/s × 14 s, less the crash)", rep.Published)
	}
	if rep.FullyDelivered != rep.Published || rep.DeliveryMin != 1 {
		t.Errorf("delivery: %d of %d messages fully delivered (min fraction %v), want all", rep.FullyDelivered, rep.Published, rep.DeliveryMin)
	}
	if rep.ObservedLoss < 0.07 || rep.ObservedLoss > 0.13 {
		t.Errorf("observed loss %.3f, want about 0.10", rep.ObservedLoss)
	}
	if len(rep.Crashes) != 1 {
		t.Fatalf("crashes: %+v", rep.Crashes)
	}
	c := rep.Crashes[0]
	if c.Survivors != 9 || c.Detected != 9 || c.Last == nil {
		t.Errorf("crash of peer %d detected by %d of %d survivors", c.Peer, c.Detected, c.Survivors)
	}
	if rep.FalsePositives != 0 {
		t.Errorf("%d false positives: %+v", rep.FalsePositives, rep.FalseList)
	}
	if rep.PingsSent == 0 || rep.PingReqsSent == 0 {
		t.Errorf("probe counters missing under 10 %% loss: %d pings, %d ping-reqs", rep.PingsSent, rep.PingReqsSent)
	}
	if rep.QueueDroppedNoStream+rep.QueueDroppedFailed > rep.QueueDropped {
		t.Errorf("frames dropped: %d no stream + %d failed > %d in all", rep.QueueDroppedNoStream, rep.QueueDroppedFailed, rep.QueueDropped)
	}
	if rep.BytesPerDelivery <= 0 || rep.LatencyP50 <= 0 {
		t.Errorf("traffic or latency missing: %+v", rep)
	}
	dir := t.TempDir()
	if err := rep.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range Files {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("report file %s missing or empty: %v", f, err)
		}
	}
}

func TestBadScenarioNamesTheField(t *testing.T) {
	cases := []struct {
		name, yaml, json, want string
	}{
		{"unknown key", "peers: 5\nduration: 5s\nfautls: {}\n", `{"peers":5,"duration":"5s","fautls":{}}`, "fautls"},
		{"unknown nested key", "peers: 5\nduration: 5s\nfaults: {los: 0.1}\n", `{"peers":5,"duration":"5s","faults":{"los":0.1}}`, "los"},
		{"negative rate", "peers: 5\nduration: 5s\npublish: {rate: -2}\n", `{"peers":5,"duration":"5s","publish":{"rate":-2}}`, "publish.rate"},
		{"loss above 1", "peers: 5\nduration: 5s\nfaults: {loss: 1.5}\n", `{"peers":5,"duration":"5s","faults":{"loss":1.5}}`, "faults.loss"},
		{"negative loss", "peers: 5\nduration: 5s\nfaults: {loss: -0.1}\n", `{"peers":5,"duration":"5s","faults":{"loss":-0.1}}`, "faults.loss"},
		{"link loss", "peers: 5\nduration: 5s\nfaults: {links: [{from: [0], to: [1], loss: 2}]}\n",
			`{"peers":5,"duration":"5s","faults":{"links":[{"from":[0],"to":[1],"loss":2}]}}`, "faults.links[0].loss"},
		{"crash peer out of range", "peers: 5\nduration: 5s\nfaults: {crashes: [{peer: 9, at: 1s}]}\n",
			`{"peers":5,"duration":"5s","faults":{"crashes":[{"peer":9,"at":"1s"}]}}`, "faults.crashes[0].peer"},
		{"bad duration", "peers: 5\nduration: soon\n", `{"peers":5,"duration":"soon"}`, "duration"},
		{"too few peers", "peers: 1\nduration: 5s\n", `{"peers":1,"duration":"5s"}`, "peers"},
		{"restart before crash", "peers: 5\nduration: 9s\nfaults: {crashes: [{peer: 1, at: 3s, restart: 2s}]}\n",
			`{"peers":5,"duration":"9s","faults":{"crashes":[{"peer":1,"at":"3s","restart":"2s"}]}}`, "faults.crashes[0].restart"},
		{"heal before split", "peers: 5\nduration: 9s\nfaults: {partitions: [{groups: [\"0-1\"], at: 3s, heal: 1s}]}\n",
			`{"peers":5,"duration":"9s","faults":{"partitions":[{"groups":["0-1"],"at":"3s","heal":"1s"}]}}`, "faults.partitions[0].heal"},
	}
	for _, c := range cases {
		_, err := ParseYAML([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s (YAML): error %v, want one naming %q", c.name, err, c.want)
		}
		_, err = ParseJSON([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s (JSON): error %v, want one naming %q", c.name, err, c.want)
		}
	}
}

func TestScenarioFilesParse(t *testing.T) {
	files, _ := filepath.Glob("../scenarios/*")
	if len(files) == 0 {
		t.Skip("no scenario files")
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".md") {
			continue
		}
		if _, err := LoadScenario(f); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestPeersSyntax(t *testing.T) {
	p, err := parsePeers("0-3, 7,9-10")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p); got != 7 || p[0] != 0 || p[4] != 7 || p[6] != 10 {
		t.Errorf("parsed %v", p)
	}
	for _, bad := range []string{"a", "3-1", "1-x"} {
		if _, err := parsePeers(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestInjector(t *testing.T) {
	f := Faults{Loss: 0.2, Delay: Duration(10 * time.Millisecond), Jitter: Duration(5 * time.Millisecond),
		Partitions: []Partition{{Groups: []Peers{{0, 1}}, At: Duration(time.Second), Heal: Duration(2 * time.Second)}},
		Links:      []Link{{From: Peers{2}, To: Peers{3}, Loss: 1}},
		Slow:       []Slow{{Peer: 4, Delay: Duration(100 * time.Millisecond)}}}
	in := NewInjector(f, 5, 1)
	in.Start(time.Now())
	drops := 0
	for i := 0; i < 10000; i++ {
		drop, d := in.Decide(0, 1)
		if drop {
			drops++
			continue
		}
		if d < 10*time.Millisecond || d > 15*time.Millisecond {
			t.Fatalf("delay %v outside 10..15ms", d)
		}
	}
	if drops < 1800 || drops > 2200 {
		t.Errorf("%d of 10000 dropped at 20%% loss", drops)
	}
	if drop, _ := in.Decide(2, 3); !drop {
		t.Errorf("link with loss 1 let a frame through")
	}
	if _, d := in.Decide(3, 4); d < 110*time.Millisecond {
		// loss may drop it; retry until one passes
		for i := 0; i < 100 && d == 0; i++ {
			_, d = in.Decide(3, 4)
		}
		if d < 110*time.Millisecond {
			t.Errorf("slow peer delay %v, want >= 110ms", d)
		}
	}
	if !in.Partitioned(0, 2, 1500*time.Millisecond) || in.Partitioned(0, 1, 1500*time.Millisecond) ||
		in.Partitioned(0, 2, 2500*time.Millisecond) || in.Partitioned(0, 2, 500*time.Millisecond) {
		t.Errorf("partition windows wrong")
	}
}

// TestScenarioDataDir: with data_dir every peer keeps its durable state in
// a directory of its own, and the group still delivers everything.
func TestScenarioDataDir(t *testing.T) {
	sc, err := ParseYAML([]byte(`
name: data
peers: 3
profile: local
duration: 3s
publish:
  publishers: "0"
  rate: 10
  drain: 1s
`))
	if err != nil {
		t.Fatal(err)
	}
	sc.DataDir = t.TempDir()
	rep, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Published == 0 || rep.FullyDelivered != rep.Published {
		t.Errorf("%d of %d messages fully delivered", rep.FullyDelivered, rep.Published)
	}
	for i := 0; i < sc.Peers; i++ {
		entries, err := os.ReadDir(filepath.Join(sc.DataDir, fmt.Sprintf("peer-%d", i)))
		if err != nil || len(entries) == 0 {
			t.Errorf("peer %d's data directory missing or empty: %v", i, err)
		}
	}
}
