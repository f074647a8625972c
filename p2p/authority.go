package p2p

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// WithGroupAuthority makes the group closed to peers without a member
// certificate signed by authority (IssueCertificate): cert is this peer's
// own certificate (Certificate.Marshal). Members present their certificate
// in their signed membership metadata; a peer whose certificate is
// missing, invalid, expired or revoked is not admitted: none of its
// membership records (its own alive, its relays, its accusations) is
// believed, its gossip frames are ignored, and messages are delivered only
// from admitted members with RolePublish. It works over every transport,
// browsers included. Combine it with WithPrivateNetwork to also keep
// non-members from connecting at all (TCP and WebSocket only).
func WithGroupAuthority(authority crypto.PubKey, cert []byte) Option {
	return func(s *settings) error {
		if authority == nil || authority.Type() != crypto.Ed25519 {
			return errors.New("group authority must be an ed25519 public key")
		}
		if _, err := ParseCertificate(cert); err != nil {
			return err
		}
		s.authority, s.cert = authority, append([]byte(nil), cert...)
		return nil
	}
}

// WithRevocationList gives a peer of a closed group (WithGroupAuthority)
// the group's revocation list (RevocationList.Marshal). Members spread the
// highest version they hold to each other on RevocationTopic, so loading
// it on one member is enough.
func WithRevocationList(list []byte) Option {
	return func(s *settings) error {
		if _, err := ParseRevocationList(list); err != nil {
			return err
		}
		s.revocations = append([]byte(nil), list...)
		return nil
	}
}

// AuthorityStats counts what a closed group's admission refused.
type AuthorityStats struct {
	RefusedRecords  uint64 // alive records whose certificate was refused (membership also counts them)
	DroppedFrames   uint64 // frames (or their gossip records) from peers not admitted
	DroppedMessages uint64 // messages whose origin is not an admitted member with RolePublish
	Revocations     uint64 // revocation lists accepted (higher version than held)
}

// groupAuth is a closed group's admission state, shared by the driver
// (membership's Admit, the Validator) and the transport's readers.
type groupAuth struct {
	pub   crypto.PubKey
	group string
	cert  []byte

	mu      sync.Mutex
	members map[core.NodeID]*Certificate // admitted members' certificates
	revoked *RevocationList

	refused, droppedFrames, droppedMsgs, revocations atomic.Uint64

	spreadPending atomic.Bool
	lastSpread    time.Time // driver goroutine
}

func newGroupAuth(s *settings) (*groupAuth, error) {
	if s.authority == nil {
		return nil, nil
	}
	a := &groupAuth{pub: s.authority, group: s.group, cert: s.cert, members: make(map[core.NodeID]*Certificate)}
	if s.revocations != nil {
		if _, err := a.applyRevocations(s.revocations); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// checkOwn verifies this peer's own certificate, so that a misconfigured
// peer fails at start rather than being ignored by everyone.
func (a *groupAuth) checkOwn(self peer.ID) error {
	c, err := ParseCertificate(a.cert)
	if err == nil {
		err = a.check(c, self, time.Now())
	}
	if err != nil {
		return fmt.Errorf("own member certificate: %w", err)
	}
	a.mu.Lock()
	a.members[NodeID(self)] = c
	a.mu.Unlock()
	return nil
}

func (a *groupAuth) check(c *Certificate, p peer.ID, now time.Time) error {
	if err := c.Verify(a.pub, p, a.group, now); err != nil {
		return err
	}
	a.mu.Lock()
	revoked := a.revoked.Revoked(c.Serial)
	a.mu.Unlock()
	if revoked {
		return fmt.Errorf("%w: serial %d", ErrCertRevoked, c.Serial)
	}
	return nil
}

// admit implements membership's Config.Admit: meta must carry a valid
// certificate for id. A certificate that is malformed, badly signed or
// issued to another peer or group is provably bad (membership penalises
// the sender); expiry and revocation are not (clocks and lists differ).
func (a *groupAuth) admit(id core.NodeID, meta []byte) error {
	err := a.admitErr(id, meta)
	if err != nil {
		a.refused.Add(1)
		if errors.Is(err, ErrCertInvalid) {
			return fmt.Errorf("%w: %v", membership.ErrNotAdmissible, err)
		}
	}
	return err
}

func (a *groupAuth) admitErr(id core.NodeID, meta []byte) error {
	raw, _ := splitMeta(meta)
	if raw == nil {
		return fmt.Errorf("%w: none presented", ErrCertInvalid)
	}
	p, err := PeerID(id)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCertInvalid, err)
	}
	c, err := ParseCertificate(raw)
	if err != nil {
		return err
	}
	if err := a.check(c, p, time.Now()); err != nil {
		return err
	}
	a.mu.Lock()
	a.members[id] = c
	a.mu.Unlock()
	return nil
}

// status returns whether id is admitted now and whether it may publish.
func (a *groupAuth) status(id core.NodeID, now time.Time) (admitted, publish bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.members[id]
	if c == nil || now.Before(c.NotBefore) || !now.Before(c.Expiry) || a.revoked.Revoked(c.Serial) {
		return false, false
	}
	return true, c.Roles&RolePublish != 0
}

// known reports whether id presented a certificate once (admitted then),
// i.e. whether a frame from it that it is not admitted for now is from a
// member whose certificate expired or was revoked.
func (a *groupAuth) known(id core.NodeID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.members[id] != nil
}

// applyRevocations verifies an encoded list and adopts it if its version
// is higher than the one held; it returns the peers it newly revokes.
func (a *groupAuth) applyRevocations(b []byte) ([]core.NodeID, error) {
	l, err := ParseRevocationList(b)
	if err != nil {
		return nil, err
	}
	if err := l.Verify(a.pub, a.group); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.revoked != nil && l.Version <= a.revoked.Version {
		return nil, nil
	}
	a.revoked = l
	a.revocations.Add(1)
	var out []core.NodeID
	for id, c := range a.members {
		if l.Revoked(c.Serial) {
			out = append(out, id)
		}
	}
	return out, nil
}

// revocationList returns the encoded list held, or nil.
func (a *groupAuth) revocationList() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.revoked == nil {
		return nil
	}
	return a.revoked.Marshal()
}

func (a *groupAuth) stats() AuthorityStats {
	return AuthorityStats{RefusedRecords: a.refused.Load(), DroppedFrames: a.droppedFrames.Load(),
		DroppedMessages: a.droppedMsgs.Load(), Revocations: a.revocations.Load()}
}

// validate is the closed group's part of the Validator: the origin must be
// admitted with RolePublish; a revocation list on the reserved topic needs
// only an admitted origin, as its payload is checked against the
// authority key.
func (a *groupAuth) validate(m *core.Message) error {
	admitted, publish := a.status(m.Origin, time.Now())
	if m.Topic == RevocationTopic && admitted {
		l, err := ParseRevocationList(m.Payload)
		if err == nil {
			err = l.Verify(a.pub, a.group)
		}
		if err != nil {
			a.droppedMsgs.Add(1)
		}
		return err
	}
	if !publish {
		a.droppedMsgs.Add(1)
		return errNotPublisher
	}
	return nil
}

var errNotPublisher = errors.New("grapevine/p2p: message origin is not a member allowed to publish")

// filterFrame returns the part of an inbound frame a closed group acts
// on: all of it from an admitted member; only the membership records from
// a peer not (yet) admitted, so that its own alive record can be checked
// (membership ignores its other records); only the alive records from a
// peer whose certificate expired or was revoked, so that it can come back
// with a renewed certificate (membership checks each with Admit) but its
// acks, accusations and gossip count for nothing.
func (a *groupAuth) filterFrame(from core.NodeID, raw []byte) []byte {
	if admitted, _ := a.status(from, time.Now()); admitted {
		return raw
	}
	if len(raw) < 1 {
		return nil
	}
	lapsed := a.known(from)
	out := []byte{raw[0]}
	dropped, kept := false, false
	forEachRecord(raw, func(typ uint8, body []byte) {
		if typ < core.RecMembershipFirst || typ > core.RecMembershipLast || (lapsed && typ != membership.RecAlive) {
			dropped = true
			return
		}
		kept = true
		out = append(out, typ)
		out = wire.AppendBytes(out, body)
	})
	if dropped {
		a.droppedFrames.Add(1)
	}
	if !kept {
		return nil
	}
	return out
}

// Membership metadata. Version 1 carries addresses only; version 2 (closed
// groups) the member certificate (length-prefixed) first, then addresses
// as in version 1. A certificate is at most maxCertSize (400) bytes; with
// membership's 512-byte MaxMetaSize about 100 bytes remain for addresses,
// which members also learn from the connection (and the DHT), so the
// limit is kept rather than raised for every group.
const certMetaVersion = 2

func encodeMeta(cert []byte, addrs []ma.Multiaddr, max int) []byte {
	if cert == nil {
		return encodeAddrMeta(addrs, max)
	}
	b := wire.AppendBytes([]byte{certMetaVersion}, cert)
	rest := encodeAddrMeta(addrs, max-len(b)+1)
	return append(b, rest[1:]...)
}

// splitMeta returns the certificate of version-2 metadata (nil otherwise)
// and its addresses encoded as version 1.
func splitMeta(meta []byte) (cert, addrMeta []byte) {
	if len(meta) < 1 || meta[0] != certMetaVersion {
		return nil, meta
	}
	r := wire.NewReader(meta[1:])
	cert = r.Bytes(maxCertSize, "certificate")
	if r.Err() != nil {
		return nil, nil
	}
	return cert, append([]byte{addrMetaVersion}, r.Rest()...)
}
