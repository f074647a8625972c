package membership

import (
	"fmt"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

func TestQueueOrderAndLimits(t *testing.T) {
	var q queue
	for i := 0; i < 5; i++ {
		q.push(core.NodeID(fmt.Sprintf("m%d", i)), RecAlive, alive(core.NodeID(fmt.Sprintf("m%d", i)), 1), 100, 0)
	}
	// Replacing an update about the same member keeps one.
	q.push("m0", RecSuspect, suspectRec("m0", 1, "x"), 100, 0)
	if q.len() != 5 {
		t.Fatalf("len %d", q.len())
	}
	out, n := q.fill(nil, 1000, 2, "", 0, "")
	if n != 5 {
		t.Fatalf("filled %d", n)
	}
	// Newest first: m0's suspicion, then m4..m1.
	f := frame(out)
	r := wire.NewReader(f.Records[0].Body)
	if f.Records[0].Type != RecSuspect || string(core.NodeID(r.ID(64))) != "m0" {
		t.Fatal("newest update not first")
	}
	// A new update goes before those already sent once.
	q.push("m9", RecAlive, alive("m9", 1), 100, 0)
	out, _ = q.fill(nil, len(alive("m9", 1)), 2, "", 0, "")
	if f := frame(out); len(f.Records) != 1 || string(wire.NewReader(f.Records[0].Body).ID(64)) != "m9" {
		t.Fatal("least sent not first")
	}
	// Each update leaves after limit transmissions.
	q.fill(nil, 1000, 2, "", 0, "")
	if q.len() != 0 || len(q.byID) != 0 {
		t.Fatalf("after two transmissions %d left", q.len())
	}
	// The bound drops the most transmitted first.
	var q2 queue
	q2.push("a", RecAlive, alive("a", 1), 2, 0)
	q2.fill(nil, 1000, 10, "", 0, "")
	q2.push("b", RecAlive, alive("b", 1), 2, 0)
	if d := q2.push("c", RecAlive, alive("c", 1), 2, 0); d != 1 || q2.byID["a"] != nil {
		t.Fatal("bound did not drop the most transmitted")
	}
	// Room is respected.
	out, n = q2.fill(nil, 3, 10, "", 0, "")
	if n != 0 || len(out) != 0 {
		t.Fatal("overfilled")
	}
}
