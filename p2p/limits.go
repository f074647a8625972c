package p2p

import (
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// AddGroupLimits adds to limits the resource-manager limits of the
// group's two protocols for a peer configured with opts (the group from
// WithGroup, the frame caps from the profile and engine options), as the
// host a Peer builds has them: see addGroupLimits. A host built elsewhere
// (package wasm builds the browser's) uses it to bound its Grapevine
// streams like a native peer.
func AddGroupLimits(limits *rcmgr.ScalingLimitConfig, opts ...Option) error {
	s := defaults()
	for _, o := range opts {
		if err := o(&s); err != nil {
			return err
		}
	}
	addGroupLimits(limits, s.group, frameCaps(&s))
	return nil
}

// addGroupLimits adds, for each of the group's protocols, a limit per
// peer (AddProtocolPeerLimit): two inbound streams (the one served and a
// newer one replacing it), two outbound, and the memory a peer's inbound
// frames may hold while read and waiting for the driver (reserved in the
// stream's scope): four largest gossip frames, sixteen largest membership
// frames. A peer over it is held back (its stream is read once the driver
// catches up). The same memory for all peers together (AddProtocolLimit)
// is 32 largest gossip frames (34 MiB by default) and 64 membership frames
// (4 MiB), whatever the number of peer IDs an attacker brings; the stream
// counts of the protocol limits are limits.ProtocolBaseLimit's (and its
// increase, so they scale with the machine).
func addGroupLimits(limits *rcmgr.ScalingLimitConfig, group string, caps [2]int) {
	gossip, swim := Protocols(group)
	pl, inc := limits.ProtocolBaseLimit, limits.ProtocolLimitIncrease
	inc.Memory = 0 // streams scale with the machine as by default; memory is fixed
	pl.Memory = int64(32 * caps[kindGossip])
	limits.AddProtocolLimit(gossip, pl, inc)
	pl.Memory = int64(64 * caps[kindMembership])
	limits.AddProtocolLimit(swim, pl, inc)
	limits.AddProtocolPeerLimit(gossip, rcmgr.BaseLimit{StreamsInbound: 2, StreamsOutbound: 2, Streams: 4,
		Memory: int64(4 * caps[kindGossip])}, rcmgr.BaseLimitIncrease{})
	limits.AddProtocolPeerLimit(swim, rcmgr.BaseLimit{StreamsInbound: 2, StreamsOutbound: 2, Streams: 4,
		Memory: int64(16 * caps[kindMembership])}, rcmgr.BaseLimitIncrease{})
}
