package core

import "slices"

type want struct {
	key        MsgKey
	announcers []NodeID
	next       int
	deadline   uint64
	done       bool
}

const maxAnnouncers = 4

func (e *Engine) onIHave(from NodeID, keys []MsgKey) {
	for _, k := range keys {
		if e.Has(k) {
			continue
		}
		if w := e.wants[k]; w != nil {
			if len(w.announcers) < maxAnnouncers && !slices.Contains(w.announcers, from) {
				w.announcers = append(w.announcers, from)
			}
			continue
		}
		if len(e.wants) >= e.cfg.MaxPendingWants {
			e.stats.WantsDropped++
			continue
		}
		w := &want{key: k, announcers: []NodeID{from}, next: 1, deadline: e.ticks + uint64(e.cfg.IWantTimeout)}
		if e.cfg.IWantDelay > 0 {
			// Plumtree's timer: the body may be on its way already.
			w.next, w.deadline = 0, e.ticks+uint64(e.cfg.IWantDelay)
		}
		if e.wants == nil {
			e.wants = make(map[MsgKey]*want)
		}
		e.wants[k] = w
		e.stateVer++
		e.wantList = append(e.wantList, w)
		if w.next == 1 {
			e.sendIWant(from, k)
		}
	}
}

func (e *Engine) onIWant(from NodeID, keys []MsgKey) {
	for _, k := range keys {
		if en := e.store[k]; en != nil && !en.gone {
			if e.sendBody(from, en) {
				e.stats.IWantAnswered++
			}
		}
	}
}

func (e *Engine) expireWants() {
	if len(e.wantList) == 0 {
		return
	}
	keep := e.wantList[:0]
	for _, w := range e.wantList {
		if w.done {
			continue
		}
		if w.deadline <= e.ticks {
			if w.next < len(w.announcers) {
				to := w.announcers[w.next]
				w.next++
				w.deadline = e.ticks + uint64(e.cfg.IWantTimeout)
				e.sendIWant(to, w.key)
			} else {
				e.stats.WantsExpired++
				delete(e.wants, w.key)
				e.stateVer++
				continue
			}
		}
		keep = append(keep, w)
	}
	clear(e.wantList[len(keep):])
	e.wantList = keep
	if len(keep) == 0 {
		e.wantList, e.wants = nil, nil
	}
}

func (e *Engine) sendIHave(to NodeID, k MsgKey) {
	if !e.charge(to, len(k.Origin)+4) {
		return
	}
	f := e.frameFor(to)
	f.ihave = append(f.ihave, k)
	e.stats.IHavesSent++
}

func (e *Engine) sendIWant(to NodeID, k MsgKey) {
	f := e.frameFor(to)
	f.iwant = append(f.iwant, k)
	e.stats.IWantsSent++
}
