package core

// The message store: what pull requests and IWANTs are answered from, and
// the hot set pushed each round. Bounded by MaxStoreMessages, MaxStoreBytes
// (oldest evicted first) and StoreTTL.

// storeEntry is one stored message and its push state.
type storeEntry struct {
	msg        *Message
	origin     *originState // its origin's seen-state when stored (may be evicted since)
	size       int          // encoded record size (type, length, body)
	recvTick   uint64
	expire     uint64
	roundsLeft int  // push rounds still to run
	gone       bool // evicted or expired
	inHot      bool // listed in Engine.hot
	lazy       bool // payload above LazyThreshold: announced (IHAVE) rather than pushed
	treeDone   bool // forwarded along a tree push already
	// served counts, per peer, the IWANTs for this body answered
	// (lazy.go; nil until the first), at most maxServedPeers peers.
	served map[NodeID]uint8
}

// expireStore drops the messages whose StoreTTL has passed.
func (e *Engine) expireStore() {
	for e.storeHead < len(e.storeOrder) {
		en := e.storeOrder[e.storeHead]
		if !en.gone {
			if en.expire > e.ticks {
				break
			}
			e.stats.StoreExpired++
			e.storeDrop(en)
		}
		e.storeOrder[e.storeHead] = nil
		e.storeHead++
	}
	e.compactStoreOrder()
}

// compactStoreOrder reclaims the consumed prefix of storeOrder once it is
// more than half of it.
func (e *Engine) compactStoreOrder() {
	if e.storeHead > 32 && e.storeHead*2 > len(e.storeOrder) {
		n := copy(e.storeOrder, e.storeOrder[e.storeHead:])
		clear(e.storeOrder[n:])
		e.storeOrder = e.storeOrder[:n]
		e.storeHead = 0
	}
	if len(e.storeOrder) == 0 {
		e.storeOrder, e.storeHead = nil, 0
	}
}

// storePut stores en under key, evicting the oldest entries beyond
// MaxStoreMessages or MaxStoreBytes.
func (e *Engine) storePut(key MsgKey, en *storeEntry, o *originState) {
	if e.store == nil {
		e.store = make(map[MsgKey]*storeEntry)
	}
	e.store[key] = en
	e.storeOrder = append(e.storeOrder, en)
	e.storeBytes += len(en.msg.Payload)
	o.storedMsgs++
	for len(e.store) > e.cfg.MaxStoreMessages || e.storeBytes > e.cfg.MaxStoreBytes {
		old := e.storeOrder[e.storeHead]
		e.storeOrder[e.storeHead] = nil
		e.storeHead++
		if old.gone {
			continue
		}
		e.stats.StoreEvicted++
		e.storeDrop(old)
	}
	e.compactStoreOrder()
}

// storeDrop removes en from the store (evicted or expired).
func (e *Engine) storeDrop(en *storeEntry) {
	en.gone = true
	en.served = nil
	k := en.msg.Key()
	delete(e.store, k)
	e.storeBytes -= len(en.msg.Payload)
	// Uncharge the origin record the entry was charged to, which may have
	// been evicted and recreated since: the current record never counted it.
	en.origin.storedMsgs--
	if len(e.store) == 0 {
		e.store = nil
	}
}
