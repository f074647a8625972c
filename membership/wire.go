package membership

import (
	"encoding/binary"
	"fmt"
	"github.com/grapevine-p2p/grapevine/internal/wire"

	"github.com/grapevine-p2p/grapevine/core"
)

// Record types of the membership layer, within core's 0x40-0x7f range. Each
// is one record of a core frame (type byte, uvarint length, body), so
// membership records ride in the same frames as gossip records.
const (
	RecPing    uint8 = 0x40 // seq, target: "are you alive?"
	RecPingReq uint8 = 0x41 // seq, target, nackAfter: "probe target for me"
	RecAck     uint8 = 0x42 // seq: answer to a ping (or a relayed answer)
	RecNack    uint8 = 0x43 // seq: a ping-req helper heard nothing from the target
	RecAlive   uint8 = 0x44 // id, incarnation, meta, signature
	RecSuspect uint8 = 0x45 // id, incarnation, accuser
	RecDead    uint8 = 0x46 // id, incarnation, accuser
	RecLeave   uint8 = 0x47 // id, incarnation, signature
	RecState   uint8 = 0x48 // flags, member entries: a full-state exchange
	// RecPingFallback and RecAckFallback are a ping and its ack sent on
	// the reliable path (Config.FallbackProbe): same bodies as RecPing and
	// RecAck. An adapter with a reliable channel beside a lossy one (a
	// stream beside datagrams) sends frames holding them on the reliable
	// one, as memberlist sends its fallback TCP ping; elsewhere they are
	// simply a second direct probe.
	RecPingFallback uint8 = 0x49 // seq, target
	RecAckFallback  uint8 = 0x4a // seq
)

// Flags of a state record.
const (
	stateRequest = 1 << 0 // the receiver should answer with its own state
	stateJoin    = 1 << 1 // the sender is joining
	statePartial = 1 << 2 // on every frame: only the entries a digest exchange found different (digest_sync.go)
	stateFlags   = stateRequest | stateJoin | statePartial
)

type ping struct {
	seq    uint64
	target core.NodeID
}

type pingReq struct {
	seq       uint64
	target    core.NodeID
	nackAfter uint64 // ticks after which the helper nacks; 0: no nack wanted
}

type aliveMsg struct {
	id    core.NodeID
	inc   uint64
	meta  []byte
	sig   []byte
	chain *aliveChain // nil: sig covers inc (AliveSigningBytes); else the chain's base (alive_chain.go)
}

type accuseMsg struct { // suspect and dead
	id   core.NodeID
	inc  uint64
	from core.NodeID // the accuser
	sig  []byte      // the accuser's signature (AccuseSigningBytes); nil when members are trusted
	// reminder says the record came as RecRemind: the accuser's reminder
	// of a suspicion it told the accused of before, with left the ticks
	// its timer had left (answer.go). Neither is part of what the accuser
	// signs.
	reminder bool
	left     uint64
}

type leaveMsg struct {
	id  core.NodeID
	inc uint64
	sig []byte
}

type stateEntry struct {
	id      core.NodeID
	state   State
	inc     uint64
	metaInc uint64 // alive and suspect: the incarnation meta and sig belong to
	meta    []byte
	sig     []byte      // alive/suspect: the alive signature; left: the leave signature
	chain   *aliveChain // alive/suspect: the chain proving metaInc, if chained
}

type stateMsg struct {
	flags   byte
	entries []stateEntry
}

// ---- encoding ----

func appendPing(dst []byte, p ping) []byte {
	return appendPingType(dst, RecPing, p)
}

func appendPingType(dst []byte, typ uint8, p ping) []byte {
	body := binary.AppendUvarint(nil, p.seq)
	body = wire.AppendString(body, string(p.target))
	return core.AppendRecord(dst, typ, body)
}

func appendPingReq(dst []byte, p pingReq) []byte {
	body := binary.AppendUvarint(nil, p.seq)
	body = wire.AppendString(body, string(p.target))
	body = binary.AppendUvarint(body, p.nackAfter)
	return core.AppendRecord(dst, RecPingReq, body)
}

func appendSeq(dst []byte, typ uint8, seq uint64) []byte {
	return core.AppendRecord(dst, typ, binary.AppendUvarint(nil, seq))
}

func appendAlive(dst []byte, a aliveMsg) []byte {
	body := wire.AppendString(nil, string(a.id))
	body = binary.AppendUvarint(body, a.inc)
	body = wire.AppendBytes(body, a.meta)
	body = wire.AppendBytes(body, a.sig)
	if a.chain != nil {
		// Optional trailing field: unchained groups send the same bytes
		// as before chains existed.
		body = appendChain(body, a.chain, a.inc)
	}
	return core.AppendRecord(dst, RecAlive, body)
}

func appendAccuse(dst []byte, typ uint8, a accuseMsg) []byte {
	return core.AppendRecord(dst, typ, appendAccuseBody(nil, a))
}

func appendAccuseBody(body []byte, a accuseMsg) []byte {
	body = wire.AppendString(body, string(a.id))
	body = binary.AppendUvarint(body, a.inc)
	body = wire.AppendString(body, string(a.from))
	if len(a.sig) > 0 {
		// Optional trailing field: a group whose members are trusted (no
		// Verifier) sends the same bytes as before signatures existed.
		body = wire.AppendBytes(body, a.sig)
	}
	return body
}

func appendLeave(dst []byte, l leaveMsg) []byte {
	body := wire.AppendString(nil, string(l.id))
	body = binary.AppendUvarint(body, l.inc)
	body = wire.AppendBytes(body, l.sig)
	return core.AppendRecord(dst, RecLeave, body)
}

// stateChained marks, in a state entry's state byte, an alive or suspect
// entry whose signature is a chain's (alive_chain.go): the chain follows
// the signature.
const stateChained = 0x80

func appendStateEntry(dst []byte, e *stateEntry) []byte {
	dst = wire.AppendString(dst, string(e.id))
	chained := e.chain != nil && (e.state == StateAlive || e.state == StateSuspect)
	if chained {
		dst = append(dst, byte(e.state)|stateChained)
	} else {
		dst = append(dst, byte(e.state))
	}
	dst = binary.AppendUvarint(dst, e.inc)
	switch e.state {
	case StateSuspect:
		dst = binary.AppendUvarint(dst, e.inc-e.metaInc)
		fallthrough
	case StateAlive:
		dst = wire.AppendBytes(dst, e.meta)
		dst = wire.AppendBytes(dst, e.sig)
		if chained {
			dst = appendChain(dst, e.chain, e.metaInc)
		}
	case StateLeft:
		dst = wire.AppendBytes(dst, e.sig)
	}
	return dst
}

// ---- decoding ----

// minEntryBytes is the smallest state entry: 1-byte ID length, 1-byte ID,
// state, incarnation.
const minEntryBytes = 4

func decodePing(b []byte, lim *Limits) (ping, error) {
	r := wire.NewReader(b)
	p := ping{seq: r.Uvarint(), target: core.NodeID(r.ID(lim.MaxIDLen))}
	r.End("ping")
	return p, wrap("ping", r.Err())
}

func decodePingReq(b []byte, lim *Limits) (pingReq, error) {
	r := wire.NewReader(b)
	p := pingReq{seq: r.Uvarint(), target: core.NodeID(r.ID(lim.MaxIDLen)), nackAfter: r.Uvarint()}
	r.End("ping-req")
	return p, wrap("ping-req", r.Err())
}

func decodeSeq(b []byte, what string) (uint64, error) {
	r := wire.NewReader(b)
	s := r.Uvarint()
	r.End(what)
	return s, wrap(what, r.Err())
}

func decodeAlive(b []byte, lim *Limits) (aliveMsg, error) {
	r := wire.NewReader(b)
	a := aliveMsg{id: core.NodeID(r.ID(lim.MaxIDLen)), inc: r.Uvarint()}
	a.meta = nilIfEmpty(r.Bytes(lim.MaxMetaSize, "metadata"))
	a.sig = nilIfEmpty(r.Bytes(lim.MaxSigSize, "signature"))
	if r.Err() == nil && r.Len() > 0 {
		a.chain = readChain(r, a.inc)
	}
	r.End("alive")
	return a, wrap("alive", r.Err())
}

func decodeAccuse(b []byte, lim *Limits, what string) (accuseMsg, error) {
	return readAccuse(wire.NewReader(b), lim, what)
}

func readAccuse(r *wire.Reader, lim *Limits, what string) (accuseMsg, error) {
	a := accuseMsg{id: core.NodeID(r.ID(lim.MaxIDLen)), inc: r.Uvarint(), from: core.NodeID(r.ID(lim.MaxIDLen))}
	if r.Err() == nil && r.Len() > 0 {
		a.sig = nilIfEmpty(r.Bytes(lim.MaxSigSize, "signature"))
	}
	r.End(what)
	return a, wrap(what, r.Err())
}

func decodeLeave(b []byte, lim *Limits) (leaveMsg, error) {
	r := wire.NewReader(b)
	l := leaveMsg{id: core.NodeID(r.ID(lim.MaxIDLen)), inc: r.Uvarint()}
	l.sig = nilIfEmpty(r.Bytes(lim.MaxSigSize, "signature"))
	r.End("leave")
	return l, wrap("leave", r.Err())
}

func decodeState(b []byte, lim *Limits) (stateMsg, error) {
	r := wire.NewReader(b)
	s := stateMsg{flags: r.Byte()}
	if r.Err() == nil && s.flags&^stateFlags != 0 {
		r.Fail(fmt.Errorf("%w: unknown state flags %#x", core.ErrMalformed, s.flags))
	}
	n := r.Count(lim.MaxStateEntries, minEntryBytes, "state entry")
	if r.Err() == nil && n > 0 {
		s.entries = make([]stateEntry, 0, n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		e := stateEntry{id: core.NodeID(r.ID(lim.MaxIDLen)), state: State(r.Byte()), inc: r.Uvarint()}
		chained := e.state&stateChained != 0
		e.state &^= stateChained
		if chained && e.state != StateAlive && e.state != StateSuspect {
			r.Fail(fmt.Errorf("%w: a chain on a %v entry", core.ErrMalformed, e.state))
		}
		switch e.state {
		case StateSuspect:
			d := r.Uvarint()
			if r.Err() == nil && d > e.inc {
				r.Fail(fmt.Errorf("%w: metadata incarnation above incarnation", core.ErrMalformed))
			}
			e.metaInc = e.inc - d
			e.meta = nilIfEmpty(r.Bytes(lim.MaxMetaSize, "metadata"))
			e.sig = nilIfEmpty(r.Bytes(lim.MaxSigSize, "signature"))
		case StateAlive:
			e.metaInc = e.inc
			e.meta = nilIfEmpty(r.Bytes(lim.MaxMetaSize, "metadata"))
			e.sig = nilIfEmpty(r.Bytes(lim.MaxSigSize, "signature"))
		case StateLeft:
			e.sig = nilIfEmpty(r.Bytes(lim.MaxSigSize, "signature"))
		case StateDead:
		default:
			r.Fail(fmt.Errorf("%w: unknown member state %d", core.ErrMalformed, e.state))
		}
		if chained && r.Err() == nil {
			e.chain = readChain(r, e.metaInc)
		}
		s.entries = append(s.entries, e)
	}
	r.End("state")
	return s, wrap("state", r.Err())
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("grapevine/membership: decoding %s: %w", what, err)
}

// ---- signatures ----

// AliveSigningBytes returns the bytes a member signs to announce that it is
// alive at incarnation inc with metadata meta.
func AliveSigningBytes(id core.NodeID, inc uint64, meta []byte) []byte {
	b := append([]byte(nil), "grapevine/member/alive/v1"...)
	b = wire.AppendString(b, string(id))
	b = binary.AppendUvarint(b, inc)
	return wire.AppendBytes(b, meta)
}

// AccuseSigningBytes returns the bytes an accuser signs to say that it
// suspects (typ RecSuspect) or declares dead (RecDead) member id at
// incarnation inc. The accuser is part of the signed bytes, so one member
// cannot pass its accusation off as another's (Lifeguard counts
// confirmations per accuser).
func AccuseSigningBytes(typ uint8, id core.NodeID, inc uint64, accuser core.NodeID) []byte {
	b := append([]byte(nil), "grapevine/member/accuse/v1"...)
	b = append(b, typ)
	b = wire.AppendString(b, string(id))
	b = binary.AppendUvarint(b, inc)
	return wire.AppendString(b, string(accuser))
}

// LeaveSigningBytes returns the bytes a member signs to announce that it
// leaves at incarnation inc.
func LeaveSigningBytes(id core.NodeID, inc uint64) []byte {
	b := append([]byte(nil), "grapevine/member/leave/v1"...)
	b = wire.AppendString(b, string(id))
	return binary.AppendUvarint(b, inc)
}
