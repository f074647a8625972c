package attack

import (
	"fmt"
	"testing"
	"time"
)

// checkSim asserts issue 12's goals on a simulated run: no honest member
// declared dead, every honest message delivered, no duplicate delivery,
// heap growth at most 64 MiB per honest node, no honest node penalized by
// another, and the attacker penalized within 10 s of virtual time where
// it should be (never in the quiet baseline).
func checkSim(t *testing.T, r SimResult) {
	t.Helper()
	t.Log(r)
	if r.DeclaredDead != 0 {
		t.Errorf("%d honest members declared dead", r.DeclaredDead)
	}
	if r.Delivered != r.Expected || r.Expected == 0 {
		t.Errorf("delivered %d of %d", r.Delivered, r.Expected)
	}
	if r.Duplicates != 0 {
		t.Errorf("%d duplicate deliveries", r.Duplicates)
	}
	if r.HeapPerPeer() > 64<<20 {
		t.Errorf("heap grew %d MiB per honest node", r.HeapPerPeer()>>20)
	}
	if r.HonestPenalized != 0 {
		t.Errorf("%d honest nodes penalized by honest nodes", r.HonestPenalized)
	}
	switch {
	case !ExpectPenalty(ProtoConfig{Kind: r.Kind}):
		if r.Penalizing != 0 {
			t.Errorf("%d honest nodes penalized the quiet member", r.Penalizing)
		}
	case r.Penalizing == 0:
		t.Errorf("attacker not penalized")
	case r.PenaltyAfter > 10*time.Second:
		t.Errorf("attacker penalized only after %v", r.PenaltyAfter)
	}
	if r.Kind == OriginFlood && r.AttackerMsgs != 0 {
		t.Errorf("%d messages of invented origins delivered", r.AttackerMsgs)
	}
}

// TestSimAttacks runs every protocol attack of issue 12, and the quiet
// baseline, in the simulator: 8 honest nodes and one hostile member, two
// seeds of 5 s of virtual time each, 1,000 invented origins (about 25 s
// under the race detector); make attack's -attack.long runs ten seeds of
// 20 s, 10,000 invented origins.
func TestSimAttacks(t *testing.T) {
	seeds, d, origins := 2, 5*time.Second, 1000
	if *long {
		seeds, d, origins = 10, *duration, 10000
	}
	for _, k := range append([]ProtoKind{Quiet}, ProtoKinds...) {
		for s := 1; s <= seeds; s++ {
			t.Run(fmt.Sprintf("%s/seed%d", k, s), func(t *testing.T) {
				t.Parallel()
				r, err := RunSim(SimConfig{Kind: k, Seed: uint64(s), Duration: d, Origins: origins})
				if err != nil {
					t.Fatal(err)
				}
				checkSim(t, r)
			})
		}
	}
}

// TestSimAttackDeterministic: a seed gives the same run twice.
func TestSimAttackDeterministic(t *testing.T) {
	cfg := SimConfig{Kind: ForgedDead, Seed: 7, Duration: 3 * time.Second, Honest: 5}
	a, err := RunSim(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := RunSim(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.HeapGrowth, b.HeapGrowth = 0, 0
	if a.String() != b.String() || a.Joined != b.Joined {
		t.Fatalf("two runs of one seed differ:\n%v\n%v", a, b)
	}
}
