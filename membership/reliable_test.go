package membership

import (
	"hash/maphash"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// Over reliable links an update goes once to each destination, up to the
// limit of destinations, and leaves when its lifetime ends; without them a
// destination gets it again (SWIM's repeats).
func TestReliableQueueOncePerDestination(t *testing.T) {
	q := queue{reliable: true, seed: maphash.MakeSeed()}
	q.push("m1", RecAlive, alive("m1", 1), 100, 10)
	if _, n := q.fill(nil, 1000, 3, "", 0, "a"); n != 1 {
		t.Fatalf("first fill to a: %d records", n)
	}
	if out, n := q.fill(nil, 1000, 3, "", 0, "a"); n != 0 || len(out) != 0 {
		t.Fatalf("second fill to a: %d records, want none", n)
	}
	// The buddy system's preferred update is no exception.
	if _, n := q.fill(nil, 1000, 3, "m1", RecAlive, "a"); n != 0 {
		t.Fatal("preferred update sent to a twice")
	}
	if _, n := q.fill(nil, 1000, 3, "", 0, "b"); n != 1 {
		t.Fatal("fill to b: the update is not there")
	}
	// A newer update about m1 is news to a.
	q.push("m1", RecSuspect, suspectRec("m1", 1, "x"), 100, 11)
	if _, n := q.fill(nil, 1000, 3, "", 0, "a"); n != 1 {
		t.Fatal("a newer update about m1 was not sent to a")
	}
	// The suspicion goes to b and c as well: three destinations, the
	// limit, and it leaves; m2 has reached two.
	q.push("m2", RecAlive, alive("m2", 1), 100, 12)
	for _, to := range []core.NodeID{"b", "c"} {
		if _, n := q.fill(nil, 1000, 3, "", 0, to); n != 2 {
			t.Fatalf("fill to %s: %d records, want m1's suspicion and m2", to, n)
		}
	}
	if q.byID["m1"] != nil || q.len() != 1 || q.byID["m2"].sent != 2 {
		t.Fatalf("after the limit of destinations: %d queued, want m2 alone", q.len())
	}
	// The lifetime: nothing leaves before it, everything after it.
	if n := q.expire(12+5, 5); n != 0 || q.len() != 1 {
		t.Fatalf("expired %d within the lifetime", n)
	}
	if n := q.expire(12+6, 5); n != 1 || q.len() != 0 || len(q.byID) != 0 {
		t.Fatalf("expired %d after the lifetime, %d left", n, q.len())
	}

	// Without reliable links: repeats to one destination, no lifetime.
	var lossy queue
	lossy.push("m1", RecAlive, alive("m1", 1), 100, 0)
	for i := 0; i < 2; i++ {
		if _, n := lossy.fill(nil, 1000, 3, "", 0, "a"); n != 1 {
			t.Fatalf("lossy fill %d to a: %d records", i, n)
		}
	}
	if n := lossy.expire(1000, 5); n != 0 || lossy.len() != 1 {
		t.Fatal("a lossy queue expired an update")
	}
}

// A group over an overlay of six neighbours each, whose members send each
// update once per destination, still converges, detects a crash at every
// survivor and raises no false failure, with fewer update sends than with
// SWIM's repeats.
func TestReliableLinksCluster(t *testing.T) {
	const n = 30
	sent := map[bool]uint64{}
	for _, reliable := range []bool{false, true} {
		c := newCluster(t, n, 5, func(i int, cfg *Config) {
			var nb staticNeighbors
			for _, d := range []int{1, 2, 5, n - 5, n - 2, n - 1} {
				nb = append(nb, nodeID((i+d)%n))
			}
			cfg.Neighbors = nb
			cfg.ReliableLinks = reliable
		})
		c.joinAll()
		c.runUntil(600, "join", c.converged)
		c.down[11] = true
		c.runUntil(1000, "crash detection", c.converged)
		if n := c.count(EventFail, nodeID(11)); n != 29 {
			t.Fatalf("reliable %v: fail events about n011: %d, want 29", reliable, n)
		}
		var expired uint64
		for i, m := range c.nodes {
			if i == 11 {
				continue
			}
			st := m.Stats()
			sent[reliable] += st.UpdatesSent
			expired += st.UpdatesExpired
			checkInvariants(t, m)
		}
		for _, e := range c.events {
			if e.Kind == EventFail && e.Member.ID != nodeID(11) {
				t.Fatalf("reliable %v: false failure of %s", reliable, e.Member.ID)
			}
		}
		if !reliable && expired != 0 {
			t.Fatalf("%d updates expired without reliable links", expired)
		}
	}
	t.Logf("updates sent: %d with repeats, %d once per destination", sent[false], sent[true])
	if 4*sent[true] > 3*sent[false] {
		t.Fatalf("once per destination sent %d updates, more than 3/4 of the %d with repeats", sent[true], sent[false])
	}
}

// The destination recorded is the member a frame goes to, not the member
// the buddy system prefers news about: a ping-req to a helper (no buddy)
// and a ping to a suspect (the suspect its own buddy) both count for
// their receiver only.
func TestReliableDestinationIsReceiver(t *testing.T) {
	m, _, _ := newTest(t, func(c *Config) { quiet(c); c.ReliableLinks = true })
	m.enqueue("m1", RecAlive, alive("m1", 1))
	records := func(to core.NodeID) int {
		f, err := core.DecodeFrame(m.Piggyback(to, core.NewFrame(nil), 1000), core.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		return len(f.Records)
	}
	m.send("helper", appendSeq(core.NewFrame(nil), RecNack, 1), "target")
	if n := records("helper"); n != 0 {
		t.Fatalf("the update went to helper twice (%d records)", n)
	}
	if n := records("target"); n != 1 {
		t.Fatalf("the update was counted as sent to the buddy, which never got it (%d records)", n)
	}
}

// Without dedicated gossip rounds (GossipInterval 0) an update over
// reliable links still leaves the queue when its lifetime ends, rather
// than wait for λ·log n destinations that may never come.
func TestReliableLifetimeWithoutGossipRounds(t *testing.T) {
	m, _, _ := newTest(t, func(c *Config) { quiet(c); c.ReliableLinks = true })
	m.enqueue("m1", RecAlive, alive("m1", 1))
	life := int(m.reliableLifetime())
	for i := 0; i < life; i++ {
		m.Tick()
	}
	if m.Pending() != 1 {
		t.Fatalf("%d updates pending within the lifetime, want 1", m.Pending())
	}
	m.Tick()
	if m.Pending() != 0 || m.Stats().UpdatesExpired != 1 {
		t.Fatalf("after the lifetime: %d pending, %d expired", m.Pending(), m.Stats().UpdatesExpired)
	}
}

// A member that sent this one the queued update itself is not sent it
// back (queue.heard): only the same record counts, and only over reliable
// links.
func TestReliableQueueNotBackToSender(t *testing.T) {
	body := func(rec []byte) []byte { return rec[2:] } // type, one length byte
	q := queue{reliable: true, seed: maphash.MakeSeed()}
	q.push("m1", RecAlive, alive("m1", 2), 100, 10)
	q.heard("m1", RecAlive, body(alive("m1", 2)), "a")
	q.heard("m1", RecAlive, body(alive("m1", 1)), "b")             // another incarnation
	q.heard("m1", RecSuspect, body(suspectRec("m1", 2, "x")), "c") // another record
	q.heard("m2", RecAlive, body(alive("m2", 2)), "d")             // nothing queued about m2
	if _, n := q.fill(nil, 1000, 8, "", 0, "a"); n != 0 {
		t.Fatal("the update went back to the member it came from")
	}
	for _, to := range []core.NodeID{"b", "c", "d"} {
		if _, n := q.fill(nil, 1000, 8, "", 0, to); n != 1 {
			t.Fatalf("fill to %s: %d records, want the update", to, n)
		}
	}
	if q.heardFrom != 1 {
		t.Fatalf("heardFrom %d, want 1", q.heardFrom)
	}
	// A newer update about m1 is news to a again.
	q.push("m1", RecAlive, alive("m1", 3), 100, 11)
	if _, n := q.fill(nil, 1000, 8, "", 0, "a"); n != 1 {
		t.Fatal("a newer update did not go to a")
	}

	// A batch's key built on the stack finds it without an allocation.
	var stack [96]byte
	b := &verdictBatch{from: "d1", sig: []byte("12345678signature")}
	q.push(relayKey(b), RecVerdicts, []byte{RecVerdicts, 1, 7}, 100, 12)
	if allocs := testing.AllocsPerRun(10, func() {
		q.heardBytes(appendRelayKey(stack[:0], b), RecVerdicts, []byte{7}, "e")
	}); allocs != 0 {
		t.Fatalf("a copy of a queued batch heard: %v allocations, want 0", allocs)
	}
	if _, n := q.fill(nil, 1000, 8, "", 0, "e"); n != 1 { // m1's alive alone: e sent the batch
		t.Fatalf("fill to e: %d records, want m1's alive alone", n)
	}
	// Sends are counted by type: five of m1's alive, none of the batch.
	if q.sentAlive != 5 || q.sentVerdicts != 0 {
		t.Fatalf("sends counted: %d alive, %d verdict batches; want 5 and 0", q.sentAlive, q.sentVerdicts)
	}

	// Without reliable links a copy heard proves nothing about repeats.
	var lossy queue
	lossy.push("m1", RecAlive, alive("m1", 2), 100, 0)
	lossy.heard("m1", RecAlive, body(alive("m1", 2)), "a")
	if _, n := lossy.fill(nil, 1000, 8, "", 0, "a"); n != 1 {
		t.Fatal("lossy queue skipped a destination it heard from")
	}
}

// Every relayed update type a member receives (alive, bump, dead, leave)
// marks its sender as holding the queued copy, through handle.
func TestReliableHandleNotesSender(t *testing.T) {
	m, _, _ := newTest(t, func(c *Config) { quiet(c); c.ReliableLinks = true })
	bump := appendBump(nil, bumpMsg{id: "x3", inc: 4, base: 1})
	for _, tc := range []struct {
		id  core.NodeID
		rec []byte
	}{
		{"x1", alive("x1", 2)},
		{"x2", deadRec("x2", 2, "y")},
		{"x3", bump},
		{"x4", leaveRec("x4", 2)},
	} {
		m.queue.push(tc.id, tc.rec[0], tc.rec, 100, m.tick)
		body := tc.rec[2:] // type, one length byte
		if err := m.handle("s", core.Record{Type: tc.rec[0], Body: body}); err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		if u := m.queue.byID[tc.id]; u == nil || !u.wentTo(m.queue.destKey("s")) {
			t.Fatalf("record type %#x: the sender is not noted as holding it", tc.rec[0])
		}
	}
}
