package membership

import (
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// PeersVersion implements core.PeerLister: a number that changes whenever
// the set AppendPeers returns changes (a member joins, dies or leaves, or
// tree push starts or stops routing around a suspect), so the gossip engine
// rebuilds what it derives from the list only then.
func (m *Memberlist) PeersVersion() uint64 {
	v := m.liveVer
	for _, s := range m.suspects {
		if !s.removed && s.liveIdx >= 0 && s.state == StateSuspect && m.routeAround(s) {
			v = (v ^ core.RingPos(s.id)) * 0x100000001b3
		}
	}
	return v
}

// AppendPeers implements core.PeerLister: it appends the ID of every live
// member other than this one to dst, in no particular order, except the
// suspects tree push routes around (routeAround): a member that crashed is
// usually suspected a few seconds before it is declared dead, and random
// sampling and repair still reach the members left out.
func (m *Memberlist) AppendPeers(dst []core.NodeID) []core.NodeID {
	for _, mem := range m.live {
		if mem.state == StateAlive || (mem.state == StateSuspect && !m.routeAround(mem)) {
			dst = append(dst, mem.id)
		}
	}
	return dst
}

// minAccusersToRouteAround is how many distinct members' verified
// accusations make tree push route around a suspect this member has not
// probed unsuccessfully itself: one hostile member cannot supply two.
const minAccusersToRouteAround = 2

// routeAround reports whether tree push leaves the suspect mem out.
//
// In trusted mode every suspect is left out. In authenticated mode an
// accusation is a claim (doc.go, "Hostile members"): a member that accuses
// others falsely, as often as it likes, would otherwise cut each accused
// member off the fast path until it refutes, raising the group's delivery
// latency (issue 12: p99 from 3.5 ms to 99 ms on real hosts) at the cost of
// one signed record. So a suspect is routed around only on evidence one
// member cannot forge: this member's own probe of it failed (members probe
// a suspect they hear of within about a period, Config.ProbeSuspects, so a
// crashed member is still routed around before its verdict), or at least
// two distinct members' signed accusations were verified.
func (m *Memberlist) routeAround(mem *member) bool {
	if !m.authenticated() {
		return true
	}
	s := mem.suspicion()
	if s == nil {
		return false
	}
	return s.probedDown || s.verifiedAccusers() >= minAccusersToRouteAround
}

// verifiedAccusers counts the distinct members whose accusation of the
// suspect was verified: every confirmer after the first (confirmations are
// counted only from verified records) and the first if its suspect record
// came signed or it also declared the suspect dead (a verified dead record
// starts a suspicion without keeping its signature). A suspicion learned
// from a full-state exchange names its sender as accuser unsigned: that
// member only passed it on.
func (s *suspicion) verifiedAccusers() int {
	if len(s.confirmers) == 0 {
		return 0
	}
	n := len(s.confirmers) - 1
	if s.accuserSig != nil || slices.Contains(s.declarers, s.confirmers[0]) {
		n++
	}
	return n
}
