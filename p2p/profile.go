package p2p

import (
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// Version is the Grapevine version reported by the peer program and in the
// libp2p user agent.
const Version = "0.1.0"

// Profile selects a tuned parameter set for membership and gossip.
type Profile int

const (
	// ProfileLAN: one data centre (membership's DefaultLANConfig).
	ProfileLAN Profile = iota
	// ProfileWAN: members across the Internet (DefaultWANConfig).
	ProfileWAN
	// ProfileLocal: one host or switch, tests and testnets (DefaultLocalConfig).
	ProfileLocal
)

// ParseProfile parses "lan", "wan" or "local".
func ParseProfile(s string) (Profile, bool) {
	switch s {
	case "lan":
		return ProfileLAN, true
	case "wan":
		return ProfileWAN, true
	case "local":
		return ProfileLocal, true
	}
	return 0, false
}

// engineConfig is the gossip profile tuned for libp2p streams (see doc.go):
// eager push of the body to a few peers, lazy IHAVE to the rest, pull
// repair every round.
func engineConfig(p *Peer) core.Config {
	c := core.DefaultConfig()
	c.ID = p.id
	c.Transport = p.tr
	c.App = p
	c.Validator = p
	c.Signer = signer{p.sk}
	c.FirstSeq = p.s.firstSeq
	if c.FirstSeq == 0 {
		c.FirstSeq = uint64(time.Now().UnixMicro())
	}
	tuneEngine(&c, p.s.profile)
	if p.s.engine != nil {
		p.s.engine(&c)
		c.ID, c.Transport, c.App, c.Validator, c.Signer = p.id, p.tr, p, p, signer{p.sk}
	}
	return c
}

// tuneEngine applies the gossip profile for libp2p streams. Streams are
// reliable and every frame costs a header, an AEAD tag and often a system
// call, so the profile spends bodies sparingly and announcements freely:
//
//   - Fanout 5, LazyBodyFanout 1, LazyThreshold 1: on first receipt a
//     member sends the body to one random member and an IHAVE (a ~50-byte
//     key) to four others, who fetch the body with IWANT if they still lack
//     it. Every member thus informs five others at network speed, leaving
//     about e^(-5) ≈ 0.7 % of the group to the next round (the residue s of
//     infect-and-die gossip with fanout b solves s = e^(-b(1-s)); Demers et
//     al. 1987), while each member receives the body about once.
//   - Rounds 1, RoundTicks 2: a new message is announced once more, 200 ms
//     later, to five random members, which mops up the residue; pull (one
//     digest per round to a random member) repairs the rest and anything a
//     crashed member swallowed.
//   - IWantTimeout: how long to wait for an announced body before asking the
//     next announcer — 300 ms on a LAN, 1 s on a WAN, 200 ms locally.
func tuneEngine(c *core.Config, p Profile) {
	c.Mode = core.PushPull
	c.EagerPush = true
	c.Fanout = 5
	c.LazyThreshold = 1
	c.LazyBodyFanout = 1
	c.Rounds = 1
	c.RoundTicks = 2
	c.PullEvery = 1
	switch p {
	case ProfileWAN:
		c.IWantTimeout = 10
	case ProfileLocal:
		c.IWantTimeout = 2
	default:
		c.IWantTimeout = 3
	}
}
