package membership

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestViewSumsAgree: two members that list the same members, learnt in any
// order, have the same view sum; one more member makes them differ, and
// the sum follows members that fail.
func TestViewSumsAgree(t *testing.T) {
	a, _, _ := newTest(t, func(c *Config) { quiet(c); c.ID = "a" })
	b, _, _ := newTest(t, func(c *Config) { quiet(c); c.ID = "b" })
	put(t, a, "b", StateAlive, 1)
	put(t, b, "a", StateAlive, 1)
	for _, id := range []core.NodeID{"x", "y", "z"} {
		put(t, a, id, StateAlive, 1)
	}
	for _, id := range []core.NodeID{"z", "y", "x"} {
		put(t, b, id, StateAlive, 1)
	}
	ca, sa := a.viewSum()
	cb, sb := b.viewSum()
	if ca != 5 || ca != cb || sa != sb {
		t.Fatalf("same members, sums (%d, %x) and (%d, %x)", ca, sa, cb, sb)
	}
	put(t, a, "w", StateAlive, 1)
	if c, s := a.viewSum(); c == cb || s == sb {
		t.Fatal("a member more, same sum")
	}
	put(t, a, "w", StateDead, 1)
	if c, s := a.viewSum(); c != cb || s != sb {
		t.Fatal("after the extra member failed, the sums still differ")
	}
}

// TestViewSumStartsExchange: a prober whose view sum differs from this
// member's on two pings at least viewSumPersist ticks apart gets a digest
// exchange at once; one differing ping, pings with equal sums, or a second
// difference too soon start none; and no more than one starts per
// PushPullInterval/4.
func TestViewSumStartsExchange(t *testing.T) {
	m, tr, _ := newTest(t, func(c *Config) { quiet(c); c.PushPullInterval = 400 })
	for _, id := range []core.NodeID{"p", "q", "x"} {
		put(t, m, id, StateAlive, 1)
	}
	count, sum := m.viewSum()
	pingFrom := func(from core.NodeID, c, s uint64) int {
		t.Helper()
		tr.sent = nil
		step(t, m, from, appendPing(nil, ping{seq: 1, target: "self"}), appendViewSum(nil, c, s))
		return len(tr.records(from, RecStateDigest))
	}
	ticks := func(k int) {
		for i := 0; i < k; i++ {
			m.Tick()
		}
	}
	if n := pingFrom("p", count, sum); n != 0 {
		t.Fatal("equal sums started an exchange")
	}
	if n := pingFrom("p", count+1, sum^1); n != 0 {
		t.Fatal("one differing sum started an exchange")
	}
	ticks(viewSumPersist / 2)
	if n := pingFrom("p", count+1, sum^1); n != 0 {
		t.Fatal("a difference younger than viewSumPersist started an exchange")
	}
	ticks(viewSumPersist)
	if n := pingFrom("p", count+1, sum^1); n != 1 || m.Stats().ViewSyncs != 1 {
		t.Fatalf("a lasting difference: %d digests, ViewSyncs %d; want 1, 1", n, m.Stats().ViewSyncs)
	}
	// Another prober's lasting difference within PushPullInterval/4: none.
	pingFrom("q", count+2, sum^2)
	ticks(viewSumPersist)
	if n := pingFrom("q", count+2, sum^2); n != 0 || m.Stats().ViewSyncsLimited != 1 {
		t.Fatalf("within the limit: %d digests, limited %d", n, m.Stats().ViewSyncsLimited)
	}
	// A difference that went away in between starts over.
	ticks(100)
	pingFrom("q", count+2, sum^2)
	pingFrom("q", count, sum)
	ticks(viewSumPersist)
	if n := pingFrom("q", count+2, sum^2); n != 0 {
		t.Fatal("a difference seen once since the sums last agreed started an exchange")
	}
	ticks(viewSumPersist)
	if n := pingFrom("q", count+2, sum^2); n != 1 {
		t.Fatal("after the limit, a lasting difference started no exchange")
	}
	// A prober that is not a live member this one knows gets nothing, however
	// long its sum differs: the exchange would hand it member entries.
	ticks(100)
	for i := 0; i < 3; i++ {
		if n := pingFrom("stranger", count+3, sum^3); n != 0 {
			t.Fatal("a stranger's differing sum started an exchange")
		}
		ticks(viewSumPersist)
	}
	if m.Stats().ViewSumsRefused != 3 {
		t.Fatalf("ViewSumsRefused %d, want 3", m.Stats().ViewSumsRefused)
	}
	// Malformed sums are errors, not panics.
	for _, body := range [][]byte{{}, {1}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}} {
		if err := m.Step("p", frame(core.AppendRecord(nil, RecViewSum, body))); err == nil {
			t.Errorf("view sum %x accepted", body)
		}
	}
}
