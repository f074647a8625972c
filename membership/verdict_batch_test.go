package membership

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// waveVictims is every tenth member of a ring of n and the one four places
// after it: a fifth of the group.
func waveVictims(n int) []int {
	var victims []int
	for v := 3; v < n; v += 10 {
		victims = append(victims, v, v+4)
	}
	return victims
}

// wave is what crashWave measured.
type wave struct {
	ticks, ticks95 int // until every survivor holds every victim dead; until 95 % of the pairs do
}

// crashWave crashes victims at once and runs c until every survivor holds
// every victim dead, failing if a live member is declared dead.
func (c *cluster) crashWave(t *testing.T, victims []int, what string) wave {
	for _, v := range victims {
		c.down[v] = true
	}
	var w wave
	pairs, start := (len(c.nodes)-len(victims))*len(victims), c.now
	w.ticks = c.runUntil(600, what+": survivors hold the victims dead", func() bool {
		if w.ticks95 == 0 && c.pairsHoldingDead(victims) >= pairs*95/100 {
			w.ticks95 = c.now - start
		}
		return c.allHoldDead(victims...)
	})
	c.run(100)
	for _, e := range c.events {
		if e.Kind == EventFail && !c.down[c.byID[e.Member.ID]] {
			t.Fatalf("%s: live member %s declared dead", what, e.Member.ID)
		}
	}
	return w
}

// TestVerdictBatchWave: a fifth of a ring overlay crashes at once. With
// BatchVerdicts every survivor still holds every victim dead, 95 % of
// them about as soon as without, no live member is declared dead, and the
// survivors check fewer signatures per victim: one batch credits its
// declarer for every victim it lists.
func TestVerdictBatchWave(t *testing.T) {
	const n = 120
	victims := waveVictims(n)
	type outcome struct {
		wave
		checksPerPair float64
		batches       uint64
	}
	runOne := func(seed uint64, batch bool) outcome {
		c, cc := localCluster(t, n, seed, true, func(i int, cfg *Config) { cfg.BatchVerdicts = batch })
		clear(cc.suspect)
		clear(cc.dead)
		o := outcome{wave: c.crashWave(t, victims, fmt.Sprintf("batch=%v", batch))}
		o.checksPerPair = float64(sum(cc.dead)) / float64((n-len(victims))*len(victims))
		for _, m := range c.nodes {
			o.batches += m.Stats().VerdictBatches
		}
		return o
	}
	for seed := uint64(1); seed <= 3; seed++ {
		single, batched := runOne(seed, false), runOne(seed, true)
		t.Logf("seed %d: single %+v; batched %+v", seed, single, batched)
		if batched.batches == 0 || single.batches != 0 {
			t.Fatalf("seed %d: %d batches signed with BatchVerdicts, %d without", seed, batched.batches, single.batches)
		}
		if batched.checksPerPair >= 0.9*single.checksPerPair {
			t.Errorf("seed %d: %.2f checks per survivor per victim with batches, %.2f without: no saving", seed, batched.checksPerPair, single.checksPerPair)
		}
		// The last pairs can wait out Lifeguard's longest timeout for a
		// second declarer in either mode; 95 % of them are the measure.
		if batched.ticks95 > single.ticks95+10 {
			t.Errorf("seed %d: 95 %% of the pairs held their victim dead after %d ticks with batches, %d without", seed, batched.ticks95, single.ticks95)
		}
	}
}

// pairsHoldingDead counts the (up member, victim) pairs where the member
// holds the victim dead.
func (c *cluster) pairsHoldingDead(victims []int) (k int) {
	for i, m := range c.nodes {
		if c.down[i] {
			continue
		}
		for _, v := range victims {
			if mem, ok := m.Member(nodeID(v)); ok && mem.State == StateDead {
				k++
			}
		}
	}
	return k
}

// TestAttackVerdictBatch: a hostile member signs one batch declaring two
// live members dead, and sends another whose signature it made up. The
// forged one is refused and blamed on its sender; the signed one is one
// declarer's word on each entry, a suspicion everywhere: both accused
// refute, nobody declares either dead, and the declarer is blamed for each
// refuted accusation.
func TestAttackVerdictBatch(t *testing.T) {
	const n, attacker, a1, a2 = 24, 23, 5, 14
	pen := penalties{}
	c, _ := localCluster(t, n, 4, true, func(i int, cfg *Config) { cfg.Penalizer = pen.recorder() })
	inc1, inc2 := c.nodes[a1].Incarnation(), c.nodes[a2].Incarnation()
	b := &verdictBatch{from: nodeID(attacker), entries: []verdictEntry{{nodeID(a1), inc1}, {nodeID(a2), inc2}}}
	b.sig = testSig(nodeID(attacker), b.signingBytes())
	forged := &verdictBatch{from: nodeID(3), entries: b.entries, sig: testSig(nodeID(attacker), b.signingBytes())}
	c.inject(attacker, appendVerdicts(core.NewFrame(nil), forged))
	c.run(2)
	// Every member but the attacker and the named declarer (which takes a
	// batch in its own name as an echo) checks it.
	if got := pen[nodeID(attacker)][core.OffenceBadSignature]; got != n-2 {
		t.Errorf("a batch with a forged signature: the sender was blamed %d times, want %d", got, n-2)
	}
	c.inject(attacker, appendVerdicts(core.NewFrame(nil), b))
	c.run(400) // past the longest suspicion timeout
	if c.nodes[a1].Incarnation() <= inc1 || c.nodes[a2].Incarnation() <= inc2 {
		t.Errorf("the accused did not refute: incarnations %d, %d", c.nodes[a1].Incarnation(), c.nodes[a2].Incarnation())
	}
	if c.count(EventFail, nodeID(a1))+c.count(EventFail, nodeID(a2)) > 0 {
		t.Fatal("one member's batch of verdicts evicted a live member")
	}
	if got := pen[nodeID(attacker)][core.OffenceRefutedAccusation]; got < 2 {
		t.Errorf("the declarer was blamed for %d refuted accusations, want at least 2", got)
	}
}

// TestVerdictBatchWire: a batch decodes to what was encoded; an empty one,
// one over maxBatchVerdicts and a truncated one are errors.
func TestVerdictBatchWire(t *testing.T) {
	lim := DefaultLimits()
	b := &verdictBatch{from: "d", entries: []verdictEntry{{"a", 3}, {"b", 9}}, sig: []byte("sig")}
	body := recordBody(appendVerdicts(nil, b))
	got, err := decodeVerdicts(body, &lim, nil, nil)
	if err != nil || got.from != "d" || len(got.entries) != 2 || got.entries[1] != b.entries[1] || string(got.sig) != "sig" {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	// A received batch is checked over the bytes its declarer encoded and
	// passed on as it came: those must be the signing bytes and the record.
	if want := VerdictsSigningBytes("d", []core.NodeID{"a", "b"}, []uint64{3, 9}); verdictsDomain+string(got.signed) != string(want) {
		t.Errorf("signed bytes as received %q, want %q", got.signed, want)
	}
	if rec, want := verdictsRecord(&got), appendVerdicts(nil, b); string(rec) != string(want) {
		t.Errorf("passed on as %x, want %x", rec, want)
	}
	if _, err := decodeVerdicts(body[:len(body)-1], &lim, nil, nil); err == nil {
		t.Error("decoded a truncated batch")
	}
	empty := recordBody(appendVerdicts(nil, &verdictBatch{from: "d", sig: []byte("s")}))
	if _, err := decodeVerdicts(empty, &lim, nil, nil); !errors.Is(err, core.ErrMalformed) {
		t.Errorf("an empty batch: %v, want ErrMalformed", err)
	}
	big := &verdictBatch{from: "d", sig: []byte("s")}
	for i := range maxBatchVerdicts + 1 {
		big.entries = append(big.entries, verdictEntry{nodeID(i), 1})
	}
	if _, err := decodeVerdicts(recordBody(appendVerdicts(nil, big)), &lim, nil, nil); err == nil {
		t.Errorf("decoded a batch of %d verdicts", len(big.entries))
	}
}

// TestDirectVerdicts: with DirectVerdicts a batch that comes from its
// declarer is applied without a signature check (the declarer's
// connection vouches for it), unless it is to be passed on: then its
// signature is checked, and a bad one blamed on the sender and not passed
// on. A batch relayed by another member is checked as before.
func TestDirectVerdicts(t *testing.T) {
	const n, victim, d1, d2, receiver, relay, other = 24, 7, 3, 11, 17, 20, 18
	pen := penalties{}
	c, _ := localCluster(t, n, 8, true, func(i int, cfg *Config) { cfg.Penalizer = pen.recorder() })
	c.down[victim] = true // it refutes nothing
	inc := c.nodes[receiver].members.get(c.nodes[receiver].all, nodeID(victim)).incarnation
	batch := func(declarer, signer int) []byte {
		b := &verdictBatch{from: nodeID(declarer), entries: []verdictEntry{{nodeID(victim), inc}}}
		b.sig = testSig(nodeID(signer), b.signingBytes())
		return appendVerdicts(core.NewFrame(nil), b)
	}
	r := c.nodes[receiver]
	checks := func() uint64 { return r.Stats().SignaturesChecked }
	state := func() State { mem, _ := r.Member(nodeID(victim)); return mem.State }

	// d1's own batch with a bad signature: d1's claim, held as a suspicion,
	// but not passed on, and d1 blamed (the pass-on's check).
	before := checks()
	if err := r.Step(nodeID(d1), decodeFrame(t, batch(d1, relay))); err != nil {
		t.Fatal(err)
	}
	if got := checks() - before; got != 1 || pen[nodeID(d1)][core.OffenceBadSignature] != 1 || state() != StateSuspect {
		t.Fatalf("a declarer's own batch, badly signed: %d checks, d1 blamed %d times, the victim %v; want 1, 1, suspect",
			got, pen[nodeID(d1)][core.OffenceBadSignature], state())
	}
	// d2's own batch: the second declarer, believed without a check.
	before = checks()
	if err := r.Step(nodeID(d2), decodeFrame(t, batch(d2, d2))); err != nil {
		t.Fatal(err)
	}
	if got := checks() - before; got != 0 || state() != StateDead || r.Stats().VerdictsDirect != 2 {
		t.Fatalf("a second declarer's own batch: %d checks, the victim %v, %d direct; want 0, dead, 2", got, state(), r.Stats().VerdictsDirect)
	}
	// Relayed, it is checked.
	o := c.nodes[other]
	before = o.Stats().SignaturesChecked
	if err := o.Step(nodeID(relay), decodeFrame(t, batch(d2, d2))); err != nil {
		t.Fatal(err)
	}
	if got := o.Stats().SignaturesChecked - before; got != 1 || o.Stats().VerdictsDirect != 0 {
		t.Fatalf("a relayed batch: %d checks, %d direct; want 1, 0", got, o.Stats().VerdictsDirect)
	}
}

// TestVerdictBatchDecodeAllocs: a batch about members this one knows
// decodes into the memberlist's reused entries with their IDs taken from
// the member list: nothing is allocated, and the IDs are equal to the
// encoded ones. An unknown ID is copied.
func TestVerdictBatchDecodeAllocs(t *testing.T) {
	const n = 10
	c, _ := localCluster(t, n, 2, true, nil)
	m := c.nodes[1]
	lim := DefaultLimits()
	b := &verdictBatch{from: nodeID(3), sig: []byte("sig")}
	for i := 4; i < 4+maxBatchVerdicts && i < n; i++ {
		b.entries = append(b.entries, verdictEntry{nodeID(i), uint64(i)})
	}
	body := recordBody(appendVerdicts(nil, b))
	dst := make([]verdictEntry, 0, maxBatchVerdicts)
	declarer := nodeID(3)
	allocs := testing.AllocsPerRun(100, func() {
		got, err := decodeVerdicts(body, &lim, m.internID, dst)
		if err != nil || got.from != declarer || len(got.entries) != len(b.entries) {
			t.Fatalf("decoded %+v, %v", got, err)
		}
	})
	if allocs != 0 {
		t.Errorf("decoding a batch of known members allocated %.1f times, want 0", allocs)
	}
	got, _ := decodeVerdicts(body, &lim, m.internID, dst)
	for i, e := range got.entries {
		if e != b.entries[i] {
			t.Fatalf("entry %d decoded as %+v, want %+v", i, e, b.entries[i])
		}
	}
	stranger := &verdictBatch{from: "stranger", entries: []verdictEntry{{"nobody", 1}}, sig: []byte("s")}
	got, err := decodeVerdicts(recordBody(appendVerdicts(nil, stranger)), &lim, m.internID, dst)
	if err != nil || got.from != "stranger" || got.entries[0].id != "nobody" {
		t.Errorf("a batch of unknown IDs decoded as %+v, %v", got, err)
	}
}

// TestVerdictRelaysFewer: a member that passes on another declarer's batch
// (it held the death as that declarer's suspicion) sends it to
// relaySends members, a quarter of the limit an update goes to; the
// members that believe the death pass on their own verdicts to every
// neighbour. A batch of its own, and any other update, still goes to the
// whole limit.
func TestVerdictRelaysFewer(t *testing.T) {
	const n, declarer, victim, relayer, member = 40, 3, 20, 11, 10
	c, _ := localCluster(t, n, 5, true, func(i int, cfg *Config) { cfg.ReliableLinks = true })
	m := c.nodes[member]
	b := &verdictBatch{from: nodeID(declarer), entries: []verdictEntry{{nodeID(victim), c.nodes[victim].Incarnation()}}}
	b.sig = testSig(nodeID(declarer), b.signingBytes())
	if err := m.Step(nodeID(relayer), decodeFrame(t, appendVerdicts(core.NewFrame(nil), b))); err != nil {
		t.Fatal(err)
	}
	limit := RetransmitLimit(m.cfg.RetransmitMult, m.Size())
	relayed := m.queue.byID[relayKey(b)]
	if relayed == nil {
		t.Fatal("the batch was not passed on")
	}
	other := []byte{RecViewSum, 1, 0} // any record: a stand-in update
	m.queue.push("other", RecViewSum, other, m.cfg.MaxQueuedUpdates, m.tick)
	got := map[string]int{}
	for k := 0; k < n; k++ {
		if k == member || k == relayer {
			continue
		}
		frame, _ := m.queue.fill(nil, 4096, limit, "", 0, nodeID(k))
		if bytes.Contains(frame, relayed.rec) {
			got["relayed"]++
		}
		if bytes.Contains(frame, other) {
			got["other"]++
		}
	}
	if want := relaySends(limit); got["relayed"] != want || want >= limit {
		t.Errorf("the relayed batch went to %d members, want %d (limit %d)", got["relayed"], want, limit)
	}
	if got["other"] != limit {
		t.Errorf("another update went to %d members, want the limit %d", got["other"], limit)
	}
}
