package p2p

// The encoding of one commit (a list of StoreOps) as the payload of a
// redo-log record (durable_wal.go). Each op is its key space's index in
// StoreSpaces (one byte), the key (uvarint length, bytes), and either 0
// (a delete) or 1 and the value (uvarint length, bytes).

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// maxStoreOps bounds the ops one record may decode to.
const maxStoreOps = 1 << 20

func encodeStoreOps(ops []StoreOp) []byte {
	n := 0
	for _, op := range ops {
		n += 1 + 2*binary.MaxVarintLen32 + 1 + len(op.Key) + len(op.Value)
	}
	b := make([]byte, 0, n)
	for _, op := range ops {
		b = append(b, spaceIndex(op.Space))
		b = binary.AppendUvarint(b, uint64(len(op.Key)))
		b = append(b, op.Key...)
		if op.Value == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(op.Value)))
		b = append(b, op.Value...)
	}
	return b
}

func spaceIndex(s StoreSpace) byte {
	for i, sp := range StoreSpaces {
		if sp == s {
			return byte(i)
		}
	}
	return 0xff // refused when decoded
}

// decodeStoreOps reads a record's payload. Keys and values are copied
// out of b; the total allocated is within a small multiple of len(b).
func decodeStoreOps(b []byte) ([]StoreOp, error) {
	var ops []StoreOp
	for len(b) > 0 {
		if len(ops) == maxStoreOps {
			return nil, errors.New("log record: too many ops")
		}
		if int(b[0]) >= len(StoreSpaces) {
			return nil, fmt.Errorf("log record: unknown key space %d", b[0])
		}
		op := StoreOp{Space: StoreSpaces[b[0]]}
		var err error
		if op.Key, b, err = takeBytes(b[1:]); err != nil {
			return nil, err
		}
		if len(b) == 0 {
			return nil, errors.New("log record: truncated op")
		}
		switch b[0] {
		case 0:
			b = b[1:]
		case 1:
			if op.Value, b, err = takeBytes(b[1:]); err != nil {
				return nil, err
			}
			if op.Value == nil {
				op.Value = []byte{}
			}
		default:
			return nil, fmt.Errorf("log record: bad op kind %d", b[0])
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// takeBytes reads a uvarint length and that many bytes (copied).
func takeBytes(b []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errors.New("log record: bad length")
	}
	if n == 0 {
		return nil, b[k:], nil
	}
	return append([]byte(nil), b[k:k+int(n)]...), b[k+int(n):], nil
}
