package membership

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestPrecedence covers every (state, update, incarnation order) pair of the
// SWIM precedence rules.
func TestPrecedence(t *testing.T) {
	const x = core.NodeID("x")
	type upd struct {
		name string
		rec  func(inc uint64) []byte
	}
	updates := map[string]func(inc uint64) []byte{
		"alive":   func(i uint64) []byte { return alive(x, i) },
		"suspect": func(i uint64) []byte { return suspectRec(x, i, "other") },
		"dead":    func(i uint64) []byte { return deadRec(x, i, "other") },
		"leave":   func(i uint64) []byte { return leaveRec(x, i) },
	}
	cases := []struct {
		from    State
		update  string
		inc     uint64 // the member is at incarnation 5
		want    State
		wantInc uint64
		event   EventKind // 0: none
	}{
		{StateAlive, "alive", 4, StateAlive, 5, 0},
		{StateAlive, "alive", 5, StateAlive, 5, 0},
		{StateAlive, "alive", 6, StateAlive, 6, 0},
		{StateAlive, "suspect", 4, StateAlive, 5, 0},
		{StateAlive, "suspect", 5, StateSuspect, 5, EventSuspect},
		{StateAlive, "suspect", 6, StateSuspect, 6, EventSuspect},
		{StateAlive, "dead", 4, StateAlive, 5, 0},
		{StateAlive, "dead", 5, StateDead, 5, EventFail},
		{StateAlive, "dead", 6, StateDead, 6, EventFail},
		{StateAlive, "leave", 4, StateAlive, 5, 0},
		{StateAlive, "leave", 5, StateLeft, 5, EventLeave},
		{StateAlive, "leave", 6, StateLeft, 6, EventLeave},

		{StateSuspect, "alive", 4, StateSuspect, 5, 0},
		{StateSuspect, "alive", 5, StateSuspect, 5, 0},
		{StateSuspect, "alive", 6, StateAlive, 6, EventAlive},
		{StateSuspect, "suspect", 4, StateSuspect, 5, 0},
		{StateSuspect, "suspect", 5, StateSuspect, 5, 0},
		{StateSuspect, "suspect", 6, StateSuspect, 6, 0},
		{StateSuspect, "dead", 4, StateSuspect, 5, 0},
		{StateSuspect, "dead", 5, StateDead, 5, EventFail},
		{StateSuspect, "dead", 6, StateDead, 6, EventFail},
		{StateSuspect, "leave", 4, StateSuspect, 5, 0},
		{StateSuspect, "leave", 5, StateLeft, 5, EventLeave},
		{StateSuspect, "leave", 6, StateLeft, 6, EventLeave},

		{StateDead, "alive", 4, StateDead, 5, 0},
		{StateDead, "alive", 5, StateDead, 5, 0},
		{StateDead, "alive", 6, StateAlive, 6, EventRejoin},
		{StateDead, "suspect", 4, StateDead, 5, 0},
		{StateDead, "suspect", 5, StateDead, 5, 0},
		{StateDead, "suspect", 6, StateDead, 5, 0},
		{StateDead, "dead", 6, StateDead, 5, 0},
		{StateDead, "leave", 4, StateDead, 5, 0},
		{StateDead, "leave", 5, StateLeft, 5, 0},
		{StateDead, "leave", 6, StateLeft, 6, 0},

		{StateLeft, "alive", 4, StateLeft, 5, 0},
		{StateLeft, "alive", 5, StateLeft, 5, 0},
		{StateLeft, "alive", 6, StateAlive, 6, EventRejoin},
		{StateLeft, "suspect", 6, StateLeft, 5, 0},
		{StateLeft, "dead", 6, StateLeft, 5, 0},
		{StateLeft, "leave", 6, StateLeft, 5, 0},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s(%d)", tc.from, tc.update, tc.inc), func(t *testing.T) {
			m, tr, rec := newTest(t, nil)
			put(t, m, x, tc.from, 5)
			rec.ev = nil
			queued := m.stats.UpdatesQueued
			step(t, m, "peer", updates[tc.update](tc.inc))
			mem, ok := m.Member(x)
			if !ok || mem.State != tc.want || mem.Incarnation != tc.wantInc {
				t.Fatalf("got %s/%d, want %s/%d", mem.State, mem.Incarnation, tc.want, tc.wantInc)
			}
			var want []EventKind
			if tc.event != 0 {
				want = []EventKind{tc.event}
			}
			if !slices.Equal(rec.kinds(), want) {
				t.Fatalf("events %v, want %v", rec.kinds(), want)
			}
			// An accepted update is disseminated, an ignored one is not.
			changed := tc.want != tc.from || tc.wantInc != 5
			if changed != (m.stats.UpdatesQueued > queued) {
				t.Fatalf("changed=%v but queued %d updates", changed, m.stats.UpdatesQueued-queued)
			}
			// Live members are what Sample draws from.
			live := slices.Contains(m.Sample(nil, 10), x)
			if live != tc.want.Live() {
				t.Fatalf("sampled=%v in state %s", live, tc.want)
			}
			_ = tr
		})
	}
}

func TestSelfRefutation(t *testing.T) {
	cases := []struct {
		name    string
		rec     []byte
		wantInc uint64
	}{
		{"suspect current", suspectRec("self", 3, "p"), 4},
		{"suspect newer", suspectRec("self", 7, "p"), 8},
		{"suspect stale", suspectRec("self", 2, "p"), 3},
		{"dead current", deadRec("self", 3, "p"), 4},
		{"dead stale", deadRec("self", 1, "p"), 3},
		{"alive newer (previous life)", alive("self", 9), 10},
		{"alive current", alive("self", 3), 3},
		{"alive current other meta", appendAlive(nil, aliveMsg{id: "self", inc: 3, meta: []byte("m")}), 4},
		{"leave (previous life)", leaveRec("self", 3), 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newTest(t, func(c *Config) { c.Incarnation = 3 })
			step(t, m, "p", tc.rec)
			if m.Incarnation() != tc.wantInc {
				t.Fatalf("incarnation %d, want %d", m.Incarnation(), tc.wantInc)
			}
			if m.LocalMember().State != StateAlive {
				t.Fatal("self not alive")
			}
			refuted := tc.wantInc > 3
			if refuted {
				// The refutation is queued as an alive update about self.
				u := m.queue.byID["self"]
				if u == nil || u.typ != RecAlive {
					t.Fatal("no alive queued")
				}
			}
		})
	}
}

func TestLeftSelfRepeatsLeave(t *testing.T) {
	m, _, _ := newTest(t, nil)
	put(t, m, "a", StateAlive, 0)
	m.Leave()
	m.queue = queue{}
	step(t, m, "a", suspectRec("self", 0, "a"))
	if u := m.queue.byID["self"]; u == nil || u.typ != RecLeave {
		t.Fatal("leave not repeated after a suspicion of a departed member")
	}
	if m.Incarnation() != 0 {
		t.Fatal("a departed member refuted")
	}
	if err := m.SetMeta(nil); !errors.Is(err, ErrLeft) {
		t.Fatalf("SetMeta after leave: %v", err)
	}
}

func TestRepairCorrectsStaleAccusations(t *testing.T) {
	m, tr, _ := newTest(t, quiet)
	put(t, m, "x", StateAlive, 5)
	// A peer relays a suspicion of x older than x's refutation: it gets the
	// newer alive straight back.
	step(t, m, "relayer", suspectRec("x", 4, "a"))
	alives := tr.records("relayer", RecAlive)
	if len(alives) == 0 {
		t.Fatal("no correction")
	}
	if a, _ := decodeAlive(alives[0].Body, &m.cfg.Limits); a.id != "x" || a.inc != 5 {
		t.Fatalf("correction %+v", a)
	}
	// The same for a stale accusation of this member itself, and after a
	// refutation the accuser hears the new alive directly.
	m.refute(0)
	inc := m.Incarnation()
	step(t, m, "relayer2", deadRec("self", inc-1, "a"))
	if len(tr.records("relayer2", RecAlive)) == 0 {
		t.Fatal("stale accusation of self not corrected")
	}
	step(t, m, "accuser", suspectRec("self", inc, "accuser"))
	if m.Incarnation() != inc+1 || len(tr.records("accuser", RecAlive)) == 0 {
		t.Fatal("refutation not sent back to the accuser")
	}
	// Bounded per tick.
	for i := 0; i < 10; i++ {
		step(t, m, core.NodeID(fmt.Sprintf("r%d", i)), suspectRec("x", 1, "a"))
	}
	if m.stats.CorrectionsDropped == 0 {
		t.Fatal("corrections not bounded")
	}
	// Off without Repair.
	m2, tr2, _ := newTest(t, func(c *Config) { quiet(c); c.Repair = false })
	put(t, m2, "x", StateAlive, 5)
	step(t, m2, "relayer", suspectRec("x", 4, "a"))
	if len(tr2.records("relayer", RecAlive)) != 0 {
		t.Fatal("corrected with Repair off")
	}
}
