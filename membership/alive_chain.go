package membership

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
)

// Refutations proven by a hash chain (Config.AliveChains, with a Signer).
//
// In authenticated mode a member that refutes a suspicion raises its
// incarnation and signs a new alive update, and every member that hears
// it checks the signature: a refutation costs the group one Ed25519
// verification per member. Over two crowded cores at N = 1,000 members
// whose acks ran late were suspected and refuted hundreds of times in a
// minute, and checking those refutations took half of all the CPU the
// group spent (a window profile of `bench -n 1000 -scenarios silent`,
// docs/benchmarks/ladder.md, session 32): the overload made suspicions,
// and the suspicions' refutations fed the overload.
//
// So a member signs, with its alive update, the head of a hash chain, as
// Lamport's one-time passwords do (L. Lamport, "Password authentication
// with insecure communication", CACM 24(11), 1981): it derives a secret
// seed s, and the head is h = H^L(s) with H SHA-256 and L = chainLength.
// The signature covers the member's ID, the incarnation b it signed at
// (the chain's base), its metadata and h. Incarnation b+k is then proven
// by the link H^(L-k)(s), which only the member can compute, and which
// anyone can check against the head, or against any later link it holds,
// by hashing: a refutation reveals the next link instead of carrying a new
// signature. A member that already holds the signed head checks a
// refutation with one SHA-256 (0.10 µs against 68–84 µs for an Ed25519
// check on the project's 2-core machine: go test ./membership -run XXX
// -bench 'Chain|Ed25519'); one that
// does not checks the signature once and at most L hashes. After L
// refutations, or when its metadata changes, a member signs a new chain.
//
// A refutation travels as a bump (RecBump): the member's ID, the new
// incarnation, the chain's base and the link, about 80 bytes against about
// 190 for a signed alive update with its metadata. A member that holds the
// member under another chain, or not at all, cannot check a bump and drops
// it (Stats.BumpsUnverifiable) without blaming its sender; it learns the
// whole record as it learns any other (a full-state exchange, a correction
// when it accuses at an old incarnation). A member's first record of a
// chain, and a record that ends a death or a departure, travel whole.
//
// The seed is a hash of the member's own signature of a message it signs
// for no other purpose and never sends (chainSeedBytes): a deterministic
// secret that needs no random source and no storage, different for every
// base, and known to nobody without the member's key. The chain is about
// this member's liveness only: accusations, verdicts and leaves are signed
// as before, and the precedence rules (rules.go) see incarnation numbers
// as before.

// chainLength is L, the refutations one signed chain proves: it also
// bounds the hashes a member without the chain spends on one update
// (256 SHA-256 of 32 bytes, 28 µs, under half a signature check).
const chainLength = 256

// chainSize is the size of a chain's head and links.
const chainSize = sha256.Size

// aliveChain is what proves a chained alive update besides its signature.
type aliveChain struct {
	base uint64          // the incarnation the signature covers
	head [chainSize]byte // H^L(seed), signed
	link [chainSize]byte // the link of the update's incarnation; the head at base
}

// chainWalk returns H^n(p).
func chainWalk(p [chainSize]byte, n uint64) [chainSize]byte {
	for range n {
		p = sha256.Sum256(p[:])
	}
	return p
}

// ChainedAliveSigningBytes returns the bytes a member signs to announce
// that it is alive from incarnation base on, with metadata meta and the
// hash chain head (Config.AliveChains).
func ChainedAliveSigningBytes(id core.NodeID, base uint64, meta, head []byte) []byte {
	b := append([]byte(nil), "grapevine/member/alive-chain/v1"...)
	b = wire.AppendString(b, string(id))
	b = binary.AppendUvarint(b, base)
	b = wire.AppendBytes(b, meta)
	return wire.AppendBytes(b, head)
}

// chainSeedBytes returns the bytes whose signature seeds this member's
// chain at base. They are signed only to derive the seed, never sent.
func chainSeedBytes(id core.NodeID, base uint64) []byte {
	b := append([]byte(nil), "grapevine/member/chain-seed/v1"...)
	b = wire.AppendString(b, string(id))
	return binary.AppendUvarint(b, base)
}

// chained reports whether this member signs its alive updates with a
// hash chain.
func (m *Memberlist) chained() bool {
	return m.cfg.AliveChains && m.cfg.Signer != nil
}

// signSelfChain signs a new chain for this member's current incarnation
// and metadata; false if signing failed (the caller signs unchained).
func (m *Memberlist) signSelfChain() bool {
	s := m.self
	seedSig := m.sign(chainSeedBytes(s.id, s.incarnation))
	if seedSig == nil {
		return false
	}
	m.chainSeed = sha256.Sum256(seedSig)
	c := &aliveChain{base: s.incarnation, head: chainWalk(m.chainSeed, chainLength)}
	c.link = c.head
	sig := m.sign(ChainedAliveSigningBytes(s.id, c.base, s.meta(), c.head[:]))
	if sig == nil {
		return false
	}
	s.setSig(sig)
	s.setChain(c)
	m.stats.ChainsSigned++
	return true
}

// extendSelfChain proves this member's current incarnation with the next
// links of its chain; false when the chain does not reach it (the caller
// signs a new one).
func (m *Memberlist) extendSelfChain() bool {
	s := m.self
	c := s.chain()
	if c == nil || s.incarnation < c.base || s.incarnation-c.base > chainLength {
		return false
	}
	next := *c
	next.link = chainWalk(m.chainSeed, chainLength-(s.incarnation-c.base))
	s.setChain(&next)
	return true
}

// verifyAlive checks alive update a about mem (nil if unknown, or if it
// is this member's own): its signature, or for a chained update whose
// signed head mem already holds, only the links from the incarnation mem
// holds to a's. False (counted, not penalised here) if it does not hold.
func (m *Memberlist) verifyAlive(mem *member, a aliveMsg) bool {
	if !m.authenticated() {
		return true
	}
	c := a.chain
	if c == nil {
		return m.verify(a.id, AliveSigningBytes(a.id, a.inc, a.meta), a.sig)
	}
	if a.inc < c.base || a.inc-c.base > chainLength {
		m.stats.BadSignatures++
		return false
	}
	if held := mem.chain(); held != nil && held.base == c.base && held.head == c.head &&
		a.inc >= mem.metaInc && string(mem.meta()) == string(a.meta) {
		// The signature of this head was checked when mem's chain was
		// first applied; the links from mem's incarnation on are what is
		// new.
		m.stats.ChainLinksChecked++
		if chainWalk(c.link, a.inc-mem.metaInc) != held.link {
			m.stats.BadSignatures++
			return false
		}
		return true
	}
	m.stats.ChainLinksChecked++
	if chainWalk(c.link, a.inc-c.base) != c.head {
		m.stats.BadSignatures++
		return false
	}
	return m.verify(a.id, ChainedAliveSigningBytes(a.id, c.base, a.meta, c.head[:]), a.sig)
}

// RecBump: member ID, incarnation, incarnation - base (at least 1), the
// chain link of that incarnation: a refutation for members that hold the
// chain's signed head.
const RecBump uint8 = 0x4e

type bumpMsg struct {
	id   core.NodeID
	inc  uint64
	base uint64
	link [chainSize]byte
}

func appendBump(dst []byte, b bumpMsg) []byte {
	body := wire.AppendString(nil, string(b.id))
	body = binary.AppendUvarint(body, b.inc)
	body = binary.AppendUvarint(body, b.inc-b.base)
	body = append(body, b.link[:]...)
	return core.AppendRecord(dst, RecBump, body)
}

func decodeBump(body []byte, lim *Limits) (bumpMsg, error) {
	r := wire.NewReader(body)
	b := bumpMsg{id: core.NodeID(r.ID(lim.MaxIDLen)), inc: r.Uvarint()}
	d := r.Uvarint()
	if r.Err() == nil && (d == 0 || d > b.inc) {
		r.Fail(fmt.Errorf("%w: bump %d above its chain's base at incarnation %d", core.ErrMalformed, d, b.inc))
	}
	b.base = b.inc - d
	r.Fixed(b.link[:], "chain link")
	r.End("bump")
	return b, wrap("bump", r.Err())
}

// applyBump applies a bump: an alive update at b.inc of a member whose
// chain this member holds, checked by hashing (verifyAlive). One it cannot
// check (an unknown member, another chain) is dropped, not blamed on its
// sender; one about this member is either its own, echoed, or forged, and
// changes nothing either way.
func (m *Memberlist) applyBump(b bumpMsg, from core.NodeID) {
	if b.id == m.cfg.ID {
		m.stats.Stale++
		return
	}
	mem := m.members.get(m.all, b.id)
	if mem != nil && b.inc <= mem.incarnation {
		m.stats.Stale++
		return
	}
	c := mem.chain()
	if mem == nil || mem.removed || c == nil || c.base != b.base {
		m.stats.BumpsUnverifiable++
		return
	}
	a := aliveOf(mem)
	a.inc = b.inc
	a.chain = &aliveChain{base: c.base, head: c.head, link: b.link}
	m.applyAlive(a, from, false)
}

// enqueueAlive queues mem's alive update for dissemination after it
// changed from state prev: a bump when its chain already travelled (the
// incarnation is past the chain's base, mem was alive or suspect, and no
// whole record of it is still queued here), else the whole record.
func (m *Memberlist) enqueueAlive(mem *member, prev State) {
	if c := mem.chain(); c != nil && mem.metaInc > c.base && (prev == StateAlive || prev == StateSuspect) && !m.queue.holds(mem.id, RecAlive) {
		m.enqueue(mem.id, RecBump, appendBump(nil, bumpMsg{id: mem.id, inc: mem.metaInc, base: c.base, link: c.link}))
		return
	}
	m.enqueue(mem.id, RecAlive, appendAlive(nil, aliveOf(mem)))
}

// aliveOf returns mem's alive update at the incarnation its proof holds:
// metadata, signature and, if chained, the chain.
func aliveOf(mem *member) aliveMsg {
	return aliveMsg{id: mem.id, inc: mem.metaInc, meta: mem.meta(), sig: mem.sig(), chain: mem.chain()}
}

// appendChain appends c's wire form for an update at incarnation inc:
// inc - base, the head, and the link unless inc is the base (where the
// link is the head).
func appendChain(dst []byte, c *aliveChain, inc uint64) []byte {
	dst = binary.AppendUvarint(dst, inc-c.base)
	dst = append(dst, c.head[:]...)
	if inc != c.base {
		dst = append(dst, c.link[:]...)
	}
	return dst
}

// readChain reads a chain written by appendChain for an update at
// incarnation inc.
func readChain(r *wire.Reader, inc uint64) *aliveChain {
	d := r.Uvarint()
	if r.Err() == nil && d > inc {
		r.Fail(fmt.Errorf("%w: chain base above the incarnation", core.ErrMalformed))
	}
	c := &aliveChain{base: inc - d}
	r.Fixed(c.head[:], "chain head")
	if d == 0 {
		c.link = c.head
	} else {
		r.Fixed(c.link[:], "chain link")
	}
	if r.Err() != nil {
		return nil
	}
	return c
}
