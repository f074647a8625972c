package membership

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
)

// Verdicts signed together (Config.BatchVerdicts, with
// Config.LocalAccusations and a Signer).
//
// A member believes a death on two declarers' signed verdicts (or one and
// its own failed probe), and then passes on its own (verdictToPassOn). In
// a wave of crashes that is two signature checks and one signature per
// survivor per victim: at N = 1,000 with a tenth crashed on two cores,
// 180,000 checks in a few seconds, a sixth of the whole window's CPU and
// the largest single cost once refutations were chained (a window profile
// of `bench -n 1000 -scenarios silent`, docs/benchmarks/ladder.md, session
// 32).
//
// A verdict waits in the dissemination queue for the next gossip round
// anyway, so this member holds its own verdicts until then and signs those
// of one round together, in one record (RecVerdicts: the declarer, the
// members and incarnations, one signature). A member that hears it checks
// one signature for all of them, and skips it when none would change
// anything (each listed member's death already believed here, or its
// declarer already counted). A verdict heard from another member and held
// as a suspicion is passed on as the record it came in. What a wave costs
// each survivor falls with the number of verdicts a round carries; a
// single crash costs what it did. A batch is signed by its declarer over
// every entry, so it proves no more than the single verdicts would: the
// two-declarer rule applies per entry.

// RecVerdicts: declarer ID, uvarint count, then each member's ID and
// incarnation, then the declarer's signature (VerdictsSigningBytes).
const RecVerdicts uint8 = 0x4f

// maxBatchVerdicts bounds the verdicts of one record: 24 of up to about 45
// bytes (a peer ID and an incarnation) fit a 1,400-byte packet with the
// declarer and a signature.
const maxBatchVerdicts = 24

// minVerdictBytes is the smallest entry: a 1-byte ID length, a 1-byte ID,
// an incarnation.
const minVerdictBytes = 3

type verdictEntry struct {
	id  core.NodeID
	inc uint64
}

type verdictBatch struct {
	from    core.NodeID // the declarer
	entries []verdictEntry
	sig     []byte
	// body is the record's body as received, and signed its bytes before
	// the signature: the signing bytes without their domain, as the
	// declarer encoded them. A batch is checked over these and passed on
	// as it came, not encoded again; both are nil for a batch built here.
	body, signed []byte
}

const verdictsDomain = "grapevine/member/verdicts/v1"

// VerdictsSigningBytes returns the bytes a declarer signs to declare the
// members ids dead at incarnations incs (RecVerdicts).
func VerdictsSigningBytes(declarer core.NodeID, ids []core.NodeID, incs []uint64) []byte {
	b := append([]byte(nil), verdictsDomain...)
	b = wire.AppendString(b, string(declarer))
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for i, id := range ids {
		b = wire.AppendString(b, string(id))
		b = binary.AppendUvarint(b, incs[i])
	}
	return b
}

func (b *verdictBatch) signingBytes() []byte {
	ids := make([]core.NodeID, len(b.entries))
	incs := make([]uint64, len(b.entries))
	for i, e := range b.entries {
		ids[i], incs[i] = e.id, e.inc
	}
	return VerdictsSigningBytes(b.from, ids, incs)
}

func appendVerdicts(dst []byte, b *verdictBatch) []byte {
	body := wire.AppendString(nil, string(b.from))
	body = binary.AppendUvarint(body, uint64(len(b.entries)))
	for _, e := range b.entries {
		body = wire.AppendString(body, string(e.id))
		body = binary.AppendUvarint(body, e.inc)
	}
	body = wire.AppendBytes(body, b.sig)
	return core.AppendRecord(dst, RecVerdicts, body)
}

// decodeVerdicts decodes a batch, its entries appended to dst[:0]. An ID
// that intern knows is taken from it (a member's own string: a copy of
// every ID of every copy of every batch was a sixth of a group's
// allocations after a crash, docs/benchmarks/ladder.md, session 33); nil
// intern, or one that returns "", copies it.
func decodeVerdicts(body []byte, lim *Limits, intern func([]byte) core.NodeID, dst []verdictEntry) (verdictBatch, error) {
	r := wire.NewReader(body)
	id := func() core.NodeID {
		raw := r.IDBytes(lim.MaxIDLen)
		if intern != nil {
			if id := intern(raw); id != "" {
				return id
			}
		}
		return core.NodeID(raw)
	}
	b := verdictBatch{from: id(), body: body}
	n := r.Count(maxBatchVerdicts, minVerdictBytes, "verdict")
	if r.Err() == nil && n == 0 {
		r.Fail(fmt.Errorf("%w: no verdicts", core.ErrMalformed))
	}
	if r.Err() == nil {
		b.entries = slices.Grow(dst[:0], n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		b.entries = append(b.entries, verdictEntry{id: id(), inc: r.Uvarint()})
	}
	b.signed = body[:len(body)-r.Len()]
	b.sig = nilIfEmpty(r.Bytes(lim.MaxSigSize, "signature"))
	r.End("verdicts")
	return b, wrap("verdicts", r.Err())
}

// internID returns the ID this member holds for raw, the encoding of a
// member's ID, or "" if it knows no such member.
func (m *Memberlist) internID(raw []byte) core.NodeID {
	if string(raw) == string(m.cfg.ID) {
		return m.cfg.ID
	}
	if mem := m.members.getBytes(m.all, raw); mem != nil {
		return mem.id
	}
	return ""
}

// verifyBatch checks a batch's signature: over the bytes its declarer
// encoded if it was received (in a buffer reused from check to check),
// else over its encoding.
func (m *Memberlist) verifyBatch(b *verdictBatch) bool {
	if b.signed == nil {
		return m.verify(b.from, b.signingBytes(), b.sig)
	}
	m.batchSigning = append(append(m.batchSigning[:0], verdictsDomain...), b.signed...)
	return m.verify(b.from, m.batchSigning, b.sig)
}

// verdictsRecord returns b as a record: the received body as it came, in
// one allocation, else encoded.
func verdictsRecord(b *verdictBatch) []byte {
	if b.body == nil {
		return appendVerdicts(nil, b)
	}
	rec := make([]byte, 0, core.RecordOverhead(len(b.body))+len(b.body))
	return core.AppendRecord(rec, RecVerdicts, b.body)
}

// batchVerdicts reports whether this member signs its verdicts in batches.
func (m *Memberlist) batchVerdicts() bool {
	return m.cfg.BatchVerdicts && m.localAccusations() && m.cfg.Signer != nil
}

// passOnVerdict queues a, a verdict this member holds as its own or as
// believed: into the next round's batch when it is this member's own and
// verdicts are batched, else as a dead record.
func (m *Memberlist) passOnVerdict(a accuseMsg) {
	if a.from == m.cfg.ID && m.batchVerdicts() {
		m.pendingVerdicts = append(m.pendingVerdicts, verdictEntry{id: a.id, inc: a.inc})
		return
	}
	m.enqueue(a.id, RecDead, appendAccuse(nil, RecDead, a))
}

// ownVerdict returns this member's verdict on mem: unsigned when verdicts
// are batched (the batch is signed), else signed.
func (m *Memberlist) ownVerdict(mem *member) accuseMsg {
	if m.batchVerdicts() {
		return accuseMsg{id: mem.id, inc: mem.incarnation, from: m.cfg.ID}
	}
	return m.ownAccusation(RecDead, mem)
}

// flushVerdicts signs this member's pending verdicts, those still standing
// (the member dead here at that incarnation), in records of at most
// maxBatchVerdicts, and queues them.
func (m *Memberlist) flushVerdicts() {
	keep := m.pendingVerdicts[:0]
	for _, e := range m.pendingVerdicts {
		if mem := m.members.get(m.all, e.id); mem != nil && !mem.removed && mem.state == StateDead && mem.incarnation == e.inc {
			keep = append(keep, e)
		}
	}
	for len(keep) > 0 {
		n := min(len(keep), maxBatchVerdicts)
		b := m.signBatch(append([]verdictEntry(nil), keep[:n]...))
		keep = keep[n:]
		if b == nil {
			continue // counted in SignErrors
		}
		m.verdictSeq++
		m.enqueue(batchKey(m.cfg.ID, m.verdictSeq), RecVerdicts, appendVerdicts(nil, b))
	}
	clear(m.pendingVerdicts)
	m.pendingVerdicts = m.pendingVerdicts[:0]
}

// signBatch returns this member's verdicts on entries, signed together;
// nil if signing failed.
func (m *Memberlist) signBatch(entries []verdictEntry) *verdictBatch {
	b := &verdictBatch{from: m.cfg.ID, entries: entries}
	if b.sig = m.sign(b.signingBytes()); b.sig == nil {
		return nil
	}
	m.stats.VerdictBatches++
	return b
}

// batchKey is the dissemination queue's key for a declarer's batch: no
// member's ID (those are not empty), and different for each batch (this
// member's own are numbered, others' keyed by their signature: relayKey),
// so that no batch replaces another.
func batchKey(declarer core.NodeID, seq uint64) core.NodeID {
	var buf [96]byte // a peer ID and a number fit: one allocation, the string's
	return core.NodeID(appendBatchKey(buf[:0], declarer, seq))
}

// appendBatchKey appends batchKey(declarer, seq) to dst.
func appendBatchKey(dst []byte, declarer core.NodeID, seq uint64) []byte {
	dst = append(append(append(dst, "\x00verdicts\x00"...), declarer...), 0)
	return strconv.AppendUint(dst, seq, 10)
}

// relayKey is the queue's key for another declarer's batch passed on: its
// declarer and the start of its signature, so that a copy of the batch
// that arrives later, from another neighbour, finds it (queue.heard). A
// batch is queued only once its signature was checked, so no forged batch
// can take a genuine one's key.
func relayKey(b *verdictBatch) core.NodeID {
	var buf [96]byte
	return core.NodeID(appendRelayKey(buf[:0], b))
}

// appendRelayKey appends relayKey(b) to dst (a received copy is looked up
// with a key built on the stack: no allocation for each copy).
func appendRelayKey(dst []byte, b *verdictBatch) []byte {
	var seq uint64
	if len(b.sig) >= 8 {
		seq = binary.BigEndian.Uint64(b.sig)
	}
	return appendBatchKey(dst, b.from, seq)
}

// applyVerdicts applies a declarer's batch of verdicts: its signature is
// checked once, and only if some entry would change anything here; each
// entry is then a dead record from the declarer (declareDead). If any
// entry is held as a suspicion by a declarer new here, the batch is passed
// on as it came.
//
// With Config.DirectVerdicts a batch that comes from its declarer itself
// (over the declarer's authenticated connection, as a member that
// believes passes on its own verdicts to its neighbours) is applied
// without the check: the sender's claims are its own whatever the
// signature. The signature is checked only if the batch is to be passed
// on, since the next member checks it and would blame this one.
func (m *Memberlist) applyVerdicts(b verdictBatch, from core.NodeID) {
	if !m.localAccusations() {
		// Only members that keep accusations local pass on their own
		// verdicts, and so batch them; a member that passes on the
		// records it believes has no single record to pass on here.
		m.stats.UnknownRecords++
		return
	}
	if b.from == m.cfg.ID {
		m.stats.Stale++ // our own, echoed
		return
	}
	news := false
	for _, e := range b.entries {
		if m.verdictNews(accuseMsg{id: e.id, inc: e.inc, from: b.from}) {
			news = true
			break
		}
	}
	if !news {
		m.stats.DuplicateAccusations++
		return
	}
	direct := m.cfg.DirectVerdicts && from == b.from
	if direct {
		m.stats.VerdictsDirect++
	} else if !m.verifyBatch(&b) {
		m.penalize(from, core.OffenceBadSignature)
		return
	}
	if !m.admittedAccuser(accuseMsg{from: b.from}) {
		return
	}
	passOn := false
	for _, e := range b.entries {
		// The batch's signature stands for each entry's: a marks it signed
		// for accusedSelf's penalty, and is never re-encoded.
		a := accuseMsg{id: e.id, inc: e.inc, from: b.from, sig: b.sig}
		if m.dropStale(a, from) || m.knownDeclarer(a) {
			continue
		}
		if m.declareDead(a, from) {
			passOn = true
		}
	}
	if passOn && direct && !m.verifyBatch(&b) {
		// Its declarer's own claims, and applied as such; but passed on,
		// the next member would blame this one for the signature.
		m.penalize(from, core.OffenceBadSignature)
		return
	}
	if passOn {
		key := relayKey(&b)
		m.enqueue(key, RecVerdicts, verdictsRecord(&b))
		if u := m.queue.byID[key]; u != nil {
			u.fewer = relaySends(RetransmitLimit(m.cfg.RetransmitMult, m.Size()))
		}
	}
}

// relaySends is how many members a relayed batch goes to, given the
// queue's limit for an update: a quarter of it, at least one.
//
// A member relays another declarer's batch while it holds one of the
// batch's deaths as a suspicion with that declarer new, so that members
// further on can reach the two declarers they need; once it believes, its
// own verdict goes to every neighbour (verdictToPassOn), and the members
// that believe are what carries the wave. Sent to every neighbour, the
// relays were most of it: on the simulator at n = 1,000 with a tenth
// crashed, 88 % of the 762,764 batches members received were relays, and
// 83 % of all brought nothing new. Relays to a quarter of the limit (4
// members at n = 1,000) cut the batches sent 807,425 → 362,719 and the
// bytes per delivery 1,333 → 1,010, while every survivor held every victim
// failed after 7.5 s instead of 7.4 (at 2 % loss 9.4 s instead of 9.3;
// stackexp -n 1000 -seed 1 [-loss 0.02] -auth; docs/benchmarks/ladder.md,
// session 36). Relays to 2 members sent 261,571 and took 9.6 s at 2 % loss.
// At n = 50 a quarter is 2: detection stayed within 0.2 s of before on 9
// of 10 seeds, and took 6.4 s instead of 4.9 on one; a floor of 4 fixed
// that seed but left TestVerdictPullTail a straggler that asking no longer
// fixed.
func relaySends(limit int) int {
	return max(1, limit/4)
}

// verdictNews reports, without side effects, whether dead record a could
// change anything here: it is about this member, or about a live member
// at its current incarnation (or a higher one it signed), by a declarer
// that does not count yet.
func (m *Memberlist) verdictNews(a accuseMsg) bool {
	if a.id == m.cfg.ID {
		return !m.left && a.inc >= m.self.incarnation
	}
	mem := m.members.get(m.all, a.id)
	if mem == nil || mem.removed || !mem.state.Live() || a.inc < mem.incarnation || a.inc > mem.metaInc {
		return false
	}
	return !m.knownDeclarer(a)
}
