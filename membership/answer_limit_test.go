package membership

import (
	"fmt"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
)

// stateRequest0 is a state request with no entries: the cheapest a
// hostile member can send.
func stateRequest0() []byte {
	return core.AppendRecord(nil, RecState, wire.AppendUvarint([]byte{stateRequest}, 0))
}

// TestStateAnswersLimited: a member that asks for the whole view in a loop
// gets one answer per StateAnswerGap ticks, not one per request; other
// members are answered meanwhile; 0 turns the limit off.
func TestStateAnswersLimited(t *testing.T) {
	for _, gap := range []int{0, 4} {
		t.Run(fmt.Sprint(gap), func(t *testing.T) {
			m, tr, _ := newTest(t, func(c *Config) { quiet(c); c.StateAnswerGap = gap })
			for i := 0; i < 200; i++ {
				put(t, m, core.NodeID(fmt.Sprintf("m%03d", i)), StateAlive, 1)
			}
			tr.sent = nil
			for i := 0; i < 50; i++ {
				step(t, m, "hostile", stateRequest0())
			}
			want := 1
			if gap == 0 {
				want = 50
			}
			if n := countStateAnswers(tr, "hostile"); n != want {
				t.Fatalf("%d answers to 50 requests in one tick, want %d", n, want)
			}
			step(t, m, "honest", stateRequest0())
			if n := countStateAnswers(tr, "honest"); n != 1 {
				t.Fatalf("another member got %d answers, want 1", n)
			}
			if gap == 0 {
				if m.stats.StateAnswersLimited != 0 {
					t.Fatalf("StateAnswersLimited %d without a gap", m.stats.StateAnswersLimited)
				}
				return
			}
			if m.stats.StateAnswersLimited != 49 {
				t.Fatalf("StateAnswersLimited %d, want 49", m.stats.StateAnswersLimited)
			}
			tr.sent = nil
			for i := 1; i <= gap; i++ {
				m.Tick()
				step(t, m, "hostile", stateRequest0())
				want := 0
				if i == gap {
					want = 1
				}
				if n := countStateAnswers(tr, "hostile"); n != want {
					t.Fatalf("%d ticks after the answer: %d answers, want %d", i, n, want)
				}
			}
		})
	}
}

// TestStateAnswerMemoryBounded: the answers remembered stay within
// maxStateAnswerMemory whatever the number of members asking; once every
// remembered answer is within the gap, newcomers wait, and they are
// answered again once the remembered ones age out.
func TestStateAnswerMemoryBounded(t *testing.T) {
	m, tr, _ := newTest(t, func(c *Config) { quiet(c); c.StateAnswerGap = 4 })
	for i := 0; i < maxStateAnswerMemory+10; i++ {
		step(t, m, core.NodeID(fmt.Sprintf("s%05d", i)), stateRequest0())
	}
	if len(m.stateAnswers) != maxStateAnswerMemory || m.stats.StateAnswersLimited != 10 {
		t.Fatalf("remembered %d, limited %d; want %d and 10", len(m.stateAnswers), m.stats.StateAnswersLimited, maxStateAnswerMemory)
	}
	for i := 0; i < 4; i++ {
		m.Tick()
	}
	tr.sent = nil
	step(t, m, "late", stateRequest0())
	if n := countStateAnswers(tr, "late"); n != 1 || len(m.stateAnswers) != 1 {
		t.Fatalf("after the gap: %d answers, %d remembered; want 1 and 1", n, len(m.stateAnswers))
	}
}

// countStateAnswers counts the full-state answers (first chunks, no
// request flag) sent to to.
func countStateAnswers(tr *capture, to core.NodeID) int {
	n := 0
	for _, r := range tr.records(to, RecState) {
		if len(r.Body) > 0 && r.Body[0]&stateRequest == 0 {
			n++
		}
	}
	return n
}
