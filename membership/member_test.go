package membership

import (
	"testing"
)

func TestTombstonesReapedAndBounded(t *testing.T) {
	m, _, _ := newTest(t, func(c *Config) { quiet(c); c.TombstoneTicks = 50; c.MaxMembers = 4 })
	put(t, m, "a", StateAlive, 1)
	put(t, m, "b", StateDead, 1)
	put(t, m, "c", StateLeft, 1)
	// Table full (self, a, b, c): a newcomer evicts the oldest tombstone.
	step(t, m, "p", alive("d", 1))
	if _, ok := m.Member("b"); ok || m.stats.TombstonesEvicted != 1 {
		t.Fatal("oldest tombstone not evicted")
	}
	if _, ok := m.Member("d"); !ok {
		t.Fatal("newcomer not added")
	}
	step(t, m, "p", deadRec("a", 1, "p"))
	step(t, m, "p", alive("e", 1)) // evicts c
	step(t, m, "p", alive("f", 1)) // evicts a
	step(t, m, "p", alive("g", 1)) // full of live members: refused
	if m.stats.MembersRefused != 1 {
		t.Fatalf("refused %d", m.stats.MembersRefused)
	}
	// A stale alive of a tombstone is refused while the tombstone lasts...
	m2, _, _ := newTest(t, func(c *Config) { quiet(c); c.TombstoneTicks = 50 })
	put(t, m2, "x", StateDead, 3)
	step(t, m2, "p", alive("x", 3))
	if mem, _ := m2.Member("x"); mem.State != StateDead {
		t.Fatal("stale alive revived a tombstone")
	}
	// ...and the tombstone is forgotten after TombstoneTicks.
	for i := 0; i < 50; i++ {
		m2.Tick()
	}
	if _, ok := m2.Member("x"); ok || m2.stats.TombstonesReaped != 1 {
		t.Fatal("tombstone not reaped")
	}
}

func TestTombstoneListBoundedUnderFlapping(t *testing.T) {
	m, _, _ := newTest(t, quiet)
	put(t, m, "x", StateAlive, 0)
	for inc := uint64(0); inc < 5000; inc += 2 {
		step(t, m, "p", deadRec("x", inc, "p"))
		step(t, m, "p", alive("x", inc+1))
		step(t, m, "p", alive("x", inc+2))
		m.Tick()
	}
	if n := len(m.tombs) - m.tombHead; n > 2*len(m.all)+1024 {
		t.Fatalf("%d tombstone entries for %d members", n, len(m.all))
	}
	checkInvariants(t, m)
}
