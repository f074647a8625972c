package p2p

import "github.com/grapevine-p2p/grapevine/core"

// Unreachable implements core.Reachability for the engines: the transport
// knows a crashed peer's streams broke seconds before membership declares
// it dead, and gossip's tree push routes around it meanwhile.
func (m *nodeMachine) Unreachable(id core.NodeID) bool { return m.p.tr.Unreachable(id) }
