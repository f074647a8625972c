package p2p

import "github.com/grapevine-p2p/grapevine/core"

// Unreachable implements core.Reachability for the engines: the transport
// knows a crashed peer's streams broke seconds before membership declares
// it dead, and gossip's tree push routes around it meanwhile.
func (m *nodeMachine) Unreachable(id core.NodeID) bool { return m.p.tr.Unreachable(id) }

// Unserving, Unserved and Served implement core.ServiceScore for the
// engine: the transport's per-member service score (service.go), which
// steers IWANTs, pull digests, announcements and tree push around members
// that take gossip and serve none.
func (m *nodeMachine) Unserving(id core.NodeID) bool { return m.p.tr.Unserving(id) }
func (m *nodeMachine) Unserved(id core.NodeID)       { m.p.tr.Unserved(id) }
func (m *nodeMachine) Served(id core.NodeID)         { m.p.tr.Served(id) }
