package p2p

import (
	"errors"
	"fmt"
	"time"

	"github.com/grapevine-p2p/grapevine/internal/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Member certificates: in a closed group (WithGroupAuthority) a group
// authority, an ed25519 key held by whoever runs the group, signs for each
// member a certificate binding the member's peer ID to the group name, a
// validity period, its roles and a serial number. Members present their
// certificate in their signed membership metadata, so it works over every
// transport, browsers' WebRTC and WebTransport included (where libp2p's
// pnet cannot run).

// certSigKind is the signing domain of certificates and revocation lists:
// distinct from every domain members sign with, so that no member
// signature is ever a certificate and the authority key, if it is also a
// peer's key, cannot be made to sign one by accident.
const (
	certSigKind       = "grapevine/member-cert/v1"
	revocationSigKind = "grapevine/revocations/v1"
	certVersion       = 1
	// maxCertSize bounds an encoded certificate: an ed25519 peer ID (38
	// bytes), a group name (at most 200), 5 uvarints and a 64-byte
	// signature come to under 350.
	maxCertSize  = 400
	maxCertSig   = 128
	maxCertGroup = 200
	maxCertPeer  = 64
)

// Role is a set of permissions a certificate grants (a bit mask).
type Role uint64

const (
	// RolePublish lets a member publish messages. A member without it
	// belongs to the group (membership, receiving messages, forwarding
	// others' messages) but its own messages are dropped.
	RolePublish Role = 1 << iota
)

// String names the roles ("publish", or "read" for none).
func (r Role) String() string {
	if r&RolePublish != 0 {
		return "publish"
	}
	return "read"
}

// ParseRoles parses a comma-separated role list ("publish", "read" or "").
func ParseRoles(s string) (Role, error) {
	switch s {
	case "", "read":
		return 0, nil
	case "publish":
		return RolePublish, nil
	}
	return 0, fmt.Errorf("unknown role %q (publish or read)", s)
}

// Certificate errors. ErrCertInvalid (malformed, badly signed, for another
// peer or group) is provable misbehaviour of whoever presents the
// certificate as its own; expiry and revocation depend on the clock and the
// revocation list a member holds.
var (
	ErrCertInvalid = errors.New("grapevine/p2p: invalid member certificate")
	ErrCertExpired = errors.New("grapevine/p2p: member certificate not valid now")
	ErrCertRevoked = errors.New("grapevine/p2p: member certificate revoked")
)

// Certificate is a member certificate.
type Certificate struct {
	Peer      peer.ID
	Group     string
	Serial    uint64
	NotBefore time.Time // second precision
	Expiry    time.Time // second precision
	Roles     Role
	Signature []byte
}

// signingBytes is what the authority signs: the domain, then the body.
func (c *Certificate) signingBytes() []byte {
	b := append([]byte(certSigKind), 0)
	return c.appendBody(b)
}

func (c *Certificate) appendBody(b []byte) []byte {
	b = append(b, certVersion)
	b = wire.AppendBytes(b, []byte(c.Peer))
	b = wire.AppendString(b, c.Group)
	b = wire.AppendUvarint(b, c.Serial)
	b = wire.AppendUvarint(b, uint64(max(c.NotBefore.Unix(), 0)))
	b = wire.AppendUvarint(b, uint64(max(c.Expiry.Unix(), 0)))
	b = wire.AppendUvarint(b, uint64(c.Roles))
	return b
}

// Marshal encodes the certificate: version byte 1, the peer ID and group
// name (length-prefixed), serial, not-before and expiry (Unix seconds) and
// roles (uvarints), then the signature (length-prefixed).
func (c *Certificate) Marshal() []byte {
	return wire.AppendBytes(c.appendBody(nil), c.Signature)
}

// IssueCertificate signs a certificate for member p of group with the
// authority key, valid from notBefore until expiry.
func IssueCertificate(authority crypto.PrivKey, p peer.ID, group string, serial uint64, notBefore, expiry time.Time, roles Role) (*Certificate, error) {
	if len(group) == 0 || len(group) > maxCertGroup {
		return nil, errors.New("group name must have 1 to 200 bytes")
	}
	if len(p) == 0 || len(p) > maxCertPeer {
		return nil, errors.New("invalid peer ID")
	}
	if !expiry.After(notBefore) {
		return nil, errors.New("certificate expiry must be after its start")
	}
	c := &Certificate{Peer: p, Group: group, Serial: serial, NotBefore: notBefore.Truncate(time.Second), Expiry: expiry.Truncate(time.Second), Roles: roles}
	sig, err := authority.Sign(c.signingBytes())
	if err != nil {
		return nil, err
	}
	c.Signature = sig
	return c, nil
}

// ParseCertificate decodes a certificate (it does not check the
// signature: Verify does). It allocates only the returned struct and
// copies of the peer ID, group and signature, each bounded by the input.
func ParseCertificate(b []byte) (*Certificate, error) {
	if len(b) > maxCertSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrCertInvalid, len(b))
	}
	r := wire.NewReader(b)
	if v := r.Byte(); r.Err() == nil && v != certVersion {
		return nil, fmt.Errorf("%w: version %d", ErrCertInvalid, v)
	}
	pid := r.Bytes(maxCertPeer, "peer id")
	group := r.String(maxCertGroup, "group")
	serial := r.Uvarint()
	nb, exp := r.Uvarint(), r.Uvarint()
	roles := r.Uvarint()
	sig := r.Bytes(maxCertSig, "signature")
	r.End("certificate")
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCertInvalid, err)
	}
	if nb > 1<<40 || exp > 1<<40 {
		return nil, fmt.Errorf("%w: time out of range", ErrCertInvalid)
	}
	p, err := peer.IDFromBytes(pid)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCertInvalid, err)
	}
	return &Certificate{Peer: p, Group: group, Serial: serial, NotBefore: time.Unix(int64(nb), 0),
		Expiry: time.Unix(int64(exp), 0), Roles: Role(roles), Signature: append([]byte(nil), sig...)}, nil
}

// Verify checks that c is signed by authority for member p of group and
// valid at now.
func (c *Certificate) Verify(authority crypto.PubKey, p peer.ID, group string, now time.Time) error {
	if c.Peer != p {
		return fmt.Errorf("%w: issued to %s, presented by %s", ErrCertInvalid, c.Peer, p)
	}
	if c.Group != group {
		return fmt.Errorf("%w: issued for group %q", ErrCertInvalid, c.Group)
	}
	ok, err := authority.Verify(c.signingBytes(), c.Signature)
	if err != nil || !ok {
		return fmt.Errorf("%w: not signed by the group authority", ErrCertInvalid)
	}
	if now.Before(c.NotBefore) || !now.Before(c.Expiry) {
		return fmt.Errorf("%w: valid %s to %s", ErrCertExpired, c.NotBefore.UTC().Format(time.RFC3339), c.Expiry.UTC().Format(time.RFC3339))
	}
	return nil
}

// GenerateAuthority returns a new ed25519 group authority key.
func GenerateAuthority() (crypto.PrivKey, error) { return GenerateKey() }
