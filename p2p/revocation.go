package p2p

import (
	"fmt"
	"slices"

	"github.com/grapevine-p2p/grapevine/internal/wire"
	"github.com/libp2p/go-libp2p/core/crypto"
)

// RevocationList is an authority-signed list of revoked certificate serial
// numbers of one group. Lists are versioned: a member holds the highest
// version it has seen and ignores lower ones, so the authority publishes a
// new list (the old serials plus the new) with a higher version.
type RevocationList struct {
	Group     string
	Version   uint64
	Serials   []uint64 // sorted, no duplicates
	Signature []byte
}

const (
	revocationListVersion = 1
	// maxRevocationSize bounds an encoded list (it travels as a message on
	// the reserved revocation topic): 64 KiB hold over 10,000 serials.
	maxRevocationSize = 64 << 10
)

// RevocationTopic is the reserved topic on which members spread the
// group's revocation list. Its messages are accepted from any admitted
// member, because their payload is checked against the authority key.
const RevocationTopic = "_grapevine/revocations"

func (l *RevocationList) appendBody(b []byte) []byte {
	b = append(b, revocationListVersion)
	b = wire.AppendString(b, l.Group)
	b = wire.AppendUvarint(b, l.Version)
	b = wire.AppendUvarint(b, uint64(len(l.Serials)))
	for _, s := range l.Serials {
		b = wire.AppendUvarint(b, s)
	}
	return b
}

func (l *RevocationList) signingBytes() []byte {
	return l.appendBody(append([]byte(revocationSigKind), 0))
}

// Marshal encodes the list: version byte 1, the group (length-prefixed),
// the list version, the number of serials and each serial (uvarints), then
// the signature (length-prefixed).
func (l *RevocationList) Marshal() []byte {
	return wire.AppendBytes(l.appendBody(nil), l.Signature)
}

// Revoked reports whether serial is on the list.
func (l *RevocationList) Revoked(serial uint64) bool {
	if l == nil {
		return false
	}
	_, ok := slices.BinarySearch(l.Serials, serial)
	return ok
}

// SignRevocationList signs a list of revoked serials for group with version
// (which must exceed the version of the list it replaces).
func SignRevocationList(authority crypto.PrivKey, group string, version uint64, serials []uint64) (*RevocationList, error) {
	s := slices.Clone(serials)
	slices.Sort(s)
	s = slices.Compact(s)
	l := &RevocationList{Group: group, Version: version, Serials: s}
	if len(l.appendBody(nil))+maxCertSig > maxRevocationSize {
		return nil, fmt.Errorf("revocation list of %d serials exceeds %d bytes", len(s), maxRevocationSize)
	}
	sig, err := authority.Sign(l.signingBytes())
	if err != nil {
		return nil, err
	}
	l.Signature = sig
	return l, nil
}

// ParseRevocationList decodes a list (Verify checks it). It allocates at
// most 8 bytes per input byte for the serials (each takes at least one).
func ParseRevocationList(b []byte) (*RevocationList, error) {
	if len(b) > maxRevocationSize {
		return nil, fmt.Errorf("%w: revocation list of %d bytes", ErrCertInvalid, len(b))
	}
	r := wire.NewReader(b)
	if v := r.Byte(); r.Err() == nil && v != revocationListVersion {
		return nil, fmt.Errorf("%w: revocation list version %d", ErrCertInvalid, v)
	}
	l := &RevocationList{}
	l.Group = r.String(maxCertGroup, "group")
	l.Version = r.Uvarint()
	n := r.Count(maxRevocationSize, 1, "serials")
	if r.Err() == nil && n > 0 {
		l.Serials = make([]uint64, 0, n)
		for range n {
			l.Serials = append(l.Serials, r.Uvarint())
		}
	}
	l.Signature = append([]byte(nil), r.Bytes(maxCertSig, "signature")...)
	r.End("revocation list")
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCertInvalid, err)
	}
	if !slices.IsSorted(l.Serials) {
		return nil, fmt.Errorf("%w: revocation list not sorted", ErrCertInvalid)
	}
	return l, nil
}

// Verify checks that the list is signed by authority for group.
func (l *RevocationList) Verify(authority crypto.PubKey, group string) error {
	if l.Group != group {
		return fmt.Errorf("%w: revocation list for group %q", ErrCertInvalid, l.Group)
	}
	ok, err := authority.Verify(l.signingBytes(), l.Signature)
	if err != nil || !ok {
		return fmt.Errorf("%w: revocation list not signed by the group authority", ErrCertInvalid)
	}
	return nil
}
