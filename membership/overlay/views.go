package overlay

import "github.com/grapevine-p2p/grapevine/core"

// The two views are small slices (ActiveMax and PassiveMax entries), so
// membership tests are linear scans: no maps, nothing per node grows with n.

func (o *Overlay) activeIndex(id core.NodeID) int {
	for i := range o.active {
		if o.active[i].id == id {
			return i
		}
	}
	return -1
}

func (o *Overlay) passiveIndex(id core.NodeID) int {
	for i, p := range o.passive {
		if p == id {
			return i
		}
	}
	return -1
}

func (o *Overlay) pendingIndex(id core.NodeID) int {
	for i := range o.pending {
		if o.pending[i].id == id {
			return i
		}
	}
	return -1
}

// admissible reports whether id may enter a view at all.
func (o *Overlay) admissible(id core.NodeID) bool {
	if id == o.self || id == "" {
		o.stats.SelfDropped++
		return false
	}
	if o.cfg.Accept != nil && !o.cfg.Accept(id) {
		o.stats.Rejected++
		return false
	}
	return true
}

// belowAim reports whether the active view is below its target.
func (o *Overlay) belowAim() bool { return len(o.active) < o.Target() }

// full reports whether the active view has no room left: its target plus
// ActiveSlack, at most ActiveMax.
func (o *Overlay) full() bool {
	return len(o.active) >= min(o.cfg.ActiveMax, o.Target()+o.cfg.ActiveSlack)
}

// addActive puts id in the active view. If the view is full it evicts a
// random neighbour (DISCONNECT, moved to the passive view) when evict is
// set and this tick's eviction budget allows, and otherwise refuses. It
// reports whether id is active afterwards.
func (o *Overlay) addActive(id core.NodeID, evict bool) bool {
	if o.activeIndex(id) >= 0 {
		return true
	}
	if !o.admissible(id) {
		return false
	}
	for o.full() || len(o.active) >= o.cfg.ActiveMax {
		if !evict || o.evictionsThisTick >= o.cfg.EvictionsPerTick {
			o.stats.AddRefused++
			if evict {
				o.stats.EvictionsDenied++
			}
			return false
		}
		o.evictionsThisTick++
		o.evict(o.rng.IntN(len(o.active)))
	}
	o.removePassive(id)
	o.removePending(id)
	o.active = append(o.active, peer{id: id, heard: o.now, pinged: o.now, second: o.self > id})
	o.stats.NeighborUp++
	if o.cfg.OnUp != nil {
		o.cfg.OnUp(id)
	}
	return true
}

// evict drops the neighbour at index i with a DISCONNECT and keeps it as a
// passive entry.
func (o *Overlay) evict(i int) {
	victim := o.active[i].id
	o.emit(victim, disconnect)
	o.removeActive(i, Evicted)
	o.addPassive(victim, nil)
}

// removeActive drops the neighbour at index i and reports it.
func (o *Overlay) removeActive(i int, why Reason) {
	id := o.active[i].id
	o.resetBackoff()
	last := len(o.active) - 1
	o.active[i] = o.active[last]
	o.active[last] = peer{}
	o.active = o.active[:last]
	o.stats.NeighborDown++
	switch why {
	case Failed:
		o.stats.Failures++
	case Evicted:
		o.stats.Evictions++
	}
	if o.cfg.OnDown != nil {
		o.cfg.OnDown(id, why)
	}
}

// addPassive puts id in the passive view unless it is self, active or
// already there. A full view evicts first an entry of preferEvict (the IDs
// just sent to a shuffle partner, which now holds them), else a random one.
func (o *Overlay) addPassive(id core.NodeID, preferEvict *[]core.NodeID) {
	if o.activeIndex(id) >= 0 || o.passiveIndex(id) >= 0 || !o.admissible(id) {
		return
	}
	if len(o.passive) >= o.cfg.PassiveMax {
		i := -1
		if preferEvict != nil {
			for len(*preferEvict) > 0 && i < 0 {
				s := *preferEvict
				i = o.passiveIndex(s[len(s)-1])
				*preferEvict = s[:len(s)-1]
			}
		}
		if i < 0 {
			i = o.rng.IntN(len(o.passive))
		}
		o.removePassiveAt(i)
		o.stats.PassiveEvicted++
	}
	o.passive = append(o.passive, id)
}

func (o *Overlay) removePassive(id core.NodeID) {
	if i := o.passiveIndex(id); i >= 0 {
		o.removePassiveAt(i)
	}
}

func (o *Overlay) removePassiveAt(i int) {
	last := len(o.passive) - 1
	o.passive[i] = o.passive[last]
	o.passive[last] = ""
	o.passive = o.passive[:last]
}

func (o *Overlay) removePending(id core.NodeID) bool {
	_, ok := o.takePending(id)
	return ok
}

// takePending removes and returns the request in flight to id.
func (o *Overlay) takePending(id core.NodeID) (request, bool) {
	i := o.pendingIndex(id)
	if i < 0 {
		return request{}, false
	}
	r := o.pending[i]
	last := len(o.pending) - 1
	o.pending[i] = o.pending[last]
	o.pending[last] = request{}
	o.pending = o.pending[:last]
	return r, true
}

// randomActive returns a random neighbour other than the excluded ones, or
// "" if there is none.
func (o *Overlay) randomActive(not1, not2 core.NodeID) core.NodeID {
	n := len(o.active)
	if n == 0 {
		return ""
	}
	start := o.rng.IntN(n)
	for k := 0; k < n; k++ {
		id := o.active[(start+k)%n].id
		if id != not1 && id != not2 {
			return id
		}
	}
	return ""
}

// sampleActive and samplePassive append up to k distinct random entries.
func (o *Overlay) sampleActive(dst []core.NodeID, k int) []core.NodeID {
	return core.SampleDistinct(dst, k, len(o.active), o.rng, func(i int) core.NodeID { return o.active[i].id })
}

func (o *Overlay) samplePassive(dst []core.NodeID, k int) []core.NodeID {
	return core.SampleDistinct(dst, k, len(o.passive), o.rng, func(i int) core.NodeID { return o.passive[i] })
}
