package p2p

import (
	"context"
	"errors"

	"github.com/grapevine-p2p/grapevine/core"
	"math/rand/v2"
	"time"

	ma "github.com/multiformats/go-multiaddr"
)

// A closed group's wiring into the Peer (WithGroupAuthority).

// initAuthority sets up the admission state and checks this peer's own
// certificate.
func (p *Peer) initAuthority() error {
	a, err := newGroupAuth(&p.s)
	if err != nil || a == nil {
		return err
	}
	if err := a.checkOwn(p.host.ID()); err != nil {
		return err
	}
	p.auth = a
	return nil
}

// encodeMeta encodes this peer's membership metadata: its addresses, and
// in a closed group its certificate first.
func (p *Peer) encodeMeta(addrs []ma.Multiaddr, max int) []byte {
	if p.auth == nil {
		return encodeAddrMeta(addrs, max)
	}
	return encodeMeta(p.auth.cert, addrs, max)
}

// decodeMemberAddrs returns the addresses in a member's metadata (either
// version).
func decodeMemberAddrs(meta []byte) []ma.Multiaddr {
	_, addrs := splitMeta(meta)
	return decodeAddrMeta(addrs)
}

// AuthorityStats returns a closed group's admission counters (zero for an
// open group).
func (p *Peer) AuthorityStats() AuthorityStats {
	if p.auth == nil {
		return AuthorityStats{}
	}
	return p.auth.stats()
}

// onRevocations adopts a revocation list delivered on RevocationTopic
// (the Validator verified it) and disconnects the members it revokes.
func (p *Peer) onRevocations(b []byte) {
	if p.auth == nil {
		return
	}
	ids, err := p.auth.applyRevocations(b)
	if err != nil {
		return
	}
	for _, id := range ids {
		if id == p.id {
			p.warn("revoked", "this peer's own certificate is revoked")
			continue
		}
		if pid, err := PeerID(id); err == nil {
			go p.host.Network().ClosePeer(pid)
		}
	}
}

// spreadRevocations asks the driver to publish the revocation list held
// (if any) on RevocationTopic soon: called when a member joins, so that
// new members learn the list. Each member does so with probability
// min(1, 4/group size), at most once every revocationSpreadGap, so a join
// costs the group a few small messages, not one per member.
func (p *Peer) spreadRevocations() {
	if p.auth != nil {
		p.auth.spreadPending.Store(true)
	}
}

const revocationSpreadGap = 2 * time.Second

// tickAuthority runs on the driver's tick.
func (p *Peer) tickAuthority(size int) {
	a := p.auth
	if a == nil || !a.spreadPending.Load() || time.Since(a.lastSpread) < revocationSpreadGap {
		return
	}
	a.spreadPending.Store(false)
	if size > 4 && rand.IntN(size) >= 4 {
		return
	}
	list := a.revocationList()
	if list == nil {
		return
	}
	a.lastSpread = time.Now()
	if err := p.publishRevocations(list); err != nil {
		p.warn("revocations", "cannot publish the revocation list", "err", err)
	}
}

// publishRevocations publishes list on RevocationTopic (driver goroutine).
func (p *Peer) publishRevocations(list []byte) error {
	_, err := p.mc.Publish(RevocationTopic, list, core.WithTimestamp(time.Now().UnixNano()))
	return err
}

// LoadRevocationList gives a running peer of a closed group a new
// revocation list (RevocationList.Marshal): if its version is higher than
// the list held, the peer adopts it, disconnects the members it revokes
// and publishes it on RevocationTopic, so that every member adopts it.
func (p *Peer) LoadRevocationList(ctx context.Context, list []byte) error {
	if p.auth == nil {
		return errors.New("not a closed group (WithGroupAuthority)")
	}
	l, err := ParseRevocationList(list)
	if err == nil {
		err = l.Verify(p.auth.pub, p.s.group)
	}
	if err != nil {
		return err
	}
	var perr error
	if err := p.call(ctx, func() {
		p.onRevocations(list)
		if held := p.auth.revocationList(); held != nil {
			p.auth.lastSpread = time.Now()
			perr = p.publishRevocations(held)
		}
	}); err != nil {
		return err
	}
	return perr
}

// ErrNotPublisher is returned by Publish in a closed group when this
// peer's certificate does not grant RolePublish (or has lapsed): every
// member would drop the message.
var ErrNotPublisher = errNotPublisher

// mayPublish refuses, in a closed group, a publication every member
// would drop, and the reserved revocation topic.
func (p *Peer) mayPublish(topic string) error {
	if topic == RevocationTopic {
		return errors.New("the revocation topic is reserved (use LoadRevocationList)")
	}
	if p.auth == nil {
		return nil
	}
	if _, publish := p.auth.status(p.id, time.Now()); !publish {
		return ErrNotPublisher
	}
	return nil
}
