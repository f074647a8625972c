package membership

import (
	"errors"

	"github.com/grapevine-p2p/grapevine/core"
)

// ErrNotAdmissible marks a Config.Admit refusal that proves the record
// bad (e.g. a certificate not signed by the group authority), as opposed
// to one that may be honest (expired, revoked): its sender is penalised.
var ErrNotAdmissible = errors.New("grapevine/membership: member not admissible")

// Closed groups (Config.Admit). A member is admitted once Admit accepted
// an alive update about it; it then stays in the member list until it is
// reaped, and a new incarnation (a refutation, a metadata change) is
// checked again, so one whose admission lapsed cannot refute and is
// declared dead. Records from a sender that is not admitted are not
// believed, except its own alive update (how it joins), and a full state
// from it only once its own entry in that state admitted it.

// admittedSender reports whether records sent by from may be believed.
func (m *Memberlist) admittedSender(from core.NodeID) bool {
	if m.cfg.Admit == nil || from == m.cfg.ID {
		return true
	}
	mem := m.members.get(m.all, from)
	return mem != nil && !mem.removed && mem.state != StateLeft
}

// refuseSender counts and drops a record type that a non-admitted sender
// cannot make believed (accusations, leaves, indirect probe requests).
func (m *Memberlist) refuseSender(from core.NodeID, typ uint8) bool {
	switch typ {
	case RecSuspect, RecDead, RecLeave, RecPingReq:
	default:
		return false
	}
	if m.admittedSender(from) {
		return false
	}
	m.stats.NotAdmitted++
	return true
}

// admit reports whether alive update a, received from from, may be
// believed: its sender must be admitted (or the update be its own) and
// Config.Admit must accept the member's metadata.
func (m *Memberlist) admit(a aliveMsg, from core.NodeID) bool {
	if m.cfg.Admit == nil {
		return true
	}
	if a.id != from && !m.admittedSender(from) {
		m.stats.NotAdmitted++
		return false
	}
	if err := m.cfg.Admit(a.id, a.meta); err != nil {
		m.stats.NotAdmitted++
		if errors.Is(err, ErrNotAdmissible) {
			m.penalize(from, core.OffenceBadSignature)
		}
		return false
	}
	return true
}

// admitState applies, for a state sent by a sender not yet admitted, the
// sender's own alive entry first; it reports whether the rest of the state
// may be applied (the sender is admitted now).
func (m *Memberlist) admitState(from core.NodeID, s *stateMsg) bool {
	if m.admittedSender(from) {
		return true
	}
	for i := range s.entries {
		if e := &s.entries[i]; e.id == from && e.state == StateAlive {
			m.applyAlive(aliveMsg{id: e.id, inc: e.inc, meta: e.meta, sig: e.sig, chain: e.chain}, from, true)
			break
		}
	}
	if m.admittedSender(from) {
		return true
	}
	m.stats.NotAdmitted++
	return false
}

// admittedAccuser reports whether the signer of accusation a is admitted
// (an admitted member may relay an accusation only of an admitted one).
func (m *Memberlist) admittedAccuser(a accuseMsg) bool {
	if a.from == "" || m.admittedSender(a.from) {
		return true
	}
	m.stats.NotAdmitted++
	return false
}
