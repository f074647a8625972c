package membership

import "github.com/grapevine-p2p/grapevine/core"

// PeersVersion implements core.PeerLister: a number that changes whenever
// the set of live members (alive or suspect, other than this one) changes,
// so the gossip engine rebuilds what it derives from the list only then.
func (m *Memberlist) PeersVersion() uint64 { return m.liveVer }

// AppendPeers implements core.PeerLister: it appends the ID of every live
// member other than this one to dst, in no particular order.
func (m *Memberlist) AppendPeers(dst []core.NodeID) []core.NodeID {
	for _, mem := range m.live {
		dst = append(dst, mem.ID)
	}
	return dst
}
