package local

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/analyze_golden.json from the current Analyze")

// syntheticRun is a hand-made record stream of a 6-peer run with every kind
// of record Analyze reads: a join, messages delivered in full and in part,
// a crash detected by some survivors only, a restart, a partition and its
// heal, a false suspicion and a false failure, traffic counters and the
// injector's counters. Times are milliseconds after the first start.
func syntheticRun() (*Scenario, []Record) {
	const n = 6
	base := int64(1_000_000_000_000)
	at := func(ms int) int64 { return base + int64(ms)*int64(time.Millisecond) }
	clock := 1000 // the scenario clock starts here
	sc := &Scenario{Name: "synthetic", Peers: n, Profile: "lan",
		Faults: Faults{Partitions: []Partition{{Groups: []Peers{{4}}, At: Duration(5 * time.Second), Heal: Duration(6 * time.Second)}}}}
	var recs []Record
	add := func(r Record) { recs = append(recs, r) }
	// Every peer starts 50 ms after the previous one and sees the others
	// alive by 800 ms.
	for p := 0; p < n; p++ {
		add(Record{Kind: RecStart, T: at(50 * p), Peer: p})
	}
	for o := 0; o < n; o++ {
		for s := 0; s < n; s++ {
			if o != s {
				add(Record{Kind: RecEvent, T: at(400 + 60*o + 5*s), Peer: o, Subj: s, Ev: "alive"})
			}
		}
	}
	add(Record{Kind: RecClock, T: at(clock)})
	// Peer 0 publishes ten messages, one every 200 ms from 1.1 s; peer 1 two.
	for i := 0; i < 10; i++ {
		t := clock + 100 + 200*i
		add(Record{Kind: RecPublish, T: at(t), Peer: 0, Origin: 0, Seq: uint64(i + 1)})
		for p := 1; p < n; p++ {
			if (i == 3 && p == 5) || (i >= 5 && p == 2) {
				continue // message 4 never reaches peer 5; peer 2 is down from 2 s
			}
			lat := 2 + 3*p + i%4
			add(Record{Kind: RecDeliver, T: at(t + lat), Peer: p, Origin: 0, Seq: uint64(i + 1), Lat: int64(lat) * int64(time.Millisecond)})
		}
	}
	for i := 0; i < 2; i++ {
		t := clock + 150 + 500*i
		add(Record{Kind: RecPublish, T: at(t), Peer: 1, Origin: 1, Seq: uint64(i + 1)})
		for _, p := range []int{0, 2, 3, 4, 5} {
			add(Record{Kind: RecDeliver, T: at(t + 4 + p), Peer: p, Origin: 1, Seq: uint64(i + 1), Lat: int64(4+p) * int64(time.Millisecond)})
		}
		// A duplicate delivery is counted once.
		add(Record{Kind: RecDeliver, T: at(t + 30), Peer: 3, Origin: 1, Seq: uint64(i + 1), Lat: 30 * int64(time.Millisecond)})
	}
	// Peer 2 crashes at 2 s: peers 0, 1 and 3 suspect then declare it failed;
	// peer 4 never does; peer 5 declares it 2.9 s after the crash.
	add(Record{Kind: RecCrash, T: at(clock + 1000), Peer: 2})
	for i, o := range []int{0, 1, 3} {
		add(Record{Kind: RecEvent, T: at(clock + 1800 + 100*i), Peer: o, Subj: 2, Ev: "suspect"})
		add(Record{Kind: RecEvent, T: at(clock + 3000 + 200*i), Peer: o, Subj: 2, Ev: "fail"})
	}
	add(Record{Kind: RecEvent, T: at(clock + 3900), Peer: 5, Subj: 2, Ev: "fail"})
	// A declaration after the restart is not about the crash.
	add(Record{Kind: RecEvent, T: at(clock + 4200), Peer: 4, Subj: 2, Ev: "fail"})
	// It restarts at 5 s (instance 1) and is seen alive by all by 5.9 s.
	add(Record{Kind: RecStart, T: at(clock + 4000), Peer: 2, Inst: 1})
	for i, o := range []int{0, 1, 3, 4, 5} {
		add(Record{Kind: RecEvent, T: at(clock + 4300 + 150*i), Peer: o, Subj: 2, Ev: "alive"})
		add(Record{Kind: RecEvent, T: at(clock + 4310 + 10*i), Peer: 2, Subj: o, Ev: "alive"})
	}
	// Peer 4 is cut off from 6 s to 7 s (5 s to 6 s of the scenario clock): declarations about it then are
	// the partition's, not false positives; the heal converges at 7.4 s.
	add(Record{Kind: RecFault, T: at(clock + 5000), Ev: "partition", Subj: 0})
	add(Record{Kind: RecEvent, T: at(clock + 5600), Peer: 0, Subj: 4, Ev: "suspect"})
	add(Record{Kind: RecFault, T: at(clock + 6000), Ev: "heal", Subj: 0})
	add(Record{Kind: RecEvent, T: at(clock + 6400), Peer: 0, Subj: 4, Ev: "alive"})
	// False ones: peer 3 suspects peer 1 at 7.5 s (refuted), peer 5 declares
	// peer 0 failed at 8 s and sees it alive again at 8.2 s; one false
	// failure while joining.
	add(Record{Kind: RecEvent, T: at(clock + 6500), Peer: 3, Subj: 1, Ev: "suspect"})
	add(Record{Kind: RecEvent, T: at(clock + 6700), Peer: 3, Subj: 1, Ev: "alive"})
	add(Record{Kind: RecEvent, T: at(clock + 7000), Peer: 5, Subj: 0, Ev: "fail"})
	add(Record{Kind: RecEvent, T: at(clock + 7200), Peer: 5, Subj: 0, Ev: "alive"})
	add(Record{Kind: RecEvent, T: at(900), Peer: 1, Subj: 3, Ev: "fail"})
	add(Record{Kind: RecEvent, T: at(950), Peer: 1, Subj: 3, Ev: "alive"})
	// Counters: the last stats record of each instance counts.
	for p := 0; p < n; p++ {
		add(Record{Kind: RecStats, T: at(clock + 3500), Peer: p, Frames: 10, Bytes: 1000})
		add(Record{Kind: RecStats, T: at(clock + 8500), Peer: p, Frames: uint64(40 + p), Bytes: uint64(5000 + 100*p),
			Dropped: uint64(p % 2), DropNoStream: uint64(p % 2), Pings: 20, LateAcks: uint64(p / 3), PingReqs: 2})
	}
	add(Record{Kind: RecStats, T: at(clock + 8500), Peer: 2, Inst: 1, Frames: 7, Bytes: 700})
	add(Record{Kind: RecInjected, T: at(clock + 8500), Frames: 400, Bytes: 40})
	add(Record{Kind: RecEnd, T: at(clock + 9000)})
	// Analyze sorts; give it the records out of order.
	for i, j := 0, len(recs)-1; i < j; i, j = i+2, j-2 {
		recs[i], recs[j] = recs[j], recs[i]
	}
	return sc, recs
}

// TestAnalyzeSynthetic checks the report of a hand-made run against what
// its records say, and against a golden copy of the whole report (run with
// -update after a change meant to alter the report).
func TestAnalyzeSynthetic(t *testing.T) {
	sc, recs := syntheticRun()
	r := Analyze(sc, recs)

	if r.Published != 12 || r.FullyDelivered != 11 {
		t.Errorf("published %d, fully delivered %d: want 12 and 11", r.Published, r.FullyDelivered)
	}
	// A receiver is eligible for a message only if it was up from its
	// publication to the end: peer 2, down from 2 s to 5 s, for none.
	if r.ExpectedDeliveries != 10*4+2*4 || r.Deliveries != r.ExpectedDeliveries-1 {
		t.Errorf("deliveries %d of %d: want 47 of 48", r.Deliveries, r.ExpectedDeliveries)
	}
	if len(r.Crashes) != 1 {
		t.Fatalf("%d crashes reported, want 1", len(r.Crashes))
	}
	c := r.Crashes[0]
	if c.Peer != 2 || c.Survivors != 5 || c.Detected != 4 || c.Last != nil || c.First == nil || *c.First != 2.0 || c.FirstSuspect == nil || *c.FirstSuspect != 0.8 {
		t.Errorf("crash: %+v (first %v, first suspect %v)", c, c.First, c.FirstSuspect)
	}
	if len(r.Restarts) != 1 || r.Restarts[0].AllSeen == nil || *r.Restarts[0].AllSeen != 0.9 {
		t.Errorf("restarts: %+v", r.Restarts)
	}
	if len(r.Heals) != 1 || r.Heals[0].Converged == nil || *r.Heals[0].Converged != 0.4 {
		t.Errorf("heals: %+v", r.Heals)
	}
	if r.FalsePositives != 1 || r.FalseSuspicions != 1 || r.JoiningFalsePositives != 1 {
		t.Errorf("false positives %d, suspicions %d, while joining %d: want 1, 1, 1", r.FalsePositives, r.FalseSuspicions, r.JoiningFalsePositives)
	}
	if r.FramesSent != 40+41+42+43+44+45+7 || r.QueueDropped != 3 || r.LateAcks != 3 || r.ObservedLoss != 0.1 {
		t.Errorf("frames %d, dropped %d, late acks %d, loss %v", r.FramesSent, r.QueueDropped, r.LateAcks, r.ObservedLoss)
	}
	if r.JoinSeconds == nil || len(r.Members) == 0 || len(r.Infection) < 2 {
		t.Errorf("join %v, %d member samples, %d curves", r.JoinSeconds, len(r.Members), len(r.Infection))
	}

	got, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "analyze_golden.json")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the report differs from %s (run with -update if the change is meant)", golden)
	}
}
