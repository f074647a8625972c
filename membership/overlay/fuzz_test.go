package overlay

import (
	"bytes"
	"math"
	"runtime"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// seedRecords are valid records of every type, the fuzzers' seed corpus.
func seedRecords() [][]byte {
	list := []core.NodeID{"a", "bb", "ccc"}
	return [][]byte{
		appendJoin(nil),
		appendForwardJoin(nil, "joiner", 6),
		appendFlags(nil, RecNeighbor, flagHigh),
		appendFlags(nil, RecNeighbor, flagOffer),
		appendFlags(nil, RecNeighborReply, flagAccepted|flagJoin),
		appendFlags(nil, RecDisconnect, flagLeaving),
		appendShuffle(nil, 99, "origin", 5, list),
		appendShuffleReply(nil, 99, list),
		appendFlags(nil, RecKeepalive, flagPing),
		appendSplice(nil, "joiner"),
	}
}

// appendMsg re-encodes a decoded record.
func appendMsg(dst []byte, m msg) []byte {
	switch m.typ {
	case RecJoin:
		return appendJoin(dst)
	case RecForwardJoin:
		return appendForwardJoin(dst, m.id, int(m.ttl))
	case RecShuffle:
		return appendShuffle(dst, m.nonce, m.id, int(m.ttl), m.ids)
	case RecShuffleReply:
		return appendShuffleReply(dst, m.nonce, m.ids)
	case RecSplice:
		return appendSplice(dst, m.id)
	}
	return appendFlags(dst, m.typ, m.flags)
}

// allocated returns the bytes f allocates (the process's cumulative
// allocation count around it; the fuzz worker runs one input at a time).
//
// TotalAlloc counts the whole process, so goroutines left by other tests
// add to a measurement (make test once saw 5,592 bytes for an 8-byte
// body); f's own allocation is the same each time, so the least of three
// measurements is taken.
func allocated(f func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 3 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		f()
		runtime.ReadMemStats(&b)
		least = min(least, b.TotalAlloc-a.TotalAlloc)
	}
	return least
}

// maxDecodeAlloc is the allocation a record body of n bytes may cause: the
// ID list (16 bytes a slot, at least 2 input bytes an ID), the ID strings
// (at most 8 bytes per 3 input bytes for the shortest that allocate) and a
// constant for an error's text.
func maxDecodeAlloc(n int) uint64 { return uint64(16*n + 2048) }

// FuzzDecodeRecord runs the record decoder on arbitrary bodies: an error or
// a value, never a panic; a value survives re-encoding; and the
// decoder allocates at most a small constant times its input.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range seedRecords() {
		fr, err := core.DecodeFrame(append(core.NewFrame(nil), r...), core.DefaultLimits())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fr.Records[0].Type, fr.Records[0].Body)
	}
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		var m msg
		var err error
		if n := allocated(func() { m, err = decodeRecord(typ, body, 128) }); n > maxDecodeAlloc(len(body)) {
			t.Fatalf("decoding %d bytes allocated %d", len(body), n)
		}
		if err != nil {
			return
		}
		if !IsOverlayRecord(typ) || len(m.ids) > maxListWire {
			t.Fatalf("accepted type %#x with %d ids", typ, len(m.ids))
		}
		// Varints need not be minimal on the wire, so compare values:
		// what was decoded re-encodes to a record that decodes the same.
		re := appendMsg(nil, m)
		fr, err := core.DecodeFrame(append(core.NewFrame(nil), re...), core.DefaultLimits())
		if err != nil || len(fr.Records) != 1 {
			t.Fatalf("re-encoding %x does not decode: %v", re, err)
		}
		m2, err := decodeRecord(fr.Records[0].Type, fr.Records[0].Body, 128)
		if err != nil || !bytes.Equal(appendMsg(nil, m2), re) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x (%v)", core.AppendRecord(nil, typ, body), re, err)
		}
	})
}

// FuzzStep feeds arbitrary frames, from a neighbour and from a stranger, to
// an overlay with some state: never a panic, and the views keep their caps
// and invariants whatever was applied.
func FuzzStep(f *testing.F) {
	all := core.NewFrame(nil)
	for _, r := range seedRecords() {
		f.Add(append(core.NewFrame(nil), r...))
		all = append(all, r...)
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, b []byte) {
		net := newMemnet()
		a := net.add(t, "a", func(c *Config) { c.ActiveMax, c.ActiveMin, c.PassiveMax = 4, 2, 8 })
		net.add(t, "n", nil)
		net.nodes["n"].Join("a")
		net.run(t)
		a.merge([]core.NodeID{"p1", "p2", "p3"}, nil)
		delete(net.nodes, "n")
		for i, from := range []core.NodeID{"n", "stranger", "a", ""} {
			var err error
			if n := allocated(func() { err = a.Step(from, b) }); n > uint64(64*len(b)+16<<10) {
				t.Fatalf("step %d: %d bytes of input allocated %d", i, len(b), n)
			}
			_ = err
			checkInvariants(t, a)
			a.Tick()
			checkInvariants(t, a)
		}
	})
}

// TestDecodeAllocs: a full shuffle list decodes with one allocation per ID
// plus the list.
func TestDecodeAllocs(t *testing.T) {
	ids := make([]core.NodeID, maxListWire)
	for i := range ids {
		ids[i] = nid(1000 + i)
	}
	rec := appendShuffle(nil, 1, "origin", 3, ids)
	fr, err := core.DecodeFrame(append(core.NewFrame(nil), rec...), core.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	body := fr.Records[0].Body
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := decodeRecord(RecShuffle, body, 128); err != nil {
			t.Fatal(err)
		}
	})
	if max := float64(maxListWire + 2); allocs > max {
		t.Errorf("%v allocations decoding a %d-entry shuffle, want ≤ %v", allocs, maxListWire, max)
	}
	// One more ID than the wire allows is rejected before allocating.
	over := appendShuffle(nil, 1, "origin", 3, append(ids, "x"))
	fr, _ = core.DecodeFrame(append(core.NewFrame(nil), over...), core.DefaultLimits())
	if _, err := decodeRecord(RecShuffle, fr.Records[0].Body, 128); err == nil {
		t.Error("a list of maxListWire+1 IDs accepted")
	}
}
