package membership

import "testing"

// AskState asks a member for its state at most once per gap and once in
// stateAskSpacing ticks over all members; StateSince holds once the answer arrived and
// for the given number of ticks after it.
func TestAskState(t *testing.T) {
	c := newCluster(t, 4, 1, nil)
	c.joinAll()
	c.runUntil(2000, "convergence", c.converged)
	m := c.nodes[0]
	if m.StateSince(nodeID(1), 100) {
		t.Fatal("a state counted before it was asked for")
	}
	if !m.AskState(nodeID(1), 10) {
		t.Fatal("first ask refused")
	}
	if m.AskState(nodeID(2), 10) {
		t.Fatal("a second member asked at once")
	}
	if m.AskState(m.ID(), 10) {
		t.Fatal("asked itself")
	}
	c.deliver()
	if !m.StateSince(nodeID(1), 5) || m.StateSince(nodeID(2), 5) {
		t.Fatal("the answer was not recorded for the member asked only")
	}
	c.run(stateAskSpacing)
	if m.AskState(nodeID(1), 10) {
		t.Fatal("asked again within the gap")
	}
	if !m.AskState(nodeID(2), 10) {
		t.Fatal("another member not asked after stateAskSpacing ticks")
	}
	c.run(10 - stateAskSpacing)
	if m.StateSince(nodeID(1), 5) || !m.StateSince(nodeID(1), 20) {
		t.Fatal("StateSince does not measure the answer's age")
	}
	if !m.AskState(nodeID(1), 10) {
		t.Fatal("not asked again after the gap")
	}
	if m.StateSince(nodeID(1), 100) {
		t.Fatal("an answer from before the latest ask counted")
	}
	if st := m.AskStats(); st.Asked != 3 || st.Answered != 2 || st.Limited != 2 {
		t.Fatalf("ask stats %+v", st)
	}
}

// A member that departed before this one joined is not learned from the
// answer of an asked member, but is remembered as vouched for by it.
func TestAskStateVouchesForDeparted(t *testing.T) {
	c := newCluster(t, 6, 2, nil)
	c.down[5] = true // joins later
	c.joinAll()
	c.runUntil(2000, "convergence", c.converged)
	c.nodes[4].Leave()
	c.runUntil(2000, "the leave", func() bool {
		mem, _ := c.nodes[0].Member(nodeID(4))
		return mem.State == StateLeft
	})
	c.down[4] = true
	c.down[5] = false
	late := c.nodes[5]
	if !late.AskState(nodeID(0), 10) {
		t.Fatal("not asked")
	}
	c.deliver()
	if _, ok := late.Member(nodeID(4)); ok {
		t.Fatal("a departed member learned from another's state")
	}
	if _, ok := late.Member(nodeID(1)); !ok {
		t.Fatal("the live members not learned from the answer")
	}
	if !late.Vouched(nodeID(0), nodeID(4)) || late.Vouched(nodeID(0), nodeID(1)) || late.Vouched(nodeID(1), nodeID(4)) {
		t.Fatal("vouched: want the departed member, by the member asked only")
	}
	if !late.StateSince(nodeID(0), 1) {
		t.Fatal("the answer not recorded")
	}
}
