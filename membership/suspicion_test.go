package membership

import (
	"fmt"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestNewMemberGrace: a member alive in this view for less than
// NewMemberGrace ticks is suspected with at least NewMemberSuspicionMult's
// timeout and draws no out-of-turn probe; after the grace, the profile's
// own timeout and the out-of-turn probe apply.
func TestNewMemberGrace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		age   int // ticks between learning of the member and its suspicion
		young bool
	}{
		{"young", 5, true},
		{"settled", 150, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTest(t, func(c *Config) { quiet(c); c.NewMemberGrace = 100; c.NewMemberSuspicionMult = 4 })
			for i := 0; i < 8; i++ {
				put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
			}
			for i := 0; i < tc.age; i++ {
				m.Tick()
			}
			step(t, m, "p0", suspectRec("p5", 1, "p0"))
			mem := m.members.get(m.all, "p5")
			if mem == nil || mem.state != StateSuspect {
				t.Fatal("p5 not suspected")
			}
			floor := 4 * logN(m.Size()) * float64(m.cfg.ProbeInterval)
			short := m.cfg.SuspicionMult * logN(m.Size()) * float64(m.cfg.ProbeInterval)
			if got := mem.suspicion().min; tc.young && got < floor || !tc.young && got != short {
				t.Fatalf("minimum suspicion timeout %.1f ticks (young %v; floor %.1f, profile %.1f)", got, tc.young, floor, short)
			}
			if urgent := m.urgent != nil && m.urgent.id == "p5"; urgent == tc.young {
				t.Fatalf("out-of-turn probe of p5: %v, young %v", urgent, tc.young)
			}
		})
	}
}

func TestSuspicionTimeoutLifeguard(t *testing.T) {
	// n = 10 (9 peers + self): min = 4·1·10 = 40 ticks, max = 240.
	m, _, rec := newTest(t, quiet)
	for i := 0; i < 9; i++ {
		put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
	}
	step(t, m, "p0", suspectRec("p1", 1, "p0"))
	s := m.members.get(m.all, "p1").suspicion()
	if s.min != 40 || s.max != 240 || s.k != 3 {
		t.Fatalf("suspicion min %v max %v k %d", s.min, s.max, s.k)
	}
	if s.deadline != 240 {
		t.Fatalf("unconfirmed deadline %d, want 240", s.deadline)
	}
	step(t, m, "p0", suspectRec("p1", 1, "p0")) // same accuser: no confirmation
	if s.deadline != 240 {
		t.Fatal("a repeated accusation shortened the timeout")
	}
	var deadlines []uint64
	for _, from := range []core.NodeID{"p2", "p3", "p4", "p5"} {
		step(t, m, from, suspectRec("p1", 1, from))
		deadlines = append(deadlines, s.deadline)
	}
	// 240 − 200·log(C+1)/log 4: C=1 → 140, C=2 → 82, C=3 → 40; a fourth adds nothing.
	if !slices.Equal(deadlines, []uint64{140, 82, 40, 40}) {
		t.Fatalf("deadlines %v", deadlines)
	}
	if m.stats.Confirmations != 3 {
		t.Fatalf("confirmations %d", m.stats.Confirmations)
	}
	for m.tick < 39 {
		m.Tick()
	}
	if mem, _ := m.Member("p1"); mem.State != StateSuspect {
		t.Fatal("declared dead before the minimum timeout")
	}
	m.Tick()
	if mem, _ := m.Member("p1"); mem.State != StateDead {
		t.Fatalf("not dead at the deadline: %s", mem.State)
	}
	if rec.ev[len(rec.ev)-1].Kind != EventFail || m.stats.Declared != 1 {
		t.Fatal("no fail event")
	}
}

func TestSuspicionTimeoutPlainSWIM(t *testing.T) {
	m, _, _ := newTest(t, func(c *Config) { c.Lifeguard = false; c.SuspicionMult = 4 })
	for i := 0; i < 99; i++ {
		put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
	}
	step(t, m, "p0", suspectRec("p1", 1, "p0"))
	s := m.members.get(m.all, "p1").suspicion()
	// n = 100: 4·log₁₀ 100·10 = 80 ticks, fixed.
	if s.deadline != 80 || s.k != 0 {
		t.Fatalf("deadline %d k %d", s.deadline, s.k)
	}
	step(t, m, "p2", suspectRec("p1", 1, "p2"))
	if s.deadline != 80 {
		t.Fatal("plain SWIM shortened its timeout")
	}
}

func TestRepairRemindsSuspect(t *testing.T) {
	m, tr, _ := newTest(t, quiet)
	for i := 0; i < 9; i++ {
		put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
	}
	step(t, m, "p0", suspectRec("p1", 1, "p0"))
	tr.sent = nil
	reminders := func() int { // frames to p1 that open with the suspicion (probes open with a ping)
		n := 0
		for _, p := range tr.sent {
			if p.to == "p1" && len(p.frame.Records) > 0 && p.frame.Records[0].Type == RecSuspect {
				n++
			}
		}
		return n
	}
	// min = 40 ticks: reminders at 20, 40, ...
	for m.tick < 19 {
		m.Tick()
	}
	if reminders() != 0 {
		t.Fatal("reminded too early")
	}
	m.Tick()
	if reminders() != 1 || m.stats.Reminders != 1 {
		t.Fatal("suspect not reminded")
	}
	// The suspect answers with its refutation: the suspicion ends.
	step(t, m, "p1", alive("p1", 2))
	tr.sent = nil
	for i := 0; i < 100; i++ {
		m.Tick()
	}
	if reminders() != 0 {
		t.Fatal("reminded after the refutation")
	}
}

func TestNewerSuspicionRestartsTimer(t *testing.T) {
	// No probing of the suspect: its unanswered probe would confirm.
	m, _, _ := newTest(t, func(c *Config) { quiet(c); c.ProbeSuspects = false })
	for i := 0; i < 9; i++ {
		put(t, m, core.NodeID(fmt.Sprintf("p%d", i)), StateAlive, 1)
	}
	step(t, m, "p0", suspectRec("p1", 1, "p0"))
	for i := 0; i < 200; i++ {
		m.Tick()
	}
	// A suspicion of a newer incarnation arrives just before the old timer
	// (240 ticks) would fire: it must get a full timer of its own.
	step(t, m, "p2", suspectRec("p1", 2, "p2"))
	for i := 0; i < 100; i++ {
		m.Tick()
	}
	if mem, _ := m.Member("p1"); mem.State != StateSuspect || mem.Incarnation != 2 {
		t.Fatalf("p1 %s/%d: the old timer declared the new suspicion", mem.State, mem.Incarnation)
	}
}
