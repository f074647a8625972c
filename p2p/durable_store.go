package p2p

// The database under durable delivery, as an exported interface: a Store
// keeps opaque records in three ordered key spaces and commits batches of
// them atomically and durably. The data directory's bbolt file
// (durable_bolt.go) is one Store; the browser tab's IndexedDB (package
// wasm, Options.Persist) is another. What the records mean, and the checks
// made on what is read back, are here, shared by every Store.

import (
	"encoding/binary"
	"errors"
	"sort"
	"sync/atomic"

	"github.com/grapevine-p2p/grapevine/core"
)

// StoreSpace names one key space of a Store. Keys compare bytewise
// within a space.
type StoreSpace string

const (
	SpaceMeta       StoreSpace = "meta"       // a few named values (format version, sequence-number reservation, first start)
	SpaceWatermarks StoreSpace = "watermarks" // origin ID → delivery watermark (8 bytes), its time (8 bytes, Unix ns) and, with acknowledged subscriptions, the acknowledgement floor (8 bytes)
	SpaceMessages   StoreSpace = "messages"   // log index (8 bytes, big endian) → receipt time (8 bytes, Unix ns) and a one-message frame
)

// StoreSpaces are the key spaces a Store must provide.
var StoreSpaces = []StoreSpace{SpaceMeta, SpaceWatermarks, SpaceMessages}

// StoreRecord is one record as a Store loads it.
type StoreRecord struct {
	Space      StoreSpace
	Key, Value []byte
}

// StoreOp is one change in a commit: Value is put under Key, or Key is
// deleted when Value is nil.
type StoreOp struct {
	Space StoreSpace
	Key   []byte
	Value []byte
}

// Store is the database of WithStore. Commit may be called from two
// goroutines at once (deliveries, sequence-number reservations): a Store
// applies such commits one after the other. Everything read back is
// checked (a damaged record is dropped, never trusted), so a Store need
// not validate what it holds.
type Store interface {
	// Load returns every record in the store.
	Load() ([]StoreRecord, error)
	// Commit applies ops in order, all or none, and returns once they
	// would survive a crash of the process (and, as far as the medium
	// allows, of the machine).
	Commit(ops []StoreOp) error
	// Close releases the store; the peer calls it once, when it stops.
	Close() error
}

// WithStore is WithDataDir with another database: the peer keeps its
// delivery watermarks, recent messages and sequence-number reservation in
// s, recovers them at start, and closes s when it stops. The browser tab's
// IndexedDB store (package wasm, Options.Persist) is given this way. It
// excludes WithDataDir.
func WithStore(s Store) Option {
	return func(st *settings) error {
		if s == nil {
			return errors.New("WithStore: the store must not be nil")
		}
		st.durable.store = s
		return nil
	}
}

// WithSeqReservation sets how many sequence numbers a peer with a data
// directory or store reserves ahead of use, in one commit (default 1,024,
// renewed when half is used). A peer that crashes restarts above its whole
// reservation: the unused rest is a gap in its numbering that receivers
// hold its next messages behind until FIFOTimeout (or until membership sees
// it rejoin). With 1 a commit precedes every publish and a crash leaves no
// gap (the browser tab, whose reloads are crashes, uses 1).
func WithSeqReservation(n int) Option {
	return func(s *settings) error {
		if n < 1 {
			return errors.New("WithSeqReservation: at least 1")
		}
		s.durable.seqBlock = uint64(n)
		return nil
	}
}

var (
	keyVersion    = []byte("version")
	keyReserved   = []byte("seq-reserved") // sequence numbers below it may have been used
	keyFirstStart = []byte("first-start")  // Unix ns of the first start with this store
	keyAckTopics  = []byte("acked-topics") // topics that had an acknowledged subscription (encodeTopics)
)

// durableVersion is the records' format; a store written by a later one
// is refused. Version 2 added the acknowledgement floor to watermarks and
// the acknowledged topics; it reads version 1 (whose watermarks have no
// floor), and version 1 refuses it rather than misreading its watermarks.
const durableVersion = 2

// storeDB is the durableDB over a Store: it encodes batches into records
// and decodes what the Store loads.
type storeDB struct {
	s         Store
	versioned atomic.Bool // the version record was written by this process (commit runs on two goroutines)
}

func (d *storeDB) load(lim core.Limits) (*durableState, error) {
	recs, err := d.s.Load()
	if err != nil {
		return nil, err
	}
	return decodeDurable(recs, lim)
}

func (d *storeDB) commit(b *durableBatch) error {
	ops := encodeBatch(b)
	if !d.versioned.Load() {
		ops = append([]StoreOp{{Space: SpaceMeta, Key: keyVersion, Value: be64(durableVersion)}}, ops...)
	}
	if err := d.s.Commit(ops); err != nil {
		return err
	}
	d.versioned.Store(true)
	return nil
}

func (d *storeDB) close() error { return d.s.Close() }

// abandoner is a Store that can be left as a crash leaves it (the data
// directory's log: no final checkpoint, so that Peer.Kill exercises the
// replay at the next start).
type abandoner interface{ abandon() }

func (d *storeDB) abandon() {
	if a, ok := d.s.(abandoner); ok {
		a.abandon()
		return
	}
	d.s.Close()
}

// decodeDurable rebuilds the state from a Store's records. A record that
// does not decode is skipped (a damaged message record is listed in
// corrupt, to be deleted); only a foreign format version is an error.
func decodeDurable(recs []StoreRecord, lim core.Limits) (*durableState, error) {
	st := &durableState{wm: map[core.NodeID]watermark{}}
	for _, r := range recs {
		switch r.Space {
		case SpaceMeta:
			switch string(r.Key) {
			case string(keyVersion):
				if len(r.Value) != 8 || binary.BigEndian.Uint64(r.Value) < 1 || binary.BigEndian.Uint64(r.Value) > durableVersion {
					return nil, errors.New("the store was written by an incompatible version")
				}
			case string(keyReserved):
				if len(r.Value) == 8 {
					st.reserved = binary.BigEndian.Uint64(r.Value)
				}
			case string(keyAckTopics):
				st.ackedTopics = decodeTopics(r.Value)
			case string(keyFirstStart):
				if len(r.Value) == 8 {
					st.firstStart = int64(binary.BigEndian.Uint64(r.Value))
				}
			}
		case SpaceWatermarks:
			// seq and time, and (with acknowledged subscriptions) the
			// acknowledgement floor, never above seq.
			if (len(r.Value) == 16 || len(r.Value) == 24) && len(r.Key) > 0 && len(r.Key) <= maxOriginIDLen {
				w := watermark{seq: binary.BigEndian.Uint64(r.Value), at: int64(binary.BigEndian.Uint64(r.Value[8:]))}
				w.acked = w.seq
				if len(r.Value) == 24 {
					w.acked, w.hasAck = min(binary.BigEndian.Uint64(r.Value[16:]), w.seq), true
				}
				st.wm[core.NodeID(r.Key)] = w
			}
		case SpaceMessages:
			rec := logRecord{}
			if len(r.Key) == 8 {
				rec.idx = binary.BigEndian.Uint64(r.Key)
			}
			if len(r.Key) != 8 || len(r.Value) < 8 {
				st.corrupt = append(st.corrupt, rec.idx)
				continue
			}
			rec.recv = int64(binary.BigEndian.Uint64(r.Value))
			f, err := core.DecodeFrame(r.Value[8:], lim)
			if err != nil || len(f.Messages) != 1 {
				st.corrupt = append(st.corrupt, rec.idx)
				continue
			}
			rec.msg = f.Messages[0].Clone()
			rec.size = len(r.Value)
			st.log = append(st.log, rec)
		}
	}
	sort.SliceStable(st.log, func(i, j int) bool { return st.log[i].idx < st.log[j].idx })
	// Two records with one index (a Store that does not keep keys unique)
	// keep the first.
	out := st.log[:0]
	for i, r := range st.log {
		if i > 0 && r.idx == st.log[i-1].idx {
			continue
		}
		out = append(out, r)
	}
	st.log = out
	return st, nil
}

// maxOriginIDLen bounds a watermark's key: a libp2p peer ID is under 64
// bytes; anything longer was not written by this code.
const maxOriginIDLen = 128

// encodeBatch turns one transaction into records, in the order the data
// directory has always applied them: meta, watermarks put and dropped,
// messages dropped, messages put.
func encodeBatch(b *durableBatch) []StoreOp {
	var ops []StoreOp
	if b.reserved != 0 {
		ops = append(ops, StoreOp{Space: SpaceMeta, Key: keyReserved, Value: be64(b.reserved)})
	}
	if b.firstStart != 0 {
		ops = append(ops, StoreOp{Space: SpaceMeta, Key: keyFirstStart, Value: be64(uint64(b.firstStart))})
	}
	if b.ackedTopics != nil {
		ops = append(ops, StoreOp{Space: SpaceMeta, Key: keyAckTopics, Value: encodeTopics(b.ackedTopics)})
	}
	ids := make([]string, 0, len(b.wm))
	for id := range b.wm {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	for _, id := range ids {
		w := b.wm[core.NodeID(id)]
		v := binary.BigEndian.AppendUint64(be64(w.seq), uint64(w.at))
		if w.hasAck {
			v = binary.BigEndian.AppendUint64(v, w.acked)
		}
		ops = append(ops, StoreOp{Space: SpaceWatermarks, Key: []byte(id), Value: v})
	}
	for _, id := range b.dropWM {
		ops = append(ops, StoreOp{Space: SpaceWatermarks, Key: []byte(id)})
	}
	for _, idx := range b.drop {
		ops = append(ops, StoreOp{Space: SpaceMessages, Key: be64(idx)})
	}
	for _, r := range b.put {
		ops = append(ops, StoreOp{Space: SpaceMessages, Key: be64(r.idx), Value: r.value})
	}
	return ops
}

// encodeTopics writes topics as a sequence of (2-byte length, bytes).
func encodeTopics(topics []string) []byte {
	var out []byte
	for _, t := range topics {
		if len(t) > maxTopicLen {
			continue
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(t)))
		out = append(out, t...)
	}
	return out
}

// decodeTopics reads encodeTopics' format; it stops at the first record
// that does not fit (a damaged value loses its tail, never more).
func decodeTopics(v []byte) map[string]bool {
	out := map[string]bool{}
	for len(v) >= 2 {
		n := int(binary.BigEndian.Uint16(v))
		if n > maxTopicLen || len(v) < 2+n {
			break
		}
		out[string(v[2:2+n])] = true
		v = v[2+n:]
	}
	return out
}

// maxTopicLen bounds a remembered topic (core's limit is far below).
const maxTopicLen = 4096
