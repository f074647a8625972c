package membership

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
)

// View sums (Config.ViewSums): a cheap check, on every probe, that two
// members list the same members.
//
// Gossip spreads a join to nearly everyone; the few members it misses
// learn of it at their next periodic state exchange, which comes every 30
// s below 32 members and three minutes at 1,000 (PushPullPeriod). At n = 50
// joining at once, a member lacked two others for 73 s in one simulated
// run of ten (stackexp -n 50; docs/benchmarks/ladder.md, session 23): its
// one exchange went to a neighbour that lacked them too.
//
// So each ping carries the sender's view sum: the number of members it
// lists alive (itself included) and the XOR of a hash of each one's ID.
// The probed member compares it with its own. A difference is normal
// while an update travels; one that a second ping from the same member
// shows again, at least viewSumPersist ticks later, is not, and the probed
// member starts a digest exchange with the prober at once (the digest
// finds the difference both ways in one round). At most one such exchange
// per PushPullInterval/4, so a member that lies about its sum costs this
// one no more than a few extra exchanges a minute; the sum decides nothing
// else.

// RecViewSum: uvarint count of live members (the sender included), then
// the 8-byte XOR of their ID hashes.
const RecViewSum uint8 = 0x4d

const (
	// viewSumPersist is how long a difference from one member must last
	// (seen on two of its pings) before it starts an exchange: 2 s, longer
	// than an update takes to cross a settled group.
	viewSumPersist = 20
	// maxViewSumMemory bounds the members whose last differing sum is
	// remembered (the neighbours that probe this one, and a few more).
	maxViewSumMemory = 64
)

// idHash is a member ID's term in a view sum.
func idHash(id core.NodeID) uint64 {
	h := sha256.Sum256([]byte(id))
	return binary.LittleEndian.Uint64(h[:8])
}

// viewSum returns this member's count and sum of live members, itself
// included.
func (m *Memberlist) viewSum() (uint64, uint64) {
	return uint64(len(m.live) + 1), m.liveSum ^ m.selfHash
}

func appendViewSum(dst []byte, count, sum uint64) []byte {
	body := wire.AppendUvarint(nil, count)
	body = binary.LittleEndian.AppendUint64(body, sum)
	return core.AppendRecord(dst, RecViewSum, body)
}

func decodeViewSum(body []byte) (count, sum uint64, err error) {
	r := wire.NewReader(body)
	count = r.Uvarint()
	b := r.Rest()
	if err := r.Err(); err != nil {
		return 0, 0, fmt.Errorf("grapevine/membership: decoding view sum: %w", err)
	}
	if len(b) != 8 {
		return 0, 0, fmt.Errorf("grapevine/membership: decoding view sum: %w: %d sum bytes, want 8", core.ErrMalformed, len(b))
	}
	return count, binary.LittleEndian.Uint64(b), nil
}

// onViewSum compares a prober's view sum with this member's own.
func (m *Memberlist) onViewSum(from core.NodeID, count, sum uint64) {
	if !m.cfg.ViewSums || m.cfg.MemberSample > 0 || m.left {
		return // sampled lists differ by design
	}
	// Only a live member this one knows (and, in a closed group, one that
	// was admitted) gets an exchange: the want that follows the digest is
	// answered with member entries, which a non-member must never obtain.
	if mem := m.members.get(m.all, from); mem == nil || mem.removed || !mem.state.Live() || !m.admittedSender(from) {
		m.stats.ViewSumsRefused++
		return
	}
	if c, s := m.viewSum(); c == count && s == sum {
		delete(m.viewSumDiffers, from)
		return
	}
	first, seen := m.viewSumDiffers[from]
	if !seen {
		if len(m.viewSumDiffers) >= maxViewSumMemory {
			clear(m.viewSumDiffers)
		}
		if m.viewSumDiffers == nil {
			m.viewSumDiffers = make(map[core.NodeID]uint64)
		}
		m.viewSumDiffers[from] = m.tick
		return
	}
	if m.tick < first+viewSumPersist {
		return
	}
	delete(m.viewSumDiffers, from)
	if m.tick < m.nextViewSync {
		m.stats.ViewSyncsLimited++
		return
	}
	m.nextViewSync = m.tick + uint64(max(1, m.cfg.PushPullInterval/4))
	m.stats.ViewSyncs++
	m.stats.PushPullsSent++
	m.syncState(from)
}
