package membership

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// Dissemination over reliable links (Config.ReliableLinks).
//
// SWIM sends each update λ·⌈log₁₀(n+1)⌉ times because its datagrams may be
// lost: repeats to a member it already told are what carries an update
// past a lost packet. Over a transport that delivers every frame it
// accepts (p2p's QUIC streams), a second copy to the same member repeats
// what arrived, and the receiver decodes and discards it. With reliable
// links an update therefore goes at most once to each destination: up to
// λ·⌈log₁₀(n+1)⌉ different members, as before, and it stays queued for
// reliableLifetime ticks so that members it has not reached yet (a
// neighbour that joins the view meanwhile, the next probe targets) still
// get it. Under an overlay each member's neighbours all relay it to
// theirs, so a member is reached over as many paths as it has neighbours;
// a frame the transport does drop (a full queue, a failed stream) is
// covered by those paths and by push-pull and view sums, as lost
// datagrams are.
//
// At N = 1,000 on one machine the churn's updates were sent 16 times by
// every member to its six or so neighbours: 8.7 million record sends in one
// 30 s window (docs/benchmarks/ladder.md, session 27), nearly all of them
// copies the receiver already held.

// destKey is the key under which fill records a destination: a keyed hash
// of its ID (the seed is this member's own, so no remote member can make
// two destinations share a key). 0 when links are not reliable or there is
// no destination; destination keys are never 0.
func (q *queue) destKey(to core.NodeID) uint64 {
	if !q.reliable || to == "" {
		return 0
	}
	return maphash.String(q.seed, string(to)) | 1
}

// wentTo reports whether u was already sent to the destination keyed dest.
func (u *update) wentTo(dest uint64) bool {
	return dest != 0 && slices.Contains(u.dests, dest)
}

// heard notes, over reliable links, that member from sent this member the
// record of type typ and body body about key (a member's ID, or a batch's
// key): if that is the update queued about key, from holds it already and
// it does not go back there. In a wave of updates each member hears most of
// them from a few neighbours while they wait for the next gossip round;
// each of those copies would otherwise cross the link back as well.
func (q *queue) heard(key core.NodeID, typ uint8, body []byte, from core.NodeID) {
	if q.reliable && q.len() > 0 {
		q.heardUpdate(q.byID[key], typ, body, from)
	}
}

// heardBytes is heard with the key in a byte slice (looked up without
// a copy).
func (q *queue) heardBytes(key []byte, typ uint8, body []byte, from core.NodeID) {
	if q.reliable && q.len() > 0 {
		q.heardUpdate(q.byID[core.NodeID(key)], typ, body, from)
	}
}

func (q *queue) heardUpdate(u *update, typ uint8, body []byte, from core.NodeID) {
	if u == nil || u.obsolete || u.typ != typ || !recordHolds(u.rec, body) {
		return
	}
	if dest := q.destKey(from); dest != 0 && !u.wentTo(dest) {
		u.noteDest(dest)
		q.heardFrom++
	}
}

// recordHolds reports whether rec, a complete record (type, length,
// body), has body as its body.
func recordHolds(rec, body []byte) bool {
	var n [binary.MaxVarintLen64]byte
	hdr := 1 + binary.PutUvarint(n[:], uint64(len(body)))
	return len(rec) == hdr+len(body) && bytes.Equal(rec[hdr:], body)
}

// noteDest records that u went to the destination keyed dest.
func (u *update) noteDest(dest uint64) {
	if dest != 0 {
		u.dests = append(u.dests, dest)
	}
}

// expire drops, over reliable links, the updates queued more than
// lifetime ticks before now; it returns how many. They have reached every
// member that was a destination meanwhile.
func (q *queue) expire(now, lifetime uint64) int {
	if !q.reliable || len(q.items) == 0 {
		return 0
	}
	n := 0
	for _, u := range q.items {
		if !u.obsolete && now-u.born > lifetime {
			u.obsolete = true
			q.stale++
			if q.byID[u.about] == u {
				delete(q.byID, u.about)
			}
			n++
		}
	}
	if n > 0 {
		q.compact()
	}
	return n
}

// reliableLifetime is how long an update stays queued over reliable
// links: twice as long as the gossip rounds alone take to send it
// λ·⌈log₁₀(n+1)⌉ times without them (⌈limit/GossipNodes⌉ rounds), and at
// least one protocol period, so that the probes of that period carry it.
func (m *Memberlist) reliableLifetime() uint64 {
	limit := RetransmitLimit(m.cfg.RetransmitMult, m.Size())
	rounds := 1
	if m.cfg.GossipNodes > 0 {
		rounds = (limit + m.cfg.GossipNodes - 1) / m.cfg.GossipNodes
	}
	return uint64(max(2*rounds*max(m.cfg.GossipInterval, 1), m.cfg.ProbeInterval))
}

// expireReliable drops the updates whose lifetime ended (reliable links),
// counting them as sent to completion.
func (m *Memberlist) expireReliable() {
	if m.cfg.ReliableLinks && m.queue.len() > 0 {
		m.stats.UpdatesExpired += uint64(m.queue.expire(m.tick, m.reliableLifetime()))
	}
}
