package membership

import "github.com/grapevine-p2p/grapevine/core"

// signSelfAlive signs this member's current alive update: a new chain
// with Config.AliveChains, else the update itself.
func (m *Memberlist) signSelfAlive() {
	if m.chained() && m.signSelfChain() {
		return
	}
	s := m.self
	s.setChain(nil)
	s.setSig(m.sign(AliveSigningBytes(s.id, s.incarnation, s.meta())))
}

// sign signs msg with Config.Signer; nil without a signer or on error.
func (m *Memberlist) sign(msg []byte) []byte {
	if m.cfg.Signer == nil {
		return nil
	}
	sig, err := m.cfg.Signer.SignMembership(msg)
	if err != nil || len(sig) > m.cfg.Limits.MaxSigSize {
		m.stats.SignErrors++
		return nil
	}
	return nilIfEmpty(sig)
}

// verify checks sig with Config.Verifier; true without a verifier.
func (m *Memberlist) verify(id core.NodeID, msg, sig []byte) bool {
	if m.cfg.Verifier == nil {
		return true
	}
	m.stats.SignaturesChecked++
	if len(sig) == 0 || m.cfg.Verifier.VerifyMembership(id, msg, sig) != nil {
		m.stats.BadSignatures++
		return false
	}
	return true
}

// authenticated reports whether the memberlist runs in authenticated mode
// (Config.Verifier set): every update and accusation must carry the
// signature of the member that makes it.
func (m *Memberlist) authenticated() bool { return m.cfg.Verifier != nil }

// penalize reports an offence by the peer that sent the current frame.
func (m *Memberlist) penalize(from core.NodeID, o core.Offence) {
	if m.cfg.Penalizer != nil && from != "" && from != m.cfg.ID {
		m.cfg.Penalizer.Penalize(from, o)
	}
}

// ownAccusation returns this member's accusation of mem, signed.
func (m *Memberlist) ownAccusation(typ uint8, mem *member) accuseMsg {
	a := accuseMsg{id: mem.id, inc: mem.incarnation, from: m.cfg.ID}
	if m.authenticated() {
		a.sig = m.sign(AccuseSigningBytes(typ, a.id, a.inc, a.from))
	}
	return a
}

// verifyAccusation checks an accusation's signature by its accuser (true
// when members are trusted, or for this member's own accusation made
// locally, from ""); a bad one is counted and penalised. A record received
// from a peer that names this member as the accuser is verified like any
// other: it is this member's own only if it carries its signature.
func (m *Memberlist) verifyAccusation(typ uint8, a accuseMsg, from core.NodeID) bool {
	if !m.authenticated() || (from == "" && a.from == m.cfg.ID) {
		return true
	}
	if !m.verify(a.from, AccuseSigningBytes(typ, a.id, a.inc, a.from), a.sig) {
		m.penalize(from, core.OffenceBadSignature)
		return false
	}
	return true
}
