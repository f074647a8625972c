package membership

import (
	"hash/maphash"

	"github.com/grapevine-p2p/grapevine/core"
)

// memberIndex maps member IDs to positions in Memberlist.all: an
// open-addressing hash table with linear probing over one pointer-free
// slice of 8-byte slots. A slot holds the high 32 bits of the ID's hash
// (which also pick the slot the probe starts from) and the entry's
// position plus one (0 marks an empty slot), so non-matching slots are
// ruled out without touching their entries. A member list of n entries
// costs 8–16 bytes per entry here, against about 56 for a Go map of string
// keys to pointers; at 10,000 simulated members that each hold 10,000
// entries the difference is several gigabytes. The table is never
// iterated, so its layout (which depends on the per-process hash seed)
// cannot affect any output.
type memberIndex struct {
	seed  maphash.Seed
	slots []uint64 // length a power of two (at most 2^32)
	n     int
}

func (x *memberIndex) tag(id core.NodeID) uint64 { return maphash.String(x.seed, string(id)) >> 32 }

func (x *memberIndex) mask() uint64 { return uint64(len(x.slots) - 1) }

// get returns the entry of id in all, nil if there is none.
func (x *memberIndex) get(all []*member, id core.NodeID) *member {
	if x.n == 0 {
		return nil
	}
	return lookup(x, all, x.tag(id), id)
}

// getBytes is get for an ID still in its encoding (a decoder's alias of a
// frame): it allocates nothing, and the entry found holds the ID as a
// string, so a decoder can take that rather than copy the bytes.
func (x *memberIndex) getBytes(all []*member, id []byte) *member {
	if x.n == 0 {
		return nil
	}
	return lookup(x, all, maphash.Bytes(x.seed, id)>>32, id)
}

// lookup probes for id from the slot its tag t picks (maphash gives a
// string and a byte slice of the same contents the same hash).
func lookup[K core.NodeID | []byte](x *memberIndex, all []*member, t uint64, id K) *member {
	mask := x.mask()
	for i := t & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return nil
		}
		if s>>32 == t {
			if mem := all[uint32(s)-1]; string(mem.id) == string(id) {
				return mem
			}
		}
	}
}

// find returns the slot holding position pos for id.
func (x *memberIndex) find(id core.NodeID, pos int32) uint64 {
	mask := x.mask()
	want := uint64(uint32(pos) + 1)
	for i := x.tag(id) & mask; ; i = (i + 1) & mask {
		if s := x.slots[i]; uint32(s) == uint32(want) {
			return i
		} else if s == 0 {
			panic("grapevine/membership: member index out of sync")
		}
	}
}

// add indexes all[mem.idx] == mem, whose ID is not in the table yet.
func (x *memberIndex) add(all []*member, mem *member) {
	if x.slots == nil {
		x.seed = maphash.MakeSeed()
	}
	x.n++
	if x.n*4 > len(x.slots)*3 {
		x.rebuild(all, max(16, 2*len(x.slots)))
		return
	}
	x.place(x.tag(mem.id), mem.idx)
}

func (x *memberIndex) place(t uint64, pos int32) {
	mask := x.mask()
	i := t & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = t<<32 | uint64(uint32(pos)+1)
}

func (x *memberIndex) rebuild(all []*member, size int) {
	x.slots = make([]uint64, size)
	for _, mem := range all {
		x.place(x.tag(mem.id), mem.idx)
	}
}

// moved records that the entry of id moved from position from to to.
func (x *memberIndex) moved(id core.NodeID, from, to int32) {
	i := x.find(id, from)
	x.slots[i] = x.slots[i]&^0xffffffff | uint64(uint32(to)+1)
}

// del removes the entry of id at position pos (backward-shift deletion: no
// tombstones, so lookups stay short however many members come and go).
func (x *memberIndex) del(id core.NodeID, pos int32) {
	i := x.find(id, pos)
	x.n--
	mask := x.mask()
	// Shift later entries of the probe run back into the hole unless their
	// home slot lies cyclically in (hole, j].
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		home := (x.slots[j] >> 32) & mask
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
}
