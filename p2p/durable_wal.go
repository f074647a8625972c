//go:build !js

package p2p

// The data directory's redo log: a commit is one record appended to a
// preallocated log file and made durable with a single fdatasync, instead
// of a bbolt transaction, which syncs twice (its dirty pages, then its meta
// page). Records are applied to the bbolt file later, in one transaction
// per log file (a checkpoint, off the delivery path), and replayed from
// the log at start when a crash came first.
//
// Two log files of walFileSize bytes alternate. Each is filled with zeros
// and fsynced once, when it is created, so that later commits overwrite
// allocated blocks and fdatasync has no file metadata to write. A file
// starts with a header naming its epoch; every record carries a CRC-32C of
// the epoch and its payload, so a torn record (power lost inside a commit
// that never returned) and the stale records of the file's previous epoch
// both end the scan. When the current file is full, the other (already
// checkpointed) gets the next epoch and takes the commits, and the full one
// is checkpointed in the background: its records go into bbolt with
// "wal-applied" = its epoch in the same transaction. At start every file
// whose epoch is above wal-applied is replayed in epoch order.
//
// Why not a library: bbolt has no log of its own; pebble (an LSM with a
// synced WAL) measured 0.91 ms per synced commit here against bbolt's
// 1.05 ms and 0.51 ms for an fdatasync of an overwritten block (commits at
// 20 a second, this VM's disk), and would bring memtables, compactions and
// their goroutines to every peer; tidwall/wal appends (a size change for
// every fdatasync to write) and refuses to open a log whose tail is torn.
// docs/benchmarks/durable.md has the measurements.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// walFileSize is the size of each of the two log files when they are
// created (a variable for tests). At 20 deliveries a second of 256-byte
// messages a file lasts about two minutes between checkpoints. A file
// kept from a build with another size is used at its own size.
var walFileSize int64 = 1 << 20

// walMaxFileSize bounds what is read of a log file at start.
const walMaxFileSize = 64 << 20

const (
	walHeaderSize = 4096       // the header's block; records start after it
	walRecordHead = 8          // length (4 bytes) and CRC-32C (4 bytes)
	walMagic      = "GVWAL001" // the header's first bytes
)

// walFileNames are the two log files inside a data directory.
var walFileNames = [2]string{"grapevine.wal.0", "grapevine.wal.1"}

var (
	keyWALApplied = []byte("wal-applied") // in SpaceMeta: the highest epoch checkpointed into bbolt
	walCRC        = crc32.MakeTable(crc32.Castagnoli)
)

// checkpoint is one full log file's records on their way into bbolt.
type checkpoint struct {
	recs  [][]byte
	epoch uint64
	done  chan error // the background run's result; nil once read
	err   error
}

// walStore is the data directory's Store: bbolt behind a redo log.
type walStore struct {
	bolt *boltStore

	mu      sync.Mutex // serialises Commit and Close
	files   [2]*os.File
	sizes   [2]int64
	epochs  [2]uint64
	cur     int
	off     int64       // where the next record goes in files[cur]
	pending [][]byte    // the payloads of the records in files[cur], to checkpoint
	ckpt    *checkpoint // the last file's checkpoint, until it is in bbolt
	closed  bool
}

// openWAL opens (or creates) the log files in dir, replays into b what a
// crash left unapplied, and starts a fresh epoch.
func openWAL(dir string, b *boltStore) (*walStore, error) {
	w := &walStore{bolt: b}
	applied, err := w.appliedEpoch()
	if err != nil {
		return nil, err
	}
	created := false
	for i, name := range walFileNames {
		f, size, epoch, fresh, err := openWALFile(filepath.Join(dir, name))
		if err != nil {
			w.closeFiles()
			return nil, err
		}
		w.files[i], w.sizes[i], w.epochs[i] = f, size, epoch
		created = created || fresh
	}
	if created {
		if err := syncDir(dir); err != nil {
			w.closeFiles()
			return nil, err
		}
	}
	if err := w.replay(applied); err != nil {
		w.closeFiles()
		return nil, err
	}
	next := max(applied, w.epochs[0], w.epochs[1]) + 1
	if err := w.start(0, next); err != nil {
		w.closeFiles()
		return nil, err
	}
	return w, nil
}

// openWALFile opens one log file and returns its size and its header's
// epoch (0 for a fresh file or a header that does not check). A file that
// is missing, or whose header does not check and whose size is not
// walFileSize (cut short by a crash while it was being created), is made
// again, zero-filled and synced: a header naming an epoch is written only
// once the file is whole.
func openWALFile(path string) (f *os.File, size int64, epoch uint64, fresh bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, 0, false, fmt.Errorf("opening %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, 0, false, err
	}
	size = fi.Size()
	if size >= walHeaderSize && size <= walMaxFileSize {
		var h [walHeaderSize]byte
		if _, err := f.ReadAt(h[:], 0); err != nil {
			f.Close()
			return nil, 0, 0, false, fmt.Errorf("reading %s: %w", path, err)
		}
		if epoch = decodeWALHeader(h[:]); epoch != 0 || size == walFileSize {
			return f, size, epoch, false, nil
		}
	}
	if err := f.Truncate(0); err == nil {
		err = writeZeros(f, walFileSize)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		return nil, 0, 0, false, fmt.Errorf("creating %s: %w", path, err)
	}
	return f, walFileSize, 0, true, nil
}

func writeZeros(f *os.File, n int64) error {
	zero := make([]byte, 64<<10)
	for off := int64(0); off < n; off += int64(len(zero)) {
		if _, err := f.WriteAt(zero[:min(int64(len(zero)), n-off)], off); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func encodeWALHeader(epoch uint64) []byte {
	h := make([]byte, 20)
	copy(h, walMagic)
	binary.BigEndian.PutUint64(h[8:], epoch)
	binary.BigEndian.PutUint32(h[16:], crc32.Checksum(h[:16], walCRC))
	return h
}

// decodeWALHeader returns the epoch a header names, 0 if it does not check.
func decodeWALHeader(h []byte) uint64 {
	if len(h) < 20 || string(h[:8]) != walMagic || crc32.Checksum(h[:16], walCRC) != binary.BigEndian.Uint32(h[16:]) {
		return 0
	}
	return binary.BigEndian.Uint64(h[8:])
}

func (w *walStore) appliedEpoch() (uint64, error) {
	var applied uint64
	err := w.bolt.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte(SpaceMeta)).Get(keyWALApplied); len(v) == 8 {
			applied = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return applied, err
}

// replay applies, in epoch order, the records of every file whose epoch is
// above applied, in one bbolt transaction.
func (w *walStore) replay(applied uint64) error {
	order := []int{0, 1}
	if w.epochs[1] < w.epochs[0] {
		order = []int{1, 0}
	}
	var recs [][]byte
	top := applied
	for _, i := range order {
		if w.epochs[i] <= applied {
			continue
		}
		r, err := scanWAL(w.files[i], w.sizes[i], w.epochs[i])
		if err != nil {
			return err
		}
		recs = append(recs, r...)
		top = w.epochs[i]
	}
	if top == applied {
		return nil
	}
	return w.apply(recs, top)
}

// scanWAL returns the payloads of a file's records of epoch, up to the
// first that does not check (the end of what was committed).
func scanWAL(f *os.File, size int64, epoch uint64) ([][]byte, error) {
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return walRecords(buf, epoch), nil
}

// walRecords returns the payloads of the records of epoch in a log file's
// contents, up to the first that does not check.
func walRecords(buf []byte, epoch uint64) [][]byte {
	var recs [][]byte
	for off := walHeaderSize; ; {
		payload, n := walRecordAt(buf, off, epoch)
		if n == 0 {
			return recs
		}
		recs = append(recs, payload)
		off += n
	}
}

// walRecordAt returns the payload of the record at off in buf and the
// record's size, or a size of 0 where no record of epoch checks.
func walRecordAt(buf []byte, off int, epoch uint64) ([]byte, int) {
	if off+walRecordHead > len(buf) {
		return nil, 0
	}
	n := int(binary.BigEndian.Uint32(buf[off:]))
	if n == 0 || n > len(buf)-off-walRecordHead {
		return nil, 0
	}
	payload := buf[off+walRecordHead : off+walRecordHead+n]
	if walChecksum(epoch, payload) != binary.BigEndian.Uint32(buf[off+4:]) {
		return nil, 0
	}
	return payload, walRecordHead + n
}

func walChecksum(epoch uint64, payload []byte) uint32 {
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], epoch)
	return crc32.Update(crc32.Checksum(e[:], walCRC), walCRC, payload)
}

// start makes file i the current one, under a new epoch. Its previous
// records must already be in bbolt.
func (w *walStore) start(i int, epoch uint64) error {
	if _, err := w.files[i].WriteAt(encodeWALHeader(epoch), 0); err != nil {
		return err
	}
	if err := fdatasync(w.files[i]); err != nil {
		return err
	}
	w.cur, w.epochs[i], w.off, w.pending = i, epoch, walHeaderSize, nil
	return nil
}

// Commit appends ops to the log and syncs it; ops too large for a log file
// go to bbolt directly, after everything logged before them.
func (w *walStore) Commit(ops []StoreOp) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("the data directory is closed")
	}
	if len(ops) == 0 { // nothing to make durable (and a record of length 0 would end the log)
		return nil
	}
	payload := encodeStoreOps(ops)
	size := int64(walRecordHead + len(payload))
	if size > (min(w.sizes[0], w.sizes[1])-walHeaderSize)/2 {
		if err := w.checkpointNow(); err != nil {
			return err
		}
		return w.bolt.Commit(ops)
	}
	if w.off+size > w.sizes[w.cur] {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	rec := make([]byte, walRecordHead, size)
	binary.BigEndian.PutUint32(rec, uint32(len(payload)))
	binary.BigEndian.PutUint32(rec[4:], walChecksum(w.epochs[w.cur], payload))
	rec = append(rec, payload...)
	f := w.files[w.cur]
	if _, err := f.WriteAt(rec, w.off); err != nil {
		return err
	}
	if err := fdatasync(f); err != nil {
		return err
	}
	w.off += size
	w.pending = append(w.pending, payload)
	return nil
}

// rotate hands the commits to the other file and checkpoints the full one
// in the background.
func (w *walStore) rotate() error {
	if err := w.waitCheckpoint(); err != nil {
		return err
	}
	full, recs, epoch := w.cur, w.pending, w.epochs[w.cur]
	if err := w.start(1-full, epoch+1); err != nil {
		return err
	}
	c := &checkpoint{recs: recs, epoch: epoch, done: make(chan error, 1)}
	w.ckpt = c
	go func() { c.done <- w.apply(recs, epoch) }()
	return nil
}

// apply writes records (their payloads, in order) into bbolt in one
// transaction (two fsyncs), marking epoch applied. A payload that does not
// decode passed its CRC, so other code wrote it: it is skipped.
func (w *walStore) apply(recs [][]byte, epoch uint64) error {
	var ops []StoreOp
	for _, r := range recs {
		o, err := decodeStoreOps(r)
		if err != nil {
			continue
		}
		ops = append(ops, o...)
	}
	return w.bolt.Commit(append(ops, StoreOp{Space: SpaceMeta, Key: keyWALApplied, Value: be64(epoch)}))
}

// waitCheckpoint returns once the last full file's records are in bbolt.
// A checkpoint that failed is tried again here; until it succeeds the
// file is not reused (its records exist nowhere else) and commits that
// need it fail.
func (w *walStore) waitCheckpoint() error {
	c := w.ckpt
	if c == nil {
		return nil
	}
	if c.done != nil {
		c.err, c.done = <-c.done, nil
	} else if c.err != nil {
		c.err = w.apply(c.recs, c.epoch)
	}
	if c.err != nil {
		return fmt.Errorf("checkpointing the log: %w", c.err)
	}
	w.ckpt = nil
	return nil
}

// checkpointNow applies everything logged so far and starts the current
// file over under a new epoch.
func (w *walStore) checkpointNow() error {
	if err := w.waitCheckpoint(); err != nil {
		return err
	}
	if len(w.pending) == 0 {
		return nil
	}
	epoch := w.epochs[w.cur]
	if err := w.apply(w.pending, epoch); err != nil {
		return err
	}
	return w.start(w.cur, epoch+1)
}

func (w *walStore) Load() ([]StoreRecord, error) { return w.bolt.Load() }

// Close checkpoints what the log holds and closes the files and bbolt.
func (w *walStore) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.checkpointNow()
	w.closeFiles()
	return errors.Join(err, w.bolt.Close())
}

// abandon closes the files and bbolt as kill -9 would leave them: what
// the log holds stays only there, for the next start to replay.
func (w *walStore) abandon() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	w.waitCheckpoint()
	w.closeFiles()
	w.bolt.Close()
}

func (w *walStore) closeFiles() {
	for _, f := range w.files {
		if f != nil {
			f.Close()
		}
	}
}
