package p2p

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// memStore is a Store in memory: each commit replaces the whole map, so
// a commit is all or none; failNext makes the next commit fail.
type memStore struct {
	mu       sync.Mutex
	recs     map[StoreSpace]map[string][]byte
	commits  int
	failNext bool
	closed   int
}

func newMemStore() *memStore { return &memStore{recs: map[StoreSpace]map[string][]byte{}} }

func (m *memStore) Load() ([]StoreRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []StoreRecord
	for _, sp := range StoreSpaces {
		keys := make([]string, 0, len(m.recs[sp]))
		for k := range m.recs[sp] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, StoreRecord{Space: sp, Key: []byte(k), Value: bytes.Clone(m.recs[sp][k])})
		}
	}
	return out, nil
}

func (m *memStore) Commit(ops []StoreOp) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failNext {
		m.failNext = false
		return errors.New("disk full")
	}
	next := map[StoreSpace]map[string][]byte{}
	for sp, kv := range m.recs {
		next[sp] = map[string][]byte{}
		for k, v := range kv {
			next[sp][k] = v
		}
	}
	for _, op := range ops {
		if next[op.Space] == nil {
			next[op.Space] = map[string][]byte{}
		}
		if op.Value == nil {
			delete(next[op.Space], string(op.Key))
		} else {
			next[op.Space][string(op.Key)] = bytes.Clone(op.Value)
		}
	}
	m.recs = next
	m.commits++
	return nil
}

// read runs f under the store's lock (the peer's goroutines commit).
func (m *memStore) read(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f()
}

func (m *memStore) Close() error {
	m.mu.Lock()
	m.closed++
	m.mu.Unlock()
	return nil
}

// TestStoreEncoding: a batch encoded, committed and loaded back gives the
// state it wrote; damaged records are skipped (messages listed to be
// deleted); a foreign version is refused.
func TestStoreEncoding(t *testing.T) {
	m := newMemStore()
	db := &storeDB{s: m}
	msg := &core.Message{Origin: "origin-a", Seq: 7, Topic: "t", Payload: []byte("hello"), Timestamp: 1}
	frame := core.EncodeFrame(&core.Frame{Messages: []*core.Message{msg}})
	b := &durableBatch{
		reserved: 5000, firstStart: 123,
		wm:  map[core.NodeID]watermark{"origin-a": {seq: 7, at: 99}, "origin-b": {seq: 3, at: 98, acked: 2, hasAck: true}},
		put: []putRecord{{idx: 2, value: append(be64(555), frame...)}, {idx: 1, value: append(be64(554), frame...)}},
	}
	if err := db.commit(b); err != nil {
		t.Fatal(err)
	}
	st, err := db.load(core.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if st.reserved != 5000 || st.firstStart != 123 || len(st.wm) != 2 || st.wm["origin-a"] != (watermark{seq: 7, at: 99, acked: 7}) || st.wm["origin-b"] != (watermark{seq: 3, at: 98, acked: 2, hasAck: true}) {
		t.Fatalf("state %+v", st)
	}
	if len(st.log) != 2 || st.log[0].idx != 1 || st.log[1].idx != 2 || st.log[0].recv != 554 || st.log[0].msg.Seq != 7 || string(st.log[0].msg.Payload) != "hello" || len(st.corrupt) != 0 {
		t.Fatalf("log %+v corrupt %v", st.log, st.corrupt)
	}

	// A drop and a watermark delete in the next batch.
	if err := db.commit(&durableBatch{drop: []uint64{1}, dropWM: []core.NodeID{"origin-b"}}); err != nil {
		t.Fatal(err)
	}
	if st, _ = db.load(core.DefaultLimits()); len(st.log) != 1 || st.log[0].idx != 2 || len(st.wm) != 1 || st.reserved != 5000 {
		t.Fatalf("after drop: %+v", st)
	}

	// Damage: a message key of the wrong length, a message that does not
	// decode, a short watermark.
	m.recs[SpaceMessages]["bad"] = []byte("12345678xx")
	m.recs[SpaceMessages][string(be64(9))] = []byte("12345678 not a frame")
	m.recs[SpaceWatermarks]["origin-c"] = []byte{1, 2, 3}
	st, err = db.load(core.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.log) != 1 || len(st.wm) != 1 || len(st.corrupt) != 2 {
		t.Fatalf("damaged records: log %d wm %d corrupt %v", len(st.log), len(st.wm), st.corrupt)
	}

	m.recs[SpaceMeta][string(keyVersion)] = be64(durableVersion + 1)
	if _, err := db.load(core.DefaultLimits()); err == nil || !strings.Contains(err.Error(), "incompatible") {
		t.Fatalf("foreign version: %v", err)
	}
}

// FuzzDecodeDurable: any records decode without a panic, and every message
// kept is one that decodes.
func FuzzDecodeDurable(f *testing.F) {
	msg := &core.Message{Origin: "o", Seq: 1, Topic: "t", Payload: []byte("x"), Timestamp: 1}
	good := append(be64(1), core.EncodeFrame(&core.Frame{Messages: []*core.Message{msg}})...)
	f.Add(uint8(2), be64(1), good, []byte("seq-reserved"), be64(9))
	f.Add(uint8(1), []byte("origin"), make([]byte, 16), []byte("version"), be64(1))
	f.Add(uint8(0), []byte("first-start"), be64(1), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, space uint8, k1, v1, k2, v2 []byte) {
		sp := StoreSpaces[int(space)%len(StoreSpaces)]
		recs := []StoreRecord{
			{Space: sp, Key: k1, Value: v1},
			{Space: StoreSpaces[(int(space)+1)%len(StoreSpaces)], Key: k2, Value: v2},
			{Space: "other", Key: k1, Value: v2},
			{Space: SpaceMessages, Key: k2, Value: v1},
		}
		st, err := decodeDurable(recs, core.DefaultLimits())
		if err != nil {
			return
		}
		for i, r := range st.log {
			if r.msg == nil || (i > 0 && r.idx <= st.log[i-1].idx) {
				t.Fatalf("log %+v", st.log)
			}
		}
		for id := range st.wm {
			if len(id) == 0 || len(id) > maxOriginIDLen {
				t.Fatalf("watermark key of %d bytes", len(id))
			}
		}
	})
}

// TestStoreSequenceNumbers: a peer on a Store (WithStore) with a
// reservation of one continues its numbering without a gap after a kill,
// reserves before each publish, and closes the store when it stops.
func TestStoreSequenceNumbers(t *testing.T) {
	m := newMemStore()
	sk, _ := GenerateKey()
	start := func(opts ...Option) (*Peer, error) {
		return New(context.Background(), append([]Option{WithIdentity(sk), WithStore(m), WithSeqReservation(1), WithListenAddrs("/ip4/127.0.0.1/tcp/0"),
			WithDHT(false), WithProfile(ProfileLocal), WithNotice(func(string) {}), WithLeaveGrace(10 * time.Millisecond)}, opts...)...)
	}
	publish := func(p *Peer) (uint64, error) {
		k, err := p.PublishKey(context.Background(), "t", []byte("x"))
		return k.Seq, err
	}
	p, err := start()
	if err != nil {
		t.Fatal(err)
	}
	first, _ := publish(p)
	var before, after int
	m.read(func() { before = m.commits })
	last, _ := publish(p)
	m.read(func() { after = m.commits })
	if last != first+1 || after <= before {
		t.Fatalf("second publish %d after %d, commits %d → %d: want consecutive, with a reservation commit", last, first, before, after)
	}
	// Once both local deliveries are written, the next commit is the
	// reservation for the next publish: it fails, and the publish is
	// refused.
	for deadline := time.Now().Add(5 * time.Second); p.DurableStats().Stored < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("own deliveries not written: %+v", p.DurableStats())
		}
	}
	m.read(func() { m.failNext = true })
	if s, err := publish(p); err == nil {
		t.Fatalf("publish %d went out without a reservation", s)
	}
	p.Kill()
	m.read(func() { after = m.closed })
	if after != 1 {
		t.Fatalf("store closed %d times after Kill", after)
	}
	if p, err = start(); err != nil {
		t.Fatal(err)
	}
	if s, _ := publish(p); s != last+1 {
		t.Fatalf("after a kill published %d, want %d (no gap, no reuse)", s, last+1)
	}
	p.Close()
	if _, err := start(WithDataDir(t.TempDir())); err == nil || !strings.Contains(err.Error(), "exclude") {
		t.Fatalf("WithStore and WithDataDir together: %v", err)
	}
	var v []byte
	m.read(func() { v = m.recs[SpaceMeta][string(keyReserved)] })
	if binary.BigEndian.Uint64(v) != last+2 {
		t.Fatalf("reservation after a clean stop %d, want %d", binary.BigEndian.Uint64(v), last+2)
	}
}
