package core

import "testing"

// Both ends of a link agree on whether it carries a message's
// announcement, and a share s of the links is chosen.
func TestPairAnnounceSymmetric(t *testing.T) {
	const n = 20
	tn := plumNet(t, n, 3, nil)
	const share = 0.3
	chosen, total := 0, 0
	for seq := uint64(1); seq <= 200; seq++ {
		k := MsgKey{Origin: nodeName(int(seq % n)), Seq: seq}
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				a := tn.nodes[i].pairAnnounce(k, nodeName(j), share)
				b := tn.nodes[j].pairAnnounce(k, nodeName(i), share)
				if a != b {
					t.Fatalf("key %v: link %d-%d chosen by one end only", k, i, j)
				}
				total++
				if a {
					chosen++
				}
			}
		}
	}
	if got := float64(chosen) / float64(total); got < 0.27 || got > 0.33 {
		t.Fatalf("%.3f of the links chosen, want about %.2f", got, share)
	}
	// The links of one node are chosen independently of each other: a
	// key for which a node announces on none of its 19 links is rare
	// (0.7^19 ≈ 0.1 %). A hash that spreads the neighbour's ID poorly
	// chose all of them or none.
	none := 0
	for seq := uint64(1); seq <= 1000; seq++ {
		k := MsgKey{Origin: nodeName(3), Seq: seq}
		c := 0
		for j := 1; j < n; j++ {
			if tn.nodes[0].pairAnnounce(k, nodeName(j), share) {
				c++
			}
		}
		if c == 0 {
			none++
		}
	}
	if none > 20 {
		t.Fatalf("%d of 1000 keys chosen on none of a node's links", none)
	}
}

// With PlumAnnounceDelayCalls, first receipt announces nothing at once; the
// announcements go out after that many ResendUnanswered calls, except to
// neighbours that announced the message first. A node that gets no calls
// announces at its next tick, and loss is still repaired.
func TestPlumAnnounceDelay(t *testing.T) {
	const n, delay = 60, 2
	tn := plumNet(t, n, 7, func(_ int, c *Config) {
		c.EagerMin, c.PlumLazyFanout, c.PlumAnnounceDelayCalls = 0, 3, delay
	})
	for j := 0; j < 20; j++ { // the tree forms; ticks flush what waits
		tn.publish(j%n, "t", []byte("warm"))
		tn.round()
	}
	sent := func() (lazy, suppressed, ihaves uint64) {
		for _, e := range tn.nodes {
			lazy += e.PlumStats().LazySent
			suppressed += e.PlumStats().LazySuppressed
			ihaves += e.Stats().IHavesSent
		}
		return
	}
	lazy0, supp0, ih0 := sent()

	m := tn.publish(5, "t", []byte("deferred"))
	if got := tn.have(m.Key()); got != n {
		t.Fatalf("%d of %d have the message after the eager push", got, n)
	}
	if _, _, ih := sent(); ih != ih0 {
		t.Fatalf("%d announcements sent on first receipt, want none before the delay", ih-ih0)
	}
	waiting := 0
	for _, e := range tn.nodes {
		if len(e.plum.announce) > 0 {
			waiting++
			if !e.AwaitingAnswers() {
				t.Fatal("announcements wait but AwaitingAnswers is false")
			}
		}
	}
	if waiting == 0 {
		t.Fatal("no node has announcements waiting")
	}
	// One call each: not due yet.
	for _, e := range tn.nodes {
		e.ResendUnanswered()
	}
	tn.settle()
	if _, _, ih := sent(); ih != ih0 {
		t.Fatalf("%d announcements after %d of %d calls", ih-ih0, 1, delay)
	}
	// The second call, node by node: a node's announcements reach the
	// later nodes before their own are due, and those leave it out.
	for _, e := range tn.nodes {
		e.ResendUnanswered()
		tn.settle()
	}
	lazy1, supp1, _ := sent()
	if lazy1 == lazy0 || supp1 == supp0 {
		t.Fatalf("after the delay: %d announcements sent, %d left out; want both", lazy1-lazy0, supp1-supp0)
	}
	for i, e := range tn.nodes {
		if len(e.plum.announce) != 0 || len(e.plum.announcing) != 0 {
			t.Fatalf("node %d still holds %d waiting announcements", i, len(e.plum.announce))
		}
	}

	// Without calls, the next tick sends them.
	lazy0 = lazy1
	tn.publish(9, "t", []byte("by tick"))
	tn.round()
	if lazy2, _, _ := sent(); lazy2 == lazy0 {
		t.Fatal("no announcements at the tick after receipt")
	}

	requireLossRepaired(t, tn)
}

// An announcement (or body) from a neighbour takes only that neighbour out
// of a waiting announcement: a hostile neighbour can silence announcements
// to itself, not to anyone else.
func TestPlumHeardRemovesOnlyTheSender(t *testing.T) {
	const n = 40
	tn := plumNet(t, n, 11, func(_ int, c *Config) {
		c.EagerMin, c.PlumLazyFanout, c.PlumAnnounceDelayCalls = 0, 0, 2 // all lazy links chosen
	})
	for j := 0; j < 10; j++ {
		tn.publish(j%n, "t", []byte("warm"))
		tn.round()
	}
	m := tn.publish(3, "t", []byte("m"))
	for _, e := range tn.nodes {
		pa := e.plum.announcing[m.Key()]
		if pa == nil || len(pa.targets) < 2 {
			continue
		}
		first, rest := pa.targets[0], append([]NodeID(nil), pa.targets[1:]...)
		e.onIHave(first, []MsgKey{m.Key()})
		e.onIHave(nodeName(n+5), []MsgKey{m.Key()}) // not a target: changes nothing
		if len(pa.targets) != len(rest) {
			t.Fatalf("targets %v after an IHAVE from %s, want %v", pa.targets, first, rest)
		}
		for i, id := range pa.targets {
			if id != rest[i] {
				t.Fatalf("targets %v after an IHAVE from %s, want %v", pa.targets, first, rest)
			}
		}
		return
	}
	t.Fatal("no node with two or more waiting targets")
}
