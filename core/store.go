package core

type entry struct {
	msg        *Message
	o          *origin // its origin's seen-state when stored (may be evicted since)
	size       int     // encoded record size (type, length, body)
	recvTick   uint64
	expire     uint64
	roundsLeft int
	gone       bool // evicted or expired
	inHot      bool
	lazy       bool
	treeDone   bool // forwarded along a tree push already
}

func (e *Engine) expireStore() {
	for e.orderHead < len(e.order) {
		en := e.order[e.orderHead]
		if !en.gone {
			if en.expire > e.ticks {
				break
			}
			e.stats.StoreExpired++
			e.storeDrop(en)
		}
		e.order[e.orderHead] = nil
		e.orderHead++
	}
	e.compactOrder()
}

func (e *Engine) compactOrder() {
	if e.orderHead > 32 && e.orderHead*2 > len(e.order) {
		n := copy(e.order, e.order[e.orderHead:])
		clear(e.order[n:])
		e.order = e.order[:n]
		e.orderHead = 0
	}
	if len(e.order) == 0 {
		e.order, e.orderHead = nil, 0
	}
}

func (e *Engine) storePut(key MsgKey, en *entry, o *origin) {
	if e.store == nil {
		e.store = make(map[MsgKey]*entry)
	}
	e.store[key] = en
	e.order = append(e.order, en)
	e.storeBytes += len(en.msg.Payload)
	o.storedMsgs++
	for len(e.store) > e.cfg.MaxStoreMessages || e.storeBytes > e.cfg.MaxStoreBytes {
		old := e.order[e.orderHead]
		e.order[e.orderHead] = nil
		e.orderHead++
		if old.gone {
			continue
		}
		e.stats.StoreEvicted++
		e.storeDrop(old)
	}
	e.compactOrder()
}

func (e *Engine) storeDrop(en *entry) {
	en.gone = true
	k := en.msg.Key()
	delete(e.store, k)
	e.storeBytes -= len(en.msg.Payload)
	if o := e.origins[k.Origin]; o != nil {
		o.storedMsgs--
	}
	if len(e.store) == 0 {
		e.store = nil
	}
}
