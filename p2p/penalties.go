package p2p

import (
	"context"

	"github.com/grapevine-p2p/grapevine"
	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Penalized reports whether this peer currently penalizes id: its
// misbehaviour score (offences weighed and decaying: messages failing
// verification, forged or bad membership records, floods; see doc.go) rose
// above the threshold, so it was disconnected and its connections and
// streams are refused for a minute.
func (p *Peer) Penalized(id peer.ID) bool { return p.tr.penalizedPeer(id) }

// GuardStats returns the counters of the Node's guard: messages refused
// and why, offences by kind, unproven expiries of held messages, and the
// misbehaviour score table (peers scored, penalties given, scores evicted
// to make room).
func (p *Peer) GuardStats() grapevine.GuardStats {
	var st grapevine.GuardStats
	_ = p.call(context.Background(), func() { st = p.mc.GuardStats() })
	return st
}

// Penalties returns the offences this peer attributed to other peers so
// far, by reason (the labels of grapevine_penalties_total: malformed,
// invalid_message, bad_signature, forged_accusation, flood, …). Reasons
// never counted are absent.
func (p *Peer) Penalties() map[string]uint64 {
	out := map[string]uint64{}
	ch := make(chan prometheus.Metric, 16)
	go func() {
		p.m.penalties.Collect(ch)
		close(ch)
	}()
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil || d.GetCounter() == nil {
			continue
		}
		for _, l := range d.GetLabel() {
			if l.GetName() == "reason" {
				out[l.GetValue()] += uint64(d.GetCounter().GetValue())
			}
		}
	}
	return out
}

// MessageSigner returns the signer a Peer with key sk uses for its own
// messages in group (the origin's signature over core.Message.ID in the
// group's message domain). For tools that build messages themselves, such
// as the attack suite's hostile members (testnet/attack).
func MessageSigner(sk crypto.PrivKey, group string) core.Signer { return newSigner(sk, group) }

// MembershipSigner returns the signer a Peer with key sk uses for its
// membership records in group (alive and leave updates about itself,
// suspect and dead records it accuses with), in the group's membership
// domain. For tools that build membership records themselves.
func MembershipSigner(sk crypto.PrivKey, group string) membership.Signer {
	domain := sigDomain(memberSigKind, group)
	return membership.SignerFunc(func(msg []byte) ([]byte, error) {
		return sk.Sign(append([]byte(domain), msg...))
	})
}
