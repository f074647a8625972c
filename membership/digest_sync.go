package membership

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
)

// The digest-first state exchange (Config.DigestSync). A periodic or
// follow-up push-pull used to send the whole view both ways: about 120
// bytes a member, 60 KB each way at n = 500, although two members of a
// settled group differ in a handful of entries, if any. Now the initiator
// A sends a digest: a random salt and an 8-byte fingerprint of each of its
// entries (SHA-256 of the salt, member ID, state, incarnation and, for a
// suspect, the incarnation of its metadata). The answerer B computes the
// fingerprints of its own entries under the same salt and sends back
//
//   - the entries whose fingerprint A did not list (B knows them and A
//     does not, or they differ: A keeps whichever is newer, as with any
//     state), as state frames flagged partial, and
//   - a want: the fingerprints of A's it does not hold,
//
// and A answers the want with those entries. Three messages instead of
// two, 8 bytes a member instead of 120, and nothing at all when the views
// agree. The salt is fresh for every exchange, so no member can choose
// entries of its own whose fingerprints collide with others' in advance.
//
// Bounds: a digest request is answered like a full-state request (at most
// once per StateAnswerGap per asker, answer_limit.go) and costs the
// answerer one hash per member of its view; a want is answered only for a
// digest this member sent to that member within digestWantTicks, once.
// Joins (to seeds), AskState and reconnects still exchange whole states:
// a joiner knows nothing, AskState needs the whole answer, and a healed
// partition differs in everything. So does a view too large for one
// digest frame (MaxStateChunk/8 members, 7,680 by default).

// Digest exchanges this member started and may still get a want for: a
// want comes a round trip after its digest, but an overloaded peer's
// driver can run seconds behind (p2pscale -n 500 dropped 87 wants at a
// 5 s expiry), and a late want is as safe to answer as a prompt one.
const (
	maxDigestPending = 8
	digestWantTicks  = 600
)

// digestPending is a digest this member sent.
type digestPending struct {
	to   core.NodeID
	salt uint64
	at   uint64 // tick it was sent
}

// syncState starts a push-pull exchange with member to: a digest, or
// this member's whole state with a request for the other's when digests
// are off or the view does not fit one digest frame.
func (m *Memberlist) syncState(to core.NodeID) {
	if !m.cfg.DigestSync || len(m.all)*fingerprintSize+stateFrameOverhead > m.cfg.MaxStateChunk {
		m.sendState(to, stateRequest)
		return
	}
	salt := m.rng.Uint64()
	fps := m.fpScratch[:0]
	for _, mem := range m.all {
		e := m.entryFor(mem)
		fps = append(fps, m.fingerprint(salt, &e))
	}
	m.fpScratch = fps[:0]
	f := core.NewFrame(nil)
	if m.cfg.Admit != nil {
		// In a closed group the answerer believes only admitted senders'
		// records; this member's own alive first lets one that has not
		// heard of it yet admit it (as the own entry of a whole state).
		s := m.self
		f = appendAlive(f, aliveOf(s)) // a whole record
	}
	f = core.AppendRecord(f, RecStateDigest, appendDigest(nil, stateRequest, salt, fps))
	m.stats.DigestsSent++
	m.stats.StateBytesSent += uint64(len(f))
	m.notePending(to, salt)
	m.transmit(to, f)
}

// onStateDigest answers a digest with the entries the asker lacks or
// holds in another version, and a want for those of its it lacks.
func (m *Memberlist) onStateDigest(from core.NodeID, d digestMsg) {
	m.stats.DigestsIn++
	if !m.admittedSender(from) {
		m.stats.NotAdmitted++
		return
	}
	if m.left || d.flags&stateRequest == 0 || !m.mayAnswerState(from) {
		return
	}
	slices.Sort(d.fps)
	held := make([]bool, len(d.fps))
	c := m.partialChunker(from)
	for _, mem := range m.all {
		e := m.entryFor(mem)
		if i, ok := slices.BinarySearch(d.fps, m.fingerprint(d.salt, &e)); ok {
			held[i] = true
			continue
		}
		c.add(&e)
	}
	c.finish()
	want := d.fps[:0] // in place: held[i] is read before want grows past i
	for i, fp := range d.fps {
		if !held[i] {
			want = append(want, fp)
		}
	}
	if len(want) == 0 {
		return
	}
	f := core.AppendRecord(core.NewFrame(nil), RecStateWant, appendWant(nil, d.salt, want))
	m.stats.StateBytesSent += uint64(len(f))
	m.transmit(from, f)
}

// onStateWant sends the entries a member wants after a digest this member
// sent it.
func (m *Memberlist) onStateWant(from core.NodeID, w digestMsg) {
	if !m.takePending(from, w.salt) {
		m.stats.WantsUnsolicited++
		return
	}
	if m.left {
		return
	}
	slices.Sort(w.fps)
	c := m.partialChunker(from)
	for _, mem := range m.all {
		e := m.entryFor(mem)
		if _, ok := slices.BinarySearch(w.fps, m.fingerprint(w.salt, &e)); ok {
			c.add(&e)
		}
	}
	c.finish()
}

// partialChunker chunks entries to member to as state frames flagged
// partial.
func (m *Memberlist) partialChunker(to core.NodeID) stateChunker {
	return stateChunker{maxChunk: m.cfg.MaxStateChunk, allFlags: statePartial, emit: func(f []byte) {
		m.stats.StateBytesSent += uint64(len(f))
		m.transmit(to, f)
	}}
}

// fingerprint is entry e's fingerprint under salt: what identifies its
// version (the metadata and signatures follow from the incarnation).
func (m *Memberlist) fingerprint(salt uint64, e *stateEntry) uint64 {
	b := binary.BigEndian.AppendUint64(m.fpBuf[:0], salt)
	b = wire.AppendString(b, string(e.id))
	b = append(b, byte(e.state))
	b = binary.AppendUvarint(b, e.inc)
	if e.state == StateSuspect {
		b = binary.AppendUvarint(b, e.metaInc)
	}
	m.fpBuf = b
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:fingerprintSize])
}

// notePending remembers a digest sent, replacing the oldest remembered
// one when all slots are taken.
func (m *Memberlist) notePending(to core.NodeID, salt uint64) {
	slot := 0
	for i := range m.digests {
		if m.digests[i].to == "" {
			slot = i
			break
		}
		if m.digests[i].at < m.digests[slot].at {
			slot = i
		}
	}
	m.digests[slot] = digestPending{to: to, salt: salt, at: m.tick}
}

// takePending reports whether a digest with salt was sent to member from
// within digestWantTicks, and forgets it (one want per digest).
func (m *Memberlist) takePending(from core.NodeID, salt uint64) bool {
	for i := range m.digests {
		p := &m.digests[i]
		if p.to == from && p.salt == salt && m.tick <= p.at+digestWantTicks {
			*p = digestPending{}
			return true
		}
	}
	return false
}
