package membership

import (
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// member is one entry of the member table. Every member holds an entry for
// every other, so the entry is kept small (64 bytes): what most members
// lack (metadata, a signature, a running suspicion) lives in a separately
// allocated memberExtra, and the tick a tombstone was made is since (a
// member that is not live entered its state when it was entombed).
type member struct {
	id          core.NodeID
	incarnation uint64
	metaInc     uint64       // the incarnation of the alive update meta and sig come from
	since       uint64       // tick at which this member entered state (local clock)
	extra       *memberExtra // nil when there is no metadata, signature or suspicion
	idx         int32        // position in Memberlist.all
	liveIdx     int32        // position in Memberlist.live, -1 when not live
	state       State
	removed     bool // forgotten (reaped or evicted)
}

// memberExtra holds the fields of a member entry that most entries lack.
type memberExtra struct {
	meta      []byte      // the member's metadata; do not modify
	sig       []byte      // the member's signature of its alive update; of its leave when left
	suspicion *suspicion  // the running suspicion timer while the member is suspect
	chain     *aliveChain // the hash chain sig covers, proving metaInc (alive_chain.go)
}

func (mem *member) meta() []byte {
	if mem.extra == nil {
		return nil
	}
	return mem.extra.meta
}

func (mem *member) sig() []byte {
	if mem.extra == nil {
		return nil
	}
	return mem.extra.sig
}

func (mem *member) suspicion() *suspicion {
	if mem.extra == nil {
		return nil
	}
	return mem.extra.suspicion
}

// ensureExtra returns the member's extra fields, allocating them if needed.
func (mem *member) ensureExtra() *memberExtra {
	if mem.extra == nil {
		mem.extra = new(memberExtra)
	}
	return mem.extra
}

// dropEmptyExtra drops the extra fields when they are all empty.
func (mem *member) dropEmptyExtra() {
	if extra := mem.extra; extra != nil && extra.meta == nil && extra.sig == nil && extra.suspicion == nil && extra.chain == nil {
		mem.extra = nil
	}
}

// setMeta sets the metadata and the signature of the alive update it came with.
func (mem *member) setMeta(meta, sig []byte) {
	if meta != nil || sig != nil || mem.extra != nil {
		extra := mem.ensureExtra()
		extra.meta, extra.sig = meta, sig
		mem.dropEmptyExtra()
	}
}

func (mem *member) setSig(sig []byte) {
	if sig != nil || mem.extra != nil {
		mem.ensureExtra().sig = sig
		mem.dropEmptyExtra()
	}
}

// chain returns the chain mem's signature covers; nil if unchained (or
// mem is nil).
func (mem *member) chain() *aliveChain {
	if mem == nil || mem.extra == nil {
		return nil
	}
	return mem.extra.chain
}

// setChain sets the chain mem's signature covers (a copy of c; nil:
// none).
func (mem *member) setChain(c *aliveChain) {
	if c != nil {
		cp := *c
		c = &cp
	}
	if c != nil || mem.extra != nil {
		mem.ensureExtra().chain = c
		mem.dropEmptyExtra()
	}
}

func (mem *member) setSuspicion(s *suspicion) {
	if s != nil || mem.extra != nil {
		mem.ensureExtra().suspicion = s
		mem.dropEmptyExtra()
	}
}

// snapshot returns the public view of the entry.
func (mem *member) snapshot() Member {
	return Member{ID: mem.id, State: mem.state, Incarnation: mem.incarnation, Meta: mem.meta(), Since: mem.since}
}

// newMember adds an entry for id, evicting the oldest tombstone if the table
// is full; nil if it is full of live members.
func (m *Memberlist) newMember(id core.NodeID) *member {
	for len(m.all) >= m.cfg.MaxMembers {
		if !m.evictOldestTomb() {
			m.stats.MembersRefused++
			return nil
		}
	}
	mem := &member{id: id, since: m.tick, idx: int32(len(m.all)), liveIdx: -1}
	m.all = append(m.all, mem)
	m.members.add(m.all, mem)
	m.byState[mem.state]++
	return mem
}

// setState moves mem, a member of the table, to st, keeping the counts by
// state (CountStates). Every change of a member's state goes through it.
func (m *Memberlist) setState(mem *member, st State) {
	m.byState[mem.state]--
	m.byState[st]++
	mem.state = st
}

// removeMember forgets mem (never this member): it leaves the table, the
// index and the live list, and its suspicion timer is dropped.
func (m *Memberlist) removeMember(mem *member) {
	if mem == m.self || mem.removed {
		return
	}
	m.setNotLive(mem)
	m.members.del(mem.id, mem.idx)
	last := m.all[len(m.all)-1]
	if last != mem {
		m.members.moved(last.id, last.idx, mem.idx)
	}
	m.all[mem.idx] = last
	last.idx = mem.idx
	m.all[len(m.all)-1] = nil
	m.all = m.all[:len(m.all)-1]
	m.byState[mem.state]--
	mem.removed = true
	mem.setSuspicion(nil)
}

// setLive adds mem to the live list and schedules its insertion into the
// probe order.
func (m *Memberlist) setLive(mem *member) {
	if mem.liveIdx >= 0 {
		return
	}
	mem.liveIdx = int32(len(m.live))
	m.live = append(m.live, mem)
	m.liveVer++
	m.liveSum ^= idHash(mem.id)
	// SWIM §4.3: a new member goes to a random position of the rest of
	// the current round.
	pos := m.probeIdx + m.rng.IntN(len(m.probeOrder)+len(m.probeAdds)-m.probeIdx+1)
	m.probeAdds = append(m.probeAdds, probeAdd{pos: pos, mem: mem})
}

// setNotLive takes mem out of the live list (it stays in the table).
func (m *Memberlist) setNotLive(mem *member) {
	if mem.liveIdx < 0 {
		return
	}
	last := m.live[len(m.live)-1]
	m.live[mem.liveIdx] = last
	last.liveIdx = mem.liveIdx
	m.live[len(m.live)-1] = nil
	m.live = m.live[:len(m.live)-1]
	mem.liveIdx = -1
	m.liveVer++
	m.liveSum ^= idHash(mem.id)
}

// entomb makes a live member dead or left.
func (m *Memberlist) entomb(mem *member, st State, inc uint64) {
	m.setNotLive(mem)
	m.setState(mem, st)
	mem.incarnation = inc
	mem.since = m.tick
	mem.setSuspicion(nil)
	m.tombs = append(m.tombs, tomb{mem: mem, at: m.tick})
	m.boundSampleTombs()
	m.compactTombs()
}

// evictOldestTomb forgets the oldest tombstone (counted), skipping stale
// entries of the list; it reports false when there is none.
func (m *Memberlist) evictOldestTomb() bool {
	for m.tombHead < len(m.tombs) {
		t := m.tombs[m.tombHead]
		m.tombs[m.tombHead] = tomb{}
		m.tombHead++
		if !t.mem.removed && !t.mem.state.Live() && t.mem.since == t.at {
			m.stats.TombstonesEvicted++
			m.removeMember(t.mem)
			return true
		}
	}
	return false
}

// probeAdd is one insertion of a new member into the probe order, at
// position pos of the order as it is then.
type probeAdd struct {
	pos int
	mem *member
}

// flushProbeOrder makes the pending insertions. Insertions are deferred
// until the order is read because a full-state exchange (a join) inserts
// thousands of members at once, and making them one by one costs O(n) each:
// at 10,000 members, hours of CPU to bootstrap a simulated group. Many are
// placed at once in O(n log n): taken from the last, each goes to the
// pos-th slot of the final order not taken by a later one (a later
// insertion shifts earlier elements but keeps their order), and the
// members already in the order fill the remaining slots in their order.
// The result is exactly that of the insertions made one by one.
func (m *Memberlist) flushProbeOrder() {
	adds := m.probeAdds
	if len(adds) == 0 {
		return
	}
	if len(adds) <= 16 {
		for _, a := range adds {
			m.probeOrder = slices.Insert(m.probeOrder, a.pos, a.mem)
		}
	} else {
		n := len(m.probeOrder) + len(adds)
		out := make([]*member, n)
		taken := make([]bool, n)
		// Fenwick tree of free slots (1-based), all free at first.
		tree := make([]int32, n+1)
		for i := 1; i <= n; i++ {
			tree[i]++
			if j := i + i&-i; j <= n {
				tree[j] += tree[i]
			}
		}
		top := 1
		for top*2 <= n {
			top *= 2
		}
		for i := len(adds) - 1; i >= 0; i-- {
			// The free slot with a.pos free slots before it.
			k, at := int32(adds[i].pos), 0
			for step := top; step > 0; step /= 2 {
				if next := at + step; next <= n && tree[next] <= k {
					at = next
					k -= tree[next]
				}
			}
			out[at] = adds[i].mem
			taken[at] = true
			for j := at + 1; j <= n; j += j & -j {
				tree[j]--
			}
		}
		j := 0
		for i := range out {
			if !taken[i] {
				out[i] = m.probeOrder[j]
				j++
			}
		}
		m.probeOrder = out
	}
	clear(adds)
	m.probeAdds = adds[:0]
	if cap(adds) > 64 {
		m.probeAdds = nil // a join's worth: do not keep it per member
	}
}

// tomb is one entry of the tombstone list: mem was entombed at tick at.
// The entry is stale (and skipped) once mem is forgotten, live again, or
// entombed anew (mem.since != at).
type tomb struct {
	mem *member
	at  uint64
}

// reap forgets the tombstones older than TombstoneTicks, skipping stale
// entries of the tombstone list.
func (m *Memberlist) reap() {
	for m.tombHead < len(m.tombs) {
		t := m.tombs[m.tombHead]
		valid := !t.mem.removed && !t.mem.state.Live() && t.mem.since == t.at
		if valid && t.at+uint64(m.cfg.TombstoneTicks) > m.tick {
			break
		}
		m.tombs[m.tombHead] = tomb{}
		m.tombHead++
		if valid {
			m.stats.TombstonesReaped++
			m.removeMember(t.mem)
		}
	}
	m.compactTombs()
}

// compactTombs keeps the tombstone list bounded and its dead head short.
func (m *Memberlist) compactTombs() {
	if live := len(m.tombs) - m.tombHead; live > 2*len(m.all)+1024 {
		// A member that flaps (declared dead, then alive again) leaves an
		// invalid entry each time; drop them so the list stays bounded by
		// the member table rather than by the flap rate.
		keep := m.tombs[:0]
		for _, t := range m.tombs[m.tombHead:] {
			if !t.mem.removed && !t.mem.state.Live() && t.mem.since == t.at {
				keep = append(keep, t)
			}
		}
		clear(m.tombs[len(keep):])
		m.tombs, m.tombHead = keep, 0
		return
	}
	if m.tombHead > 32 && m.tombHead*2 > len(m.tombs) {
		n := copy(m.tombs, m.tombs[m.tombHead:])
		clear(m.tombs[n:])
		m.tombs = m.tombs[:n]
		m.tombHead = 0
	}
}
