package membership

import (
	"bytes"
	"errors"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
)

// chainCluster is an authenticated cluster of n members with AliveChains
// as given, counting each member's signature checks of alive updates
// (chained or not) and reporting penalties into the returned map.
func chainCluster(t *testing.T, n int, seed uint64, chains bool) (*cluster, []int, penalties) {
	aliveChecks := make([]int, n)
	pen := penalties{}
	c := newCluster(t, n, seed, func(i int, cfg *Config) {
		authenticate(cfg)
		cfg.AliveChains = chains
		verify := cfg.Verifier
		cfg.Verifier = VerifierFunc(func(member core.NodeID, msg, sig []byte) error {
			if bytes.HasPrefix(msg, []byte("grapevine/member/alive")) {
				aliveChecks[i]++
			}
			return verify.VerifyMembership(member, msg, sig)
		})
		cfg.Penalizer = pen.recorder()
	})
	c.joinAll()
	c.runUntil(3000, "convergence", c.converged)
	return c, aliveChecks, pen
}

// allHoldIncarnation reports whether every up member holds id alive at
// incarnation inc.
func (c *cluster) allHoldIncarnation(id core.NodeID, inc uint64) bool {
	for i, m := range c.nodes {
		if c.down[i] || nodeID(i) == id {
			continue
		}
		if mem, ok := m.Member(id); !ok || mem.State != StateAlive || mem.Incarnation != inc {
			return false
		}
	}
	return true
}

// TestAliveChainRefutation: a member refutes a suspicion. With
// AliveChains every other member takes the new incarnation after hashing
// one link, and checks no signature; without, each checks one.
func TestAliveChainRefutation(t *testing.T) {
	const n, accused, accuser = 20, 5, 4
	for _, chains := range []bool{true, false} {
		c, checks, _ := chainCluster(t, n, 3, chains)
		clear(checks)
		var linksBefore uint64
		for _, m := range c.nodes {
			linksBefore += m.Stats().ChainLinksChecked
		}
		inc := c.nodes[accused].Incarnation()
		frame := accusation(RecSuspect, nodeID(accused), inc, nodeID(accuser), nodeID(accuser))
		c.queue = append(c.queue, packet{from: accuser, to: accused, frame: frame})
		c.runUntil(300, "everyone holds the refutation", func() bool { return c.allHoldIncarnation(nodeID(accused), inc+1) })
		others := 0
		var links uint64
		for i, k := range checks {
			if i != accused {
				others += k
			}
			links += c.nodes[i].Stats().ChainLinksChecked
		}
		links -= linksBefore
		t.Logf("chains=%v: alive signature checks by the others %d, chain links checked %d", chains, others, links)
		switch {
		case chains && (others != 0 || links < n-1):
			t.Errorf("with chains the others checked %d alive signatures and %d links; want 0 and at least %d", others, links, n-1)
		case !chains && others < n-1:
			t.Errorf("without chains the others checked only %d alive signatures: the test does not exercise the spread", others)
		}
	}
}

// TestAttackForgedChainLink: a hostile member sends a chained alive of
// another member one incarnation up, with the real signature, base and
// head but a link it made up, and one far up the chain. Nobody takes the
// incarnation (each would let the forger's later accusations at it stand,
// or refuse honest ones below it), and the sender is penalised at each.
func TestAttackForgedChainLink(t *testing.T) {
	const n, victim, attacker = 12, 3, 11
	c, _, pen := chainCluster(t, n, 5, true)
	v := c.nodes[victim].self
	inc := v.incarnation
	if v.chain() == nil {
		t.Fatal("the victim's alive is not chained")
	}
	for _, up := range []uint64{1, chainLength} {
		forged := aliveOf(v)
		forged.inc = inc + up
		ch := *v.chain()
		ch.link = [chainSize]byte{0xba, 0xd}
		forged.chain = &ch
		c.inject(attacker, appendAlive(core.NewFrame(nil), forged))
	}
	c.run(50)
	for i, m := range c.nodes {
		if i == victim {
			continue
		}
		if mem, _ := m.Member(nodeID(victim)); mem.Incarnation != inc {
			t.Fatalf("member %d holds the victim at incarnation %d after forged links (want %d)", i, mem.Incarnation, inc)
		}
	}
	if got := pen[nodeID(attacker)][core.OffenceBadSignature]; got < 2*(n-2) {
		t.Errorf("the forger was penalised %d times for bad signatures, want %d", got, 2*(n-2))
	}
	if c.nodes[victim].Incarnation() != inc {
		t.Errorf("the victim refuted a forgery of its own chain: incarnation %d, want %d", c.nodes[victim].Incarnation(), inc)
	}
}

// TestAttackForgedBump: a hostile member sends bumps (alive_chain.go) of
// another member: one on its chain with a link it made up, which every
// member refuses and blames on the sender; one naming a chain nobody
// holds, and one about a member nobody knows, which every member drops
// unblamed, since an honest relay can pass on a bump of a chain the
// receiver has not heard of yet.
func TestAttackForgedBump(t *testing.T) {
	const n, victim, attacker = 12, 3, 11
	c, _, pen := chainCluster(t, n, 6, true)
	v := c.nodes[victim].self
	inc, base := v.incarnation, v.chain().base
	c.inject(attacker, appendBump(core.NewFrame(nil), bumpMsg{id: v.id, inc: inc + 1, base: base, link: [chainSize]byte{0xba, 0xd}}))
	c.run(5)
	if got := pen[nodeID(attacker)][core.OffenceBadSignature]; got != n-2 {
		t.Errorf("a bump with a forged link: the sender was blamed %d times, want %d", got, n-2)
	}
	clear(pen)
	var unverifiable uint64
	for _, m := range c.nodes {
		unverifiable -= m.Stats().BumpsUnverifiable
	}
	c.inject(attacker, appendBump(core.NewFrame(nil), bumpMsg{id: v.id, inc: inc + 5, base: inc + 2, link: [chainSize]byte{1}}))
	c.inject(attacker, appendBump(core.NewFrame(nil), bumpMsg{id: "nobody", inc: 9, base: 1, link: [chainSize]byte{2}}))
	c.run(5)
	for _, m := range c.nodes {
		unverifiable += m.Stats().BumpsUnverifiable
	}
	// The other chain's bump reaches the n-2 members besides the victim
	// (which takes its own as stale), the stranger's all n-1.
	if want := uint64(2*n - 3); pen.of(nodeID(attacker)) != 0 || unverifiable != want {
		t.Errorf("bumps nobody can check: the sender was blamed %v, %d dropped (want none and %d)", pen[nodeID(attacker)], unverifiable, want)
	}
	for i, m := range c.nodes {
		if mem, _ := m.Member(v.id); i != victim && mem.Incarnation != inc {
			t.Fatalf("member %d holds the victim at incarnation %d after forged bumps (want %d)", i, mem.Incarnation, inc)
		}
	}
}

// TestAliveChainRenewal: a member refutes more often than one chain
// proves. It signs a new chain at the end of the first, and the others,
// which hold the old head, check the new one's signature once and take the
// incarnation; replaying a genuine link of the old chain changes nothing.
func TestAliveChainRenewal(t *testing.T) {
	const n, member, replayer = 8, 2, 7
	c, _, pen := chainCluster(t, n, 9, true)
	s := c.nodes[member]
	old := aliveOf(s.self)
	old.chain = new(aliveChain)
	*old.chain = *s.self.chain()
	signed := s.Stats().ChainsSigned
	for range chainLength + 10 {
		s.refute(s.Incarnation())
	}
	if got := s.Stats().ChainsSigned - signed; got != 1 {
		t.Fatalf("%d chains signed over %d refutations, want 1", got, chainLength+10)
	}
	final := s.Incarnation()
	c.runUntil(300, "everyone holds the last refutation", func() bool { return c.allHoldIncarnation(nodeID(member), final) })
	c.inject(replayer, appendAlive(core.NewFrame(nil), old))
	c.run(20)
	if !c.allHoldIncarnation(nodeID(member), final) {
		t.Fatal("a replayed link of the old chain changed a member's view")
	}
	if pen.of(nodeID(replayer)) != 0 {
		t.Errorf("replaying a genuine (stale) update was penalised: %v", pen[nodeID(replayer)])
	}
}

// TestAliveChainWire: chained alive updates and state entries decode to
// what was encoded, a chain whose base is above the incarnation or that is
// cut short is an error, and so is a chain on a dead entry.
func TestAliveChainWire(t *testing.T) {
	lim := DefaultLimits()
	ch := &aliveChain{base: 5, head: [chainSize]byte{1, 2}, link: [chainSize]byte{3, 4}}
	a := aliveMsg{id: "m", inc: 7, meta: []byte("meta"), sig: []byte("sig"), chain: ch}
	body := recordBody(appendAlive(nil, a))
	got, err := decodeAlive(body, &lim)
	if err != nil || got.chain == nil || *got.chain != *ch || got.inc != 7 {
		t.Fatalf("decoded %+v (chain %+v), %v; want %+v", got, got.chain, err, a)
	}
	for _, bad := range [][]byte{body[:len(body)-1], append(bytes.Clone(body), 0)} {
		if _, err := decodeAlive(bad, &lim); err == nil {
			t.Errorf("decoded a chain of %d bytes instead of %d", len(bad), len(body))
		}
	}
	a.inc = 4 // below the base
	if _, err := decodeAlive(recordBody(appendAlive(nil, a)), &lim); !errors.Is(err, core.ErrMalformed) {
		t.Errorf("a chain based above the incarnation: %v, want ErrMalformed", err)
	}
	e := stateEntry{id: "m", state: StateSuspect, inc: 9, metaInc: 7, sig: []byte("s"), chain: ch}
	enc := appendStateEntry(nil, &e)
	s, err := decodeState(append([]byte{0, 1}, enc...), &lim)
	if err != nil || len(s.entries) != 1 || s.entries[0].chain == nil || *s.entries[0].chain != *ch || s.entries[0].metaInc != 7 {
		t.Fatalf("decoded %+v, %v", s.entries, err)
	}
	dead := append([]byte{0, 1}, appendStateEntry(nil, &stateEntry{id: "m", state: StateDead, inc: 1})...)
	dead[2+1+1] |= stateChained // after flags, count, the ID's length and its byte
	if _, err := decodeState(dead, &lim); !errors.Is(err, core.ErrMalformed) {
		t.Errorf("a chained dead entry: %v, want ErrMalformed", err)
	}
}

// recordBody returns the body of record rec (type, length, body).
func recordBody(rec []byte) []byte {
	return wire.NewReader(rec[1:]).Bytes(len(rec), "record")
}
