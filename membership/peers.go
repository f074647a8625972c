package membership

import "github.com/grapevine-p2p/grapevine/core"

// PeersVersion implements core.PeerLister: a number that changes whenever
// the set AppendPeers returns changes (a member joins, dies or leaves, or
// falls under or clears suspicion), so the gossip engine rebuilds what it
// derives from the list only then.
func (m *Memberlist) PeersVersion() uint64 {
	v := m.liveVer
	for _, s := range m.suspects {
		if !s.removed && s.liveIdx >= 0 && s.state == StateSuspect {
			v = (v ^ core.RingPos(s.id)) * 0x100000001b3
		}
	}
	return v
}

// AppendPeers implements core.PeerLister: it appends the ID of every alive
// member other than this one to dst, in no particular order. Suspected
// members are left out: gossip's tree push routes around them (a member
// that crashed is usually suspected a few seconds before it is declared
// dead), while random sampling and repair still reach them.
func (m *Memberlist) AppendPeers(dst []core.NodeID) []core.NodeID {
	for _, mem := range m.live {
		if mem.state == StateAlive {
			dst = append(dst, mem.id)
		}
	}
	return dst
}
