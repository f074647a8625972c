package membership

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// The attacks of issue 12 on membership, in authenticated mode, driven
// deterministically: a hostile member (an ordinary memberlist of the
// cluster, with its own key) also writes hand-made frames to every other
// member. Each test asserts what the threat model promises: no honest
// member declared dead, the attacker penalised, state bounded.

// testKey is a member's signing secret in these tests: a signature is
// SHA-256 over the secret and the message. The verifier knows every
// member's secret (it stands for the public key in the member's ID); an
// attacker knows only its own.
func testSig(id core.NodeID, msg []byte) []byte {
	h := sha256.New()
	h.Write([]byte("secret of " + id))
	h.Write(msg)
	return h.Sum(nil)
}

var errTestSig = errors.New("bad test signature")

// penalties records what the Penalizer heard, by sender and offence.
type penalties map[core.NodeID]map[core.Offence]int

func (p penalties) of(id core.NodeID) int {
	n := 0
	for _, c := range p[id] {
		n += c
	}
	return n
}

// authenticate makes cfg's member sign with testSig and verify others'.
func authenticate(cfg *Config) {
	id := cfg.ID
	cfg.Signer = SignerFunc(func(msg []byte) ([]byte, error) { return testSig(id, msg), nil })
	cfg.Verifier = VerifierFunc(func(member core.NodeID, msg, sig []byte) error {
		if !bytes.Equal(sig, testSig(member, msg)) {
			return errTestSig
		}
		return nil
	})
}

// recorder returns a Penalizer that counts each offence into p.
func (p penalties) recorder() core.Penalizer {
	return core.PenalizerFunc(func(from core.NodeID, o core.Offence) {
		if p[from] == nil {
			p[from] = map[core.Offence]int{}
		}
		p[from][o]++
	})
}

// authCluster is a cluster in authenticated mode, every member signing
// with testSig and reporting penalties into the returned map.
func authCluster(t *testing.T, n int, seed uint64) (*cluster, penalties) {
	pen := penalties{}
	c := newCluster(t, n, seed, func(i int, cfg *Config) {
		authenticate(cfg)
		cfg.Penalizer = pen.recorder()
	})
	c.joinAll()
	c.runUntil(3000, "convergence", c.converged)
	return c, pen
}

// inject sends frame from node from to every other up node.
func (c *cluster) inject(from int, frame []byte) {
	for i := range c.nodes {
		if i != from && !c.down[i] {
			c.queue = append(c.queue, packet{from: from, to: i, frame: frame})
		}
	}
}

// accusation is a suspect or dead record by accuser, signed with signer's
// secret (the accuser's own, or a forgery with another's).
func accusation(typ uint8, id core.NodeID, inc uint64, accuser, signer core.NodeID) []byte {
	a := accuseMsg{id: id, inc: inc, from: accuser, sig: testSig(signer, AccuseSigningBytes(typ, id, inc, accuser))}
	return appendAccuse(core.NewFrame(nil), typ, a)
}

// noHonestDeath fails if any member other than the allowed ones was
// declared dead by anyone, or is not alive in every up member's view.
func (c *cluster) noHonestDeath(t *testing.T) {
	t.Helper()
	for _, e := range c.events {
		if e.Kind == EventFail {
			t.Fatalf("%s declared dead", e.Member.ID)
		}
	}
	if !c.converged() {
		t.Fatal("views not exact: some up member is not alive everywhere")
	}
}

// TestAttackForgedDead: one member repeatedly declares another dead (the
// real dead{X, inc} at X's signed incarnation, signed by itself) to the
// whole group. In authenticated mode a verdict from one member is only a
// suspicion; the victim refutes and nobody declares it dead.
func TestAttackForgedDead(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		forgedDead(t, seed)
	}
}

func forgedDead(t *testing.T, seed uint64) {
	const n, attacker, victim = 12, 11, 3
	c, pen := authCluster(t, n, seed)
	for round := 0; round < 30; round++ {
		inc := c.nodes[victim].Incarnation()
		c.inject(attacker, accusation(RecDead, nodeID(victim), inc, nodeID(attacker), nodeID(attacker)))
		c.run(10)
	}
	c.run(200)
	c.noHonestDeath(t)
	held := uint64(0)
	for _, m := range c.nodes {
		held += m.Stats().DeadHeldAsSuspicion
	}
	if held == 0 {
		t.Fatal("no dead record was held as a suspicion")
	}
	// Each refutation is an offence of the accuser that signed the
	// accusation (whoever relayed it), and only of it.
	if pen[nodeID(attacker)][core.OffenceRefutedAccusation] < 10 {
		t.Fatalf("attacker's refuted accusations penalised %d times, want one per refutation", pen[nodeID(attacker)][core.OffenceRefutedAccusation])
	}
	for i := 0; i < n; i++ {
		if i != attacker && pen[nodeID(i)][core.OffenceRefutedAccusation] != 0 {
			t.Fatalf("honest member %d penalised for refuted accusations: %v", i, pen[nodeID(i)])
		}
	}
}

// TestAttackIncarnationOverflow: dead and suspect records at incarnation
// 2^64−1 (the old one-frame eviction: the victim refuted to 0, which
// everyone dropped). The victim counts them as forged and penalises the
// sender; the others drop them as unproven; the victim's incarnation does
// not move.
func TestAttackIncarnationOverflow(t *testing.T) {
	const n, attacker, victim = 10, 9, 2
	c, pen := authCluster(t, n, 2)
	before := c.nodes[victim].Incarnation()
	for round := 0; round < 10; round++ {
		c.inject(attacker, accusation(RecDead, nodeID(victim), math.MaxUint64, nodeID(attacker), nodeID(attacker)))
		c.inject(attacker, accusation(RecSuspect, nodeID(victim), math.MaxUint64-1, nodeID(attacker), nodeID(attacker)))
		c.run(10)
	}
	c.run(100)
	c.noHonestDeath(t)
	v := c.nodes[victim]
	if v.Incarnation() != before {
		t.Fatalf("victim's incarnation moved from %d to %d", before, v.Incarnation())
	}
	if v.Stats().ForgedAccusations == 0 || pen[nodeID(attacker)][core.OffenceForgedAccusation] == 0 {
		t.Fatalf("forged accusations %d, penalties %v", v.Stats().ForgedAccusations, pen[nodeID(attacker)])
	}
	if other := c.nodes[0].Stats(); other.UnprovenAccusations == 0 {
		t.Fatal("a bystander did not drop the accusations above the signed incarnation")
	}
	// The refutation arithmetic saturates: even a genuine alive of the
	// member's own at 2^64−1 does not wrap it to 0.
	m := c.nodes[victim]
	sig := testSig(m.ID(), AliveSigningBytes(m.ID(), math.MaxUint64, m.LocalMember().Meta))
	m.applyAlive(aliveMsg{id: m.ID(), inc: math.MaxUint64, meta: m.LocalMember().Meta, sig: sig}, nodeID(0), false)
	if m.Incarnation() != math.MaxUint64 {
		t.Fatalf("incarnation %d after refuting 2^64−1, want it saturated", m.Incarnation())
	}
}

// TestAttackSybilConfirmations: the attacker suspects the victim and adds
// "independent" confirmations under the names of eight other members,
// signed with its own key. They fail verification (counted, penalised):
// no confirmation counts, and the victim is not declared dead.
func TestAttackSybilConfirmations(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		sybilConfirmations(t, seed)
	}
}

func sybilConfirmations(t *testing.T, seed uint64) {
	const n, attacker, victim = 12, 11, 4
	c, pen := authCluster(t, n, seed)
	conf0 := uint64(0)
	for _, m := range c.nodes {
		conf0 += m.Stats().Confirmations
	}
	for round := 0; round < 20; round++ {
		inc := c.nodes[victim].Incarnation()
		c.inject(attacker, accusation(RecSuspect, nodeID(victim), inc, nodeID(attacker), nodeID(attacker)))
		for k := 0; k < 8; k++ {
			if k != victim && k != attacker {
				c.inject(attacker, accusation(RecSuspect, nodeID(victim), inc, nodeID(k), nodeID(attacker)))
				c.inject(attacker, accusation(RecDead, nodeID(victim), inc, nodeID(k), nodeID(attacker)))
			}
		}
		c.run(10)
	}
	c.run(200)
	c.noHonestDeath(t)
	bad, conf := uint64(0), uint64(0)
	for _, m := range c.nodes {
		bad += m.Stats().BadSignatures
		conf += m.Stats().Confirmations
	}
	if bad == 0 || pen[nodeID(attacker)][core.OffenceBadSignature] == 0 {
		t.Fatalf("bad signatures %d, penalties %v", bad, pen[nodeID(attacker)])
	}
	if conf != conf0 {
		t.Fatalf("%d confirmations counted from forged accusers", conf-conf0)
	}
}

// TestAttackRelayTableFill: 256 ping-reqs from one member, with the
// largest nackAfter, for members that exist and for arbitrary addresses.
// The victim serves at most two for that requester, none for unknown
// targets, and every relay is gone after two of the longest probe periods.
func TestAttackRelayTableFill(t *testing.T) {
	const n, attacker, victim = 8, 7, 0
	c, pen := authCluster(t, n, 4)
	for k := 0; k < 256; k++ {
		target := nodeID(1 + k%6)
		if k%2 == 1 {
			target = core.NodeID("elsewhere-" + string(rune('a'+k%26)))
		}
		f := appendPingReq(core.NewFrame(nil), pingReq{seq: uint64(1000 + k), target: target, nackAfter: math.MaxUint64})
		c.queue = append(c.queue, packet{from: attacker, to: victim, frame: f})
	}
	c.deliver()
	v := c.nodes[victim]
	if len(v.relays) > maxRelaysPerRequester+1 { // +1: the attacker's own honest probing may use the victim
		t.Fatalf("%d relays held after the flood", len(v.relays))
	}
	if v.Stats().RelaysRefused < 200 || pen[nodeID(attacker)][core.OffenceFlood] == 0 {
		t.Fatalf("refused %d, penalties %v", v.Stats().RelaysRefused, pen[nodeID(attacker)])
	}
	cfg := v.Config()
	c.run(2*cfg.ProbeInterval*cfg.AwarenessMaxMultiplier + 1)
	for _, r := range v.relays {
		if r.requester == nodeID(attacker) && r.reqSeq >= 1000 {
			t.Fatalf("relay %+v outlived the longest probe periods", r)
		}
	}
}

// TestAttackSpoofedAcks: the attacker answers every probe sequence number
// with an ack, hoping to hide a crash. Acks count only from the probe's
// target or its helpers, so the crashed member is still declared dead by
// every survivor.
func TestAttackSpoofedAcks(t *testing.T) {
	const n, attacker, victim = 10, 9, 5
	c, _ := authCluster(t, n, 5)
	c.down[victim] = true
	took := c.runUntil(3000, "crash detected by all", func() bool {
		for seq := uint64(0); seq < 64; seq++ {
			for i := range c.nodes {
				if i != attacker && !c.down[i] {
					s := c.nodes[i].pingSeq - seq
					c.queue = append(c.queue, packet{from: attacker, to: i, frame: appendSeq(core.NewFrame(nil), RecAck, s)})
				}
			}
		}
		return allSee(c, victim, StateDead)
	})
	spoofed := uint64(0)
	for _, m := range c.nodes {
		spoofed += m.Stats().SpoofedAcks
	}
	if spoofed == 0 {
		t.Fatal("no spoofed ack counted")
	}
	t.Logf("crash detected by all survivors after %d ticks despite %d spoofed acks", took, spoofed)
}

// TestAuthenticatedDetectionTime: a real crash is still detected by every
// survivor in authenticated mode (where a dead record from one member is
// not enough), and not much later than with trusted members.
func TestAuthenticatedDetectionTime(t *testing.T) {
	const n, victim = 20, 7
	detect := func(c *cluster) int {
		c.down[victim] = true
		return c.runUntil(3000, "crash detected by all", func() bool { return allSee(c, victim, StateDead) })
	}
	trusted := newCluster(t, n, 6, nil)
	trusted.joinAll()
	trusted.runUntil(3000, "convergence", trusted.converged)
	auth, _ := authCluster(t, n, 6)
	tt, ta := detect(trusted), detect(auth)
	t.Logf("crash → all survivors: %d ticks trusted, %d ticks authenticated", tt, ta)
	if ta > tt*3/2+20 {
		t.Fatalf("authenticated detection %d ticks, trusted %d", ta, tt)
	}
	for _, e := range auth.events {
		if e.Kind == EventFail && e.Member.ID != nodeID(victim) {
			t.Fatalf("false failure of %s", e.Member.ID)
		}
	}
}

// allSee reports whether every up member holds id in state st.
func allSee(c *cluster, idx int, st State) bool {
	for i, m := range c.nodes {
		if c.down[i] || i == idx {
			continue
		}
		mem, ok := m.Member(nodeID(idx))
		if !ok || mem.State != st {
			return false
		}
	}
	return true
}

// TestStaleAccusationsNotVerified: once a member has refuted a suspicion,
// copies of the old accusation that neighbours go on relaying cannot change
// anything; they are dropped before their signature is checked (each check
// is an ed25519 verification on real hosts) and answered with the newer
// alive update. A forged stale copy (bad signature) is dropped the same way:
// it earns its sender no penalty, and costs this member no verification.
func TestStaleAccusationsNotVerified(t *testing.T) {
	const n, accuser, victim, bystander = 6, 5, 2, 0
	c, pen := authCluster(t, n, 3)
	verifies := 0
	inner := c.nodes[bystander].cfg.Verifier
	c.nodes[bystander].cfg.Verifier = VerifierFunc(func(member core.NodeID, msg, sig []byte) error {
		verifies++
		return inner.VerifyMembership(member, msg, sig)
	})
	old := c.nodes[victim].Incarnation()
	c.inject(accuser, accusation(RecSuspect, nodeID(victim), old, nodeID(accuser), nodeID(accuser)))
	c.run(50)
	if c.nodes[victim].Incarnation() <= old {
		t.Fatal("the victim did not refute")
	}
	c.noHonestDeath(t)
	verifies = 0
	stale := c.nodes[bystander].Stats().Stale
	for i := 0; i < 20; i++ {
		c.inject(accuser, accusation(RecSuspect, nodeID(victim), old, nodeID(accuser), nodeID(accuser)))
		c.inject(accuser, accusation(RecDead, nodeID(victim), old, nodeID(accuser), nodeID(accuser)))
		c.inject(accuser, accusation(RecSuspect, nodeID(victim), old, nodeID(accuser), nodeID(3))) // forged
	}
	c.run(5)
	if verifies != 0 {
		t.Fatalf("%d signature checks of stale accusations", verifies)
	}
	if got := c.nodes[bystander].Stats().Stale - stale; got < 60 {
		t.Fatalf("%d stale records counted, want 60", got)
	}
	if pen[nodeID(accuser)][core.OffenceBadSignature] != 0 {
		t.Fatal("a stale record was verified and penalised")
	}
	c.noHonestDeath(t)
}
