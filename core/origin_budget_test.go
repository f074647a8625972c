package core

import (
	"fmt"
	"testing"
)

// TestNewOriginBudget: a peer that brings messages of 30 origins new to
// the node with a budget of 10 (+1 a round) gets 10 accepted, the other 20
// dropped and reported as flood offences; its own messages and messages of
// origins already known are never charged; the budget refills by round; a
// second peer has a budget of its own; and with no budget (the default)
// nothing is dropped.
func TestNewOriginBudget(t *testing.T) {
	floods := map[NodeID]int{}
	e, app := newLoneEngine(t, func(c *Config) {
		c.NewOriginBurst, c.NewOriginsPerRound = 10, 1
		c.Penalizer = PenalizerFunc(func(from NodeID, o Offence) {
			if o == OffenceFlood {
				floods[from]++
			}
		})
	})
	for i := 0; i < 30; i++ {
		e.Step("mallory", msgFrame(NodeID(fmt.Sprint("fake", i)), 1))
	}
	e.Step("mallory", msgFrame("mallory", 1))     // its own: not charged
	e.Step("mallory", msgFrame("fake0", 2))       // a known origin: not charged
	e.Step("alice", msgFrame("honest-origin", 1)) // another peer's budget
	if got := len(app.got); got != 13 {
		t.Fatalf("%d delivered, want 13", got)
	}
	if st := e.Stats(); st.OriginsOverBudget != 20 || floods["mallory"] != 20 || floods["alice"] != 0 {
		t.Fatalf("over budget %d, floods %v", st.OriginsOverBudget, floods)
	}
	for i := 0; i < 3; i++ {
		e.Tick() // RoundTicks 1: three rounds, three more origins
	}
	for i := 30; i < 40; i++ {
		e.Step("mallory", msgFrame(NodeID(fmt.Sprint("fake", i)), 1))
	}
	if got := len(app.got); got != 16 {
		t.Fatalf("%d delivered after three rounds, want 16", got)
	}
	for i := 0; i < 20; i++ {
		e.Tick()
	}
	if len(e.originBudgets) != 0 {
		t.Fatalf("%d full budgets kept", len(e.originBudgets))
	}

	off, app2 := newLoneEngine(t, nil)
	for i := 0; i < 1000; i++ {
		off.Step("mallory", msgFrame(NodeID(fmt.Sprint("fake", i)), 1))
	}
	if len(app2.got) != 1000 || off.Stats().OriginsOverBudget != 0 {
		t.Fatalf("without a budget: %d delivered, %d dropped", len(app2.got), off.Stats().OriginsOverBudget)
	}
}
