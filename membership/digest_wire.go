package membership

import (
	"encoding/binary"
	"fmt"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
)

// Records of the digest-first state exchange (digest_sync.go).
const (
	// RecStateDigest: flags, salt, then 8-byte fingerprints of every
	// member entry of the sender's view: "send me what differs".
	RecStateDigest uint8 = 0x4b
	// RecStateWant: salt, then the fingerprints (of the asker's own
	// digest) the answerer does not hold: "send me these entries".
	RecStateWant uint8 = 0x4c
)

// fingerprintSize is the bytes of one entry fingerprint on the wire.
const fingerprintSize = 8

// digestMsg is a RecStateDigest or RecStateWant body (flags only in a
// digest, where only stateRequest may be set).
type digestMsg struct {
	flags byte
	salt  uint64
	fps   []uint64
}

func appendDigest(dst []byte, flags byte, salt uint64, fps []uint64) []byte {
	dst = append(dst, flags)
	return appendWant(dst, salt, fps)
}

func appendWant(dst []byte, salt uint64, fps []uint64) []byte {
	dst = wire.AppendUvarint(dst, salt)
	for _, fp := range fps {
		dst = binary.BigEndian.AppendUint64(dst, fp)
	}
	return dst
}

// decodeDigest decodes a RecStateDigest body (digest true) or a
// RecStateWant body. The fingerprints take as much memory as their bytes
// on the wire, at most Limits.MaxStateEntries of them.
func decodeDigest(b []byte, lim *Limits, digest bool) (digestMsg, error) {
	what := "state want"
	r := wire.NewReader(b)
	var d digestMsg
	if digest {
		what = "state digest"
		d.flags = r.Byte()
		if r.Err() == nil && d.flags&^stateRequest != 0 {
			r.Fail(fmt.Errorf("%w: unknown digest flags %#x", core.ErrMalformed, d.flags))
		}
	}
	d.salt = r.Uvarint()
	rest := r.Rest()
	if r.Err() == nil {
		switch {
		case len(rest)%fingerprintSize != 0:
			r.Fail(fmt.Errorf("%w: %d fingerprint bytes", core.ErrMalformed, len(rest)))
		case len(rest)/fingerprintSize > lim.MaxStateEntries:
			r.Fail(fmt.Errorf("%w: %d fingerprints > %d", core.ErrTooLarge, len(rest)/fingerprintSize, lim.MaxStateEntries))
		case len(rest) > 0:
			d.fps = make([]uint64, len(rest)/fingerprintSize)
			for i := range d.fps {
				d.fps[i] = binary.BigEndian.Uint64(rest[i*fingerprintSize:])
			}
		}
	}
	return d, wrap(what, r.Err())
}
