//go:build !js

package p2p

// The data directory's database: one bbolt file (go.etcd.io/bbolt, the
// B+tree store under etcd). Every commit is one bbolt read-write
// transaction, made durable by fsync before it returns; bbolt's
// copy-on-write pages and double meta page make a commit all-or-nothing
// across kill -9 and power loss of the process (a torn commit leaves the
// previous meta page in force).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	bolt "go.etcd.io/bbolt"
)

var (
	bucketMeta = []byte("meta")
	bucketWM   = []byte("watermarks") // origin ID → delivered watermark (8 bytes) and its time (8 bytes, Unix ns)
	bucketLog  = []byte("messages")   // log index (8 bytes, big endian) → receipt time (8 bytes) and a one-message frame

	keyVersion    = []byte("version")
	keyReserved   = []byte("seq-reserved") // sequence numbers below it may have been used
	keyFirstStart = []byte("first-start")  // Unix ns of the first start with this directory
)

const durableVersion = 1

// DataFileName is the database file inside a data directory.
const DataFileName = "grapevine.db"

type boltDB struct{ db *bolt.DB }

func openDurableDB(dir string) (durableDB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, DataFileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("data directory %s is in use by another peer", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketWM, bucketLog} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyVersion); v != nil && (len(v) != 8 || binary.BigEndian.Uint64(v) != durableVersion) {
			return fmt.Errorf("%s was written by an incompatible version", path)
		}
		return meta.Put(keyVersion, be64(durableVersion))
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &boltDB{db: db}, nil
}

func (b *boltDB) load(lim core.Limits) (*durableState, error) {
	st := &durableState{wm: map[core.NodeID]watermark{}}
	err := b.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyReserved); len(v) == 8 {
			st.reserved = binary.BigEndian.Uint64(v)
		}
		if v := meta.Get(keyFirstStart); len(v) == 8 {
			st.firstStart = int64(binary.BigEndian.Uint64(v))
		}
		err := tx.Bucket(bucketWM).ForEach(func(k, v []byte) error {
			if len(v) == 16 {
				st.wm[core.NodeID(k)] = watermark{seq: binary.BigEndian.Uint64(v), at: int64(binary.BigEndian.Uint64(v[8:]))}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketLog).ForEach(func(k, v []byte) error {
			rec := logRecord{}
			if len(k) == 8 {
				rec.idx = binary.BigEndian.Uint64(k)
			}
			if len(k) != 8 || len(v) < 8 {
				st.corrupt = append(st.corrupt, rec.idx)
				return nil
			}
			rec.recv = int64(binary.BigEndian.Uint64(v))
			f, err := core.DecodeFrame(v[8:], lim)
			if err != nil || len(f.Messages) != 1 {
				st.corrupt = append(st.corrupt, rec.idx)
				return nil
			}
			rec.msg = f.Messages[0].Clone()
			rec.size = len(v)
			st.log = append(st.log, rec)
			return nil
		})
	})
	return st, err
}

func (b *boltDB) commit(bt *durableBatch) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if bt.reserved != 0 {
			if err := meta.Put(keyReserved, be64(bt.reserved)); err != nil {
				return err
			}
		}
		if bt.firstStart != 0 {
			if err := meta.Put(keyFirstStart, be64(uint64(bt.firstStart))); err != nil {
				return err
			}
		}
		wm := tx.Bucket(bucketWM)
		for id, w := range bt.wm {
			v := binary.BigEndian.AppendUint64(be64(w.seq), uint64(w.at))
			if err := wm.Put([]byte(id), v); err != nil {
				return err
			}
		}
		for _, id := range bt.dropWM {
			if err := wm.Delete([]byte(id)); err != nil {
				return err
			}
		}
		lg := tx.Bucket(bucketLog)
		for _, idx := range bt.drop {
			if err := lg.Delete(be64(idx)); err != nil {
				return err
			}
		}
		for _, r := range bt.put {
			if err := lg.Put(be64(r.idx), r.value); err != nil {
				return err
			}
		}
		return nil
	})
}

func (b *boltDB) close() error { return b.db.Close() }
