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
	tuneEngine(&c)
	if p.s.engine != nil {
		p.s.engine(&c)
		c.ID, c.Transport, c.App, c.Validator, c.Signer = p.id, p.tr, p, p, signer{p.sk}
	}
	return c
}

// tuneEngine applies the stream-transport gossip profile.
func tuneEngine(c *core.Config) {
	c.Mode = core.PushPull
	c.EagerPush = true
	c.Fanout = 4
	c.LazyThreshold = 1
	c.LazyBodyFanout = 2
	c.Rounds = 1
	c.IWantTimeout = 2
}
