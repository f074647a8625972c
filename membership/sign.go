package membership

import "github.com/grapevine-p2p/grapevine/core"

// signSelfAlive signs this member's current alive update.
func (m *Memberlist) signSelfAlive() {
	s := m.self
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
	if len(sig) == 0 || m.cfg.Verifier.VerifyMembership(id, msg, sig) != nil {
		m.stats.BadSignatures++
		return false
	}
	return true
}
