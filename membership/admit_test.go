package membership

import (
	"errors"
	"fmt"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// TestAdmit: with Config.Admit, an alive update is believed only if Admit
// accepts the member's metadata (on every new incarnation); a non-admitted
// sender's relays, accusations, leaves and state are not believed, and
// provable refusals penalise the sender.
func TestAdmit(t *testing.T) {
	var penalties []core.Offence
	m, _, _ := newTest(t, func(c *Config) {
		c.Admit = func(id core.NodeID, meta []byte) error {
			switch string(meta) {
			case "cert":
				return nil
			case "forged":
				return fmt.Errorf("%w: forged", ErrNotAdmissible)
			}
			return errors.New("expired")
		}
		c.Penalizer = core.PenalizerFunc(func(_ core.NodeID, o core.Offence) { penalties = append(penalties, o) })
	})
	withMeta := func(id core.NodeID, inc uint64, meta string) []byte {
		return appendAlive(nil, aliveMsg{id: id, inc: inc, meta: []byte(meta)})
	}
	// A member with a certificate joins; one without, or with a forged one, does not.
	step(t, m, "a", withMeta("a", 1, "cert"))
	step(t, m, "x", withMeta("x", 1, "expired"))
	step(t, m, "y", withMeta("y", 1, "forged"))
	if _, ok := m.Member("a"); !ok {
		t.Fatal("admitted member not believed")
	}
	for _, id := range []core.NodeID{"x", "y"} {
		if _, ok := m.Member(id); ok {
			t.Fatalf("non-member %s believed", id)
		}
	}
	if len(penalties) != 1 || penalties[0] != core.OffenceBadSignature {
		t.Fatalf("penalties %v, want one for the forged certificate", penalties)
	}
	// A non-member's relays, accusations, and leaves change nothing.
	before := m.stats.NotAdmitted
	step(t, m, "x", withMeta("b", 1, "cert"), suspectRec("a", 1, "x"), deadRec("a", 1, "x"), leaveRec("a", 1))
	if _, ok := m.Member("b"); ok {
		t.Fatal("a non-member's relay believed")
	}
	if mem, _ := m.Member("a"); mem.State != StateAlive {
		t.Fatalf("a non-member's accusation believed: %v", mem.State)
	}
	if m.stats.NotAdmitted != before+4 {
		t.Fatalf("NotAdmitted %d, want %d", m.stats.NotAdmitted, before+4)
	}
	// An admitted member's relay of a non-member's accusation is not believed.
	before = m.stats.NotAdmitted
	step(t, m, "a", suspectRec("a", 1, "x"))
	if mem, _ := m.Member("a"); mem.State != StateAlive || m.stats.NotAdmitted != before+1 {
		t.Fatalf("a relayed accusation by a non-member believed: %v", mem.State)
	}
	// An admitted member's relay is checked too; a new incarnation whose
	// metadata is refused (e.g. an expired certificate) is not believed.
	step(t, m, "a", withMeta("b", 1, "cert"))
	if _, ok := m.Member("b"); !ok {
		t.Fatal("an admitted member's relay of an admissible member not believed")
	}
	step(t, m, "b", withMeta("b", 2, "expired"))
	if mem, _ := m.Member("b"); mem.Incarnation != 1 {
		t.Fatalf("refused refutation believed: incarnation %d", mem.Incarnation)
	}
}
