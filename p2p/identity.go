package p2p

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

// Signature domains. A member signs core.Message.ID() (and its membership
// updates) prefixed with a domain that names what is signed and the group
// it is signed for, so that a signature made for Grapevine cannot be
// replayed as a signature over anything else the same key signs (libp2p
// records, etc.), nor a message or leave of group A replayed into group B:
// one identity in several groups is the normal case with the default key
// path. The group name is length-prefixed, so no two (kind, group) pairs
// give the same domain.
const (
	msgSigKind    = "grapevine/msg-sig/v2"
	memberSigKind = "grapevine/member-sig/v2"
)

// sigDomain returns the signing domain of kind for group.
func sigDomain(kind, group string) string {
	b := append([]byte(kind), 0)
	b = binary.AppendUvarint(b, uint64(len(group)))
	return string(append(b, group...))
}

// GenerateKey returns a new ed25519 libp2p identity.
func GenerateKey() (crypto.PrivKey, error) {
	sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
	return sk, err
}

// LoadOrCreateKey reads the libp2p private key stored in path (libp2p's
// protobuf key encoding). If the file does not exist it creates it with a new
// ed25519 key, with permissions 0600 (its directory 0700), so that the peer
// ID stays the same across restarts. created reports whether a key was made.
func LoadOrCreateKey(path string) (sk crypto.PrivKey, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		sk, err = crypto.UnmarshalPrivateKey(b)
		if err != nil {
			return nil, false, fmt.Errorf("key file %s is not a libp2p private key: %v", path, err)
		}
		if sk.Type() != crypto.Ed25519 {
			return nil, false, fmt.Errorf("key file %s holds a %s key; Grapevine needs ed25519", path, sk.Type())
		}
		return sk, false, nil
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, false, fmt.Errorf("cannot read key file %s: %v", path, errors.Unwrap(err))
	}
	sk, err = GenerateKey()
	if err != nil {
		return nil, false, fmt.Errorf("generating key: %v", err)
	}
	b, err = crypto.MarshalPrivateKey(sk)
	if err != nil {
		return nil, false, fmt.Errorf("encoding key: %v", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, false, fmt.Errorf("cannot create directory for key file %s: %v", path, errors.Unwrap(err))
		}
	}
	// O_EXCL: never overwrite a key another process created meanwhile.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("cannot create key file %s: %v", path, errors.Unwrap(err))
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, fmt.Errorf("cannot write key file %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, false, fmt.Errorf("cannot write key file %s: %v", path, err)
	}
	return sk, true, nil
}

// NodeID returns the Grapevine node ID of a libp2p peer: the peer ID's
// bytes (for ed25519 an identity multihash that embeds the public key, so
// any member can check a signature from the ID alone).
func NodeID(p peer.ID) core.NodeID { return core.NodeID(p) }

// PeerID returns the libp2p peer ID of a Grapevine node ID. The two are the
// same bytes: the result shares id's, so it costs no allocation (a peer
// keeps a peer ID beside each member's addresses, and peer.IDFromBytes
// copied them twice: about 55 bytes of heap per member held, found with
// p2pscale -heapprofile at N = 300).
func PeerID(id core.NodeID) (peer.ID, error) {
	// The multihash check only reads the bytes; a view of the string's
	// bytes spares the copy that []byte(id) would make.
	b := unsafe.Slice(unsafe.StringData(string(id)), len(id))
	if _, err := mh.Cast(b); err != nil {
		return "", fmt.Errorf("node ID is not a libp2p peer ID: %w", err)
	}
	return peer.ID(id), nil
}

// ShortID is a short printable form of a node ID (the last 8 characters of
// the peer ID's base58 form, like libp2p's logs).
func ShortID(id core.NodeID) string {
	p, err := PeerID(id)
	if err != nil {
		return fmt.Sprintf("%x", []byte(id))
	}
	s := p.String()
	if len(s) > 8 {
		return s[len(s)-8:]
	}
	return s
}

// Errors from message verification.
var (
	ErrUnsigned     = errors.New("message has no signature")
	ErrBadSignature = errors.New("signature does not match the origin's key")
	ErrBadOrigin    = errors.New("origin is not an ed25519 libp2p peer ID")
)

// signer signs this node's messages with its libp2p key for one group
// (core.Signer).
type signer struct {
	sk     crypto.PrivKey
	domain string // sigDomain(msgSigKind, group)
}

func newSigner(sk crypto.PrivKey, group string) signer {
	return signer{sk: sk, domain: sigDomain(msgSigKind, group)}
}

func (s signer) Sign(m *core.Message) ([]byte, error) {
	id := m.ID()
	buf := make([]byte, 0, len(s.domain)+32)
	buf = append(append(buf, s.domain...), id[:]...)
	return s.sk.Sign(buf)
}

// VerifyMessage checks that m carries a valid signature of its origin over
// m.ID() for group. The origin's public key is taken from its peer ID
// (ed25519 peer IDs embed the key), so no key exchange is needed.
func VerifyMessage(group string, m *core.Message) error {
	return verifyFrom(m.Origin, m.ID(), m.Auth, sigDomain(msgSigKind, group))
}

func verifyFrom(origin core.NodeID, id [32]byte, sig []byte, domain string) error {
	if len(sig) == 0 {
		return ErrUnsigned
	}
	pk, err := pubKeyOf(origin)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(domain)+32)
	buf = append(append(buf, domain...), id[:]...)
	ok, err := pk.Verify(buf, sig)
	if err != nil || !ok {
		return ErrBadSignature
	}
	return nil
}

func pubKeyOf(id core.NodeID) (crypto.PubKey, error) {
	p, err := peer.IDFromBytes([]byte(id))
	if err != nil {
		return nil, ErrBadOrigin
	}
	pk, err := p.ExtractPublicKey()
	if err != nil || pk == nil || pk.Type() != crypto.Ed25519 {
		return nil, ErrBadOrigin
	}
	return pk, nil
}
