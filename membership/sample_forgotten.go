package membership

import "github.com/grapevine-p2p/grapevine/core"

// forgottenIncs remembers, for the members a sampled list forgot in the
// last forgottenTicks (trimSample), the incarnation each was forgotten at.
// Without it an accusation about a forgotten member could not be told from
// a fresh one: a suspicion the member had refuted before it was forgotten,
// still relayed by members that missed the refutation, came back as a
// ghost at the old incarnation and suspected a live member again. With it,
// such an accusation is stale (Stats.SampleGhostsStale). It holds at most
// MemberSample entries, the oldest dropped first when more are forgotten
// within forgottenTicks (Stats.SampleForgottenDropped); in a settled group,
// where members are seldom forgotten, it is mostly empty.
type forgottenIncs struct {
	inc   map[core.NodeID]uint64
	queue []forgottenAt // in the order noted; queue[head:] are remembered
	head  int
}

type forgottenAt struct {
	id   core.NodeID
	tick uint64
}

// forgottenTicks is how long a forgotten member's incarnation is
// remembered (1 minute at 100 ms ticks): far longer than an accusation is
// relayed (RetransmitMult times the logarithm of the list's size
// piggybacks, a few protocol periods).
const forgottenTicks = 600

// note remembers that id was forgotten at incarnation inc at tick now; it
// reports whether an entry younger than forgottenTicks was dropped to
// stay within capacity.
func (f *forgottenIncs) note(id core.NodeID, inc, now uint64, capacity int) (dropped bool) {
	for f.head < len(f.queue) && f.queue[f.head].tick+forgottenTicks <= now {
		f.pop()
	}
	if f.inc == nil {
		f.inc = make(map[core.NodeID]uint64)
	}
	if old, ok := f.inc[id]; ok {
		// Still remembered: keep its place (the first forgetting's tick).
		f.inc[id] = max(old, inc)
		return false
	}
	if len(f.queue)-f.head >= capacity {
		f.pop()
		dropped = true
	}
	f.queue = append(f.queue, forgottenAt{id: id, tick: now})
	f.inc[id] = inc
	return dropped
}

// pop forgets the oldest entry, and compacts the queue once half of it is
// spent.
func (f *forgottenIncs) pop() {
	delete(f.inc, f.queue[f.head].id)
	f.queue[f.head] = forgottenAt{}
	f.head++
	if f.head == len(f.queue) {
		f.queue, f.head = f.queue[:0], 0
	} else if f.head > len(f.queue)/2 {
		n := copy(f.queue, f.queue[f.head:])
		clear(f.queue[n:])
		f.queue, f.head = f.queue[:n], 0
	}
}

// newerThan reports whether id was forgotten at an incarnation above inc
// (within forgottenTicks before the last note).
func (f *forgottenIncs) newerThan(id core.NodeID, inc uint64) bool {
	known, ok := f.inc[id]
	return ok && known > inc
}

// forget removes sampled member mem from the list, remembering the
// incarnation it was at unless that is 0: no accusation is older than
// incarnation 0, and most forgotten members (those of a join wave) are
// at it, so the memory stays nearly empty (at n = 1,000 in stackexp,
// remembering every forgotten member cost 16 KiB of each node's 59).
func (m *Memberlist) forget(mem *member) {
	if mem.incarnation > 0 && m.forgotten.note(mem.id, mem.incarnation, m.tick, m.cfg.MemberSample) {
		m.stats.SampleForgottenDropped++
	}
	m.stats.SampleEvicted++
	m.removeMember(mem)
}
