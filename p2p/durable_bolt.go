//go:build !js

package p2p

// The data directory's database: one bbolt file (go.etcd.io/bbolt, the
// B+tree store under etcd) with one bucket per key space, behind a redo log
// (durable_wal.go) that takes each commit with a single fdatasync. Log
// records reach bbolt in batches, each one bbolt read-write transaction;
// bbolt's copy-on-write pages and double meta page make a transaction
// all-or-nothing across kill -9 and power loss of the process (a torn one
// leaves the previous meta page in force), and the log's checksums do the
// same for a torn record.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DataFileName is the database file inside a data directory.
const DataFileName = "grapevine.db"

type boltStore struct{ db *bolt.DB }

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
		for _, b := range StoreSpaces {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	w, err := openWAL(dir, &boltStore{db: db})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	return &storeDB{s: w}, nil
}

func (b *boltStore) Load() ([]StoreRecord, error) {
	var recs []StoreRecord
	err := b.db.View(func(tx *bolt.Tx) error {
		for _, sp := range StoreSpaces {
			err := tx.Bucket([]byte(sp)).ForEach(func(k, v []byte) error {
				recs = append(recs, StoreRecord{Space: sp, Key: append([]byte(nil), k...), Value: append([]byte(nil), v...)})
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return recs, err
}

func (b *boltStore) Commit(ops []StoreOp) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		for _, op := range ops {
			bk := tx.Bucket([]byte(op.Space))
			if bk == nil {
				return fmt.Errorf("unknown store space %q", op.Space)
			}
			var err error
			if op.Value == nil {
				err = bk.Delete(op.Key)
			} else {
				err = bk.Put(op.Key, op.Value)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (b *boltStore) Close() error { return b.db.Close() }
