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
// reliable and every frame costs a yamux header, a Noise tag and usually a
// system call, while a message body (payload, 38-byte origin, 64-byte
// signature) costs far more than an announcement (about 50 bytes), so the
// profile sends one body eagerly and announces to the rest:
//
//   - Fanout 5, LazyBodyFanout 1, LazyThreshold 1: on first receipt a member
//     sends the body to one random member and an IHAVE to four others, who
//     fetch the body (IWANT) if they still lack it. Every member thus informs
//     five others within one round trip, leaving about 0.7 % of the group to
//     the next round (the residue s of infect-and-die gossip with fanout b
//     solves s = e^(-b(1-s)); Demers et al., PODC 1987), while most members
//     receive the body once or twice. The eager body keeps half the hops at
//     one one-way trip; announcing everything (LazyBodyFanout 0) saves about
//     a quarter of the bytes but costs a round trip per hop and, on a starved
//     machine, a long latency tail (docs/benchmarks/p2p.md).
//   - Rounds 1, RoundTicks 5: a new message is announced once more, 500 ms
//     later, to five random members (announcements of one round share a
//     frame per target), which mops up the residue.
//   - PullEvery 2: a digest to one random member every second repairs the
//     rest and whatever a crashed member swallowed. Pull answers carry
//     bodies, so pulling more often mostly fetches bodies already in flight.
//   - MaxRoundMessages 32, MaxRoundBytes 128 KiB: one pull answer (or one
//     round's push to one target) carries at most that much, so a member
//     that fell behind catches up over a few rounds instead of drawing a
//     burst of bodies that are mostly already on their way.
//   - IWantTimeout: how long to wait for an announced body before asking the
//     next announcer — 500 ms on a LAN, 2 s on a WAN, 300 ms locally.
func tuneEngine(c *core.Config, p Profile) {
	c.Mode = core.PushPull
	c.EagerPush = true
	c.Fanout = 5
	c.LazyThreshold = 1
	c.LazyBodyFanout = 1
	c.Rounds = 1
	c.RoundTicks = 5
	c.PullEvery = 2
	c.MaxRoundMessages = 32
	c.MaxRoundBytes = 128 << 10
	switch p {
	case ProfileWAN:
		c.IWantTimeout = 20
	case ProfileLocal:
		c.IWantTimeout = 3
	default:
		c.IWantTimeout = 5
	}
}
