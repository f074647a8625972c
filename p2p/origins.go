package p2p

import (
	"context"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
)

// Messages of origins that are not members (issue 12's origin flood: a
// member inventing 10,000 ed25519 identities and sending one validly
// signed message of each).
//
// The rule is the Node's guard's (grapevine.Guard.OriginKnown and
// Penalize, the same code in the simulator's attack suite); this file holds
// its rationale and the Peer's view of it.
//
// A message is taken in only once its origin is a member this peer knows,
// in any state (alive, suspect, or a tombstone: a member that failed or
// left an hour ago may still have messages in flight). This is asked after
// the signature verified (so a forger is still penalised at once, as
// before) and never again for the same message. Until then core holds the
// message (core.OriginGate, up to
// HoldUnknownTicks, 3 s by default) and asks again every tick: membership
// views diverge for a moment, and a member that joined a second ago is
// known to some members before others while its first messages travel as
// fast as its alive update (a new member puts its alive on its first
// gossip frame to each peer, membership/self_announce.go, and for 5 s after
// a join the members that relay the new member's messages put its alive on
// the frames that carry them, once per peer, membership/vouch.go; so this
// is rare).
// Meanwhile this peer asks the sender for its
// full membership state (membership.AskState; once per half a hold per
// sender, one request in max(5, n/20) ticks over all senders, since a full
// state is the whole view), which names the origin if the sender knows it
// as a member, and so resolves that divergence within a round trip. A member that failed or left before this peer
// joined is not learned from another's state (membership learns no
// corpses second-hand), but its last messages may still circulate (a
// joiner's history): an origin the asked sender lists as dead or left is
// taken in from that sender (membership.Vouched).
//
// Every member applies the rule before it forwards anything, so an honest
// member never relays a message of an origin it does not know as a member.
// When a held message expires, its sender is charged an offence
// (OffenceUnknownOrigin; at most one per sender and origin in 6 s, weight
// 1 in the misbehaviour score) only if its own state, asked for and received whole
// during the hold, did not name the origin in any state: it forwarded a
// message of an origin it did not know. A sender that did not answer in
// time, or was not asked (the rate limit), is not charged; its message is
// just dropped (and repaired by pull if genuine).
//
// What it does not stop: an attacker that also announces every invented
// identity as a member (a signed alive of each) passes the check; that is
// a membership flood, bounded by membership's MaxMembers and its failure
// detector (such members never answer probes), not by this rule. Nor one
// that lists its invented origins as dead in its own state: their messages
// are then taken in from it, unpenalised (and bounded as before: origin
// table, tombstones, the opt-in NewOriginBurst). Where it can fall on an
// honest member: one that took in a departed member's message because its
// sender vouched for it relays it to a member that does not know the
// origin either (two joiners in a row), whose ask then finds the origin
// missing from its state: one offence per such origin in 6 s, more than 16
// needed within about a minute.

// withoutOriginCheck takes in messages of any origin (tests of what the
// guard checks, with origins that are not members).
func withoutOriginCheck() Option {
	return func(s *settings) error { s.noOriginCheck = true; return nil }
}

// OriginHoldStats are the counters of messages held for their origin.
type OriginHoldStats struct {
	core.HoldStats
	// Unproven: expiries reported without the sender's state having come
	// back during the hold (not an offence). Counted like the offences, at
	// most one per sender and origin in two holds, so not comparable with
	// Expired, which counts messages.
	Unproven uint64
	// Asks: the membership state requests to senders.
	Asks membership.AskStats
	// Vouches: recent joiners' alive updates this peer put on frames with
	// their messages (membership/vouch.go), so that receivers need not hold them.
	Vouches membership.VouchStats
}

// OriginHoldStats returns the counters of messages held because their
// origin was not a known member.
func (p *Peer) OriginHoldStats() OriginHoldStats {
	var st OriginHoldStats
	_ = p.call(context.Background(), func() {
		if nm, ok := p.mc.(*nodeMachine); ok {
			st.HoldStats = nm.n.Engine().HoldStats()
			st.Asks = nm.n.Membership().AskStats()
			st.Vouches = nm.n.Membership().VouchStats()
			st.Unproven = nm.n.Guard().Stats().UnprovenExpiries
		}
	})
	return st
}
