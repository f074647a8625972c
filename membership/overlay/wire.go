package overlay

import (
	"fmt"
	"github.com/grapevine-p2p/grapevine/internal/wire"

	"github.com/grapevine-p2p/grapevine/core"
)

// Record types of the overlay: 0x60-0x6f, inside core's membership range
// (0x40-0x7f) and clear of the SWIM records (0x40-0x4a), so overlay
// records ride in the same frames as gossip and SWIM records and each layer
// decodes only its own. 0x69-0x6f are reserved for later overlay records
// (a peer of this version skips them, as an earlier version skips SPLICE).
const (
	RecFirst uint8 = 0x60
	RecLast  uint8 = 0x6f

	RecJoin          uint8 = 0x60 // (empty): the sender joins through the receiver
	RecForwardJoin   uint8 = 0x61 // joiner id, ttl: a join's random walk
	RecNeighbor      uint8 = 0x62 // flags (1: high priority, 2: join offer): "add me to your active view"
	RecNeighborReply uint8 = 0x63 // flags (1: accepted, 2: after a join walk)
	RecDisconnect    uint8 = 0x64 // flags (1: leaving, forget me)
	RecShuffle       uint8 = 0x65 // nonce, origin id, ttl, id list
	RecShuffleReply  uint8 = 0x66 // nonce, id list
	RecKeepalive     uint8 = 0x67 // flags (1: ping, answer me; 0: pong)
	RecSplice        uint8 = 0x68 // joiner id: link to it, it takes my place (splice.go)

	recLastKnown = RecSplice
)

// Flags.
const (
	flagHigh     = 1 // RecNeighbor: high priority
	flagOffer    = 2 // RecNeighbor: from the end of a join walk (accepted only with room)
	flagAccepted = 1 // RecNeighborReply
	flagJoin     = 2 // RecNeighborReply: unsolicited, the end of a join walk
	flagLeaving  = 1 // RecDisconnect
	flagPing     = 1 // RecKeepalive
)

// IsOverlayRecord reports whether t is one of the overlay's record types.
func IsOverlayRecord(t uint8) bool { return t >= RecFirst && t <= RecLast }

// msg is one decoded overlay record.
type msg struct {
	typ   uint8
	flags byte
	id    core.NodeID // forward join and splice: the joiner; shuffle: the origin
	ttl   uint64
	nonce uint64
	ids   []core.NodeID // shuffle and shuffle reply
}

// ---- encoding ----

func appendFlags(dst []byte, typ, flags byte) []byte {
	return append(dst, typ, 1, flags)
}

func appendJoin(dst []byte) []byte { return append(dst, RecJoin, 0) }

func appendForwardJoin(dst []byte, joiner core.NodeID, ttl int) []byte {
	body := wire.AppendString(nil, string(joiner))
	body = wire.AppendUvarint(body, uint64(ttl))
	return core.AppendRecord(dst, RecForwardJoin, body)
}

func appendShuffle(dst []byte, nonce uint64, origin core.NodeID, ttl int, ids []core.NodeID) []byte {
	body := wire.AppendUvarint(nil, nonce)
	body = wire.AppendString(body, string(origin))
	body = wire.AppendUvarint(body, uint64(ttl))
	body = appendIDs(body, ids)
	return core.AppendRecord(dst, RecShuffle, body)
}

func appendShuffleReply(dst []byte, nonce uint64, ids []core.NodeID) []byte {
	body := wire.AppendUvarint(nil, nonce)
	body = appendIDs(body, ids)
	return core.AppendRecord(dst, RecShuffleReply, body)
}

func appendIDs(dst []byte, ids []core.NodeID) []byte {
	dst = wire.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		dst = wire.AppendString(dst, string(id))
	}
	return dst
}

// ---- decoding ----

// minIDBytes is the smallest encoding of an ID in a list (length, 1 byte).
const minIDBytes = 2

// decodeRecord decodes one overlay record body. It returns an error, never
// panics, and allocates at most the IDs it returns (each copied out of
// body) and one list of at most maxListWire entries bounded by len(body).
func decodeRecord(typ uint8, body []byte, maxID int) (msg, error) {
	r := wire.NewReader(body)
	m := msg{typ: typ}
	switch typ {
	case RecJoin:
	case RecForwardJoin:
		m.id = core.NodeID(r.ID(maxID))
		m.ttl = r.Uvarint()
	case RecNeighbor, RecNeighborReply, RecDisconnect, RecKeepalive:
		m.flags = r.Byte()
		if r.Err() == nil && m.flags&^knownFlags(typ) != 0 {
			r.Fail(fmt.Errorf("%w: unknown flags %#x", core.ErrMalformed, m.flags))
		}
	case RecSplice:
		m.id = core.NodeID(r.ID(maxID))
	case RecShuffle:
		m.nonce = r.Uvarint()
		m.id = core.NodeID(r.ID(maxID))
		m.ttl = r.Uvarint()
		m.ids = readIDs(r, maxID)
	case RecShuffleReply:
		m.nonce = r.Uvarint()
		m.ids = readIDs(r, maxID)
	default:
		r.Fail(fmt.Errorf("%w: record type %#x is not an overlay record", core.ErrMalformed, typ))
	}
	r.End("overlay record")
	if err := r.Err(); err != nil {
		return msg{}, fmt.Errorf("grapevine/overlay: decoding record %#x: %w", typ, err)
	}
	return m, nil
}

func knownFlags(typ uint8) byte {
	switch typ {
	case RecNeighbor:
		return flagHigh | flagOffer
	case RecNeighborReply:
		return flagAccepted | flagJoin
	case RecDisconnect:
		return flagLeaving
	case RecKeepalive:
		return flagPing
	}
	return 0
}

func readIDs(r *wire.Reader, maxID int) []core.NodeID {
	n := r.Count(maxListWire, minIDBytes, "id list")
	if r.Err() != nil || n == 0 {
		return nil
	}
	ids := make([]core.NodeID, 0, n)
	for i := 0; i < n && r.Err() == nil; i++ {
		ids = append(ids, core.NodeID(r.ID(maxID)))
	}
	return ids
}
