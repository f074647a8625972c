package core

import (
	"fmt"
	"testing"
)

// knownOrigins is a Validator and OriginGate that accepts every message
// and knows a set of origins; it counts the messages it validated under "".
type knownOrigins map[NodeID]bool

var validated int

func (k knownOrigins) Validate(from NodeID, m *Message) error { validated++; return nil }

func (k knownOrigins) OriginKnown(from NodeID, m *Message) bool { return k[m.Origin] }

// TestUnknownOriginHeld: a message whose origin the OriginGate does not
// know yet is held, not delivered and not tracked; it is delivered as soon as
// the origin is known (a member that joined a moment ago); one whose
// origin stays unknown is dropped after HoldUnknownTicks and its sender
// reported once per origin (and not again for 2·HoldUnknownTicks); a copy of a held message is not held twice;
// and one sender fills at most a quarter of the buffer, its further
// messages of new origins dropped before they are verified.
func TestUnknownOriginHeld(t *testing.T) {
	known := knownOrigins{"alice": true}
	validated = 0
	offences := map[NodeID]map[Offence]int{}
	e, app := newLoneEngine(t, func(c *Config) {
		c.Validator = known
		c.HoldUnknownTicks = 5
		c.MaxHeldUnknown = 40
		c.Penalizer = PenalizerFunc(func(from NodeID, o Offence) {
			if offences[from] == nil {
				offences[from] = map[Offence]int{}
			}
			offences[from][o]++
		})
	})
	e.Step("p", msgFrame("alice", 1))
	e.Step("p", msgFrame("newcomer", 1))
	e.Step("p", msgFrame("newcomer", 1)) // a second copy: not held twice
	e.Step("p", msgFrame("newcomer", 2))
	if len(app.got) != 1 || e.origins["newcomer"] != nil {
		t.Fatalf("%d delivered, newcomer tracked %v: want only alice's, nothing tracked", len(app.got), e.origins["newcomer"] != nil)
	}
	if st := e.HoldStats(); st.Held != 2 || st.Dropped != 1 {
		t.Fatalf("hold stats %+v, want 2 held, 1 dropped", st)
	}
	e.Tick()
	known["newcomer"] = true
	e.Tick()
	if len(app.got) != 3 || e.HoldStats().Released != 2 {
		t.Fatalf("%d delivered, stats %+v after the origin became known", len(app.got), e.HoldStats())
	}

	// Invented origins: 20 from mallory (its quarter of 40 is 10), two
	// messages of one invented origin from bob.
	for i := 0; i < 20; i++ {
		e.Step("mallory", msgFrame(NodeID(fmt.Sprint("fake", i)), 1))
	}
	e.Step("bob", msgFrame("ghost", 1))
	e.Step("bob", msgFrame("ghost", 2))
	if st := e.HoldStats(); st.Held != 2+10+2 || st.Dropped != 1+10 {
		t.Fatalf("hold stats %+v, want 14 held and 11 dropped", st)
	}
	if validated != 3+10+2 {
		t.Fatalf("%d messages validated, want 15: a held copy and mallory's messages beyond its share go unverified", validated)
	}
	for i := 0; i < 4; i++ {
		e.Tick()
	}
	if offences["mallory"][OffenceUnknownOrigin] != 0 {
		t.Fatal("reported before the hold expired")
	}
	e.Tick()
	if got := offences["mallory"][OffenceUnknownOrigin]; got != 10 {
		t.Fatalf("mallory reported %d times, want once per held invented origin (10)", got)
	}
	if got := offences["bob"][OffenceUnknownOrigin]; got != 1 {
		t.Fatalf("bob reported %d times, want once for its one origin", got)
	}
	if st := e.HoldStats(); st.Expired != 12 || len(e.unknown.msgs) != 0 || len(e.unknown.keys) != 0 || e.unknown.bytes != 0 || len(e.unknown.count) != 0 {
		t.Fatalf("after expiry: stats %+v, %d held, %d bytes", st, len(e.unknown.msgs), e.unknown.bytes)
	}
	if len(app.got) != 3 || len(e.origins) != 2 {
		t.Fatalf("%d delivered, %d origins tracked: invented origins got in", len(app.got), len(e.origins))
	}

	// Another message of bob's ghost soon after: not reported again (a
	// member relaying a short-lived origin's burst is charged once); after
	// 2·HoldUnknownTicks it would be, and the record is gone.
	e.Step("bob", msgFrame("ghost", 3))
	for i := 0; i < 5; i++ {
		e.Tick()
	}
	if got := offences["bob"][OffenceUnknownOrigin]; got != 1 {
		t.Fatalf("bob reported %d times within 2·HoldUnknownTicks, want 1", got)
	}
	for i := 0; i < 10; i++ {
		e.Tick()
	}
	if len(e.unknown.reported) != 0 {
		t.Fatalf("%d reported pairs remembered after 2·HoldUnknownTicks", len(e.unknown.reported))
	}
}

// A held message is taken in as soon as a frame arrives after the peer
// list changed (its origin's alive update came in a frame of its own),
// without waiting for the next tick.
func TestUnknownOriginReleasedOnJoin(t *testing.T) {
	known := knownOrigins{}
	var s *StaticSampler
	e, app := newLoneEngine(t, func(c *Config) {
		c.Validator = known
		s = c.Sampler.(*StaticSampler)
	})
	e.Step("p", msgFrame("newcomer", 1))
	if len(app.got) != 0 || e.HoldStats().Held != 1 {
		t.Fatalf("%d delivered, %+v", len(app.got), e.HoldStats())
	}
	e.Step("p", NewFrame(nil)) // nothing changed: still held
	if len(app.got) != 0 {
		t.Fatal("released without a change")
	}
	known["newcomer"] = true
	s.Peers = append(s.Peers, "newcomer") // the peer list changes
	e.Step("p", NewFrame(nil))
	if len(app.got) != 1 || e.HoldStats().Released != 1 {
		t.Fatalf("%d delivered after the join, %+v", len(app.got), e.HoldStats())
	}
}
