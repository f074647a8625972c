package membership

import "github.com/grapevine-p2p/grapevine/core"

// gossip sends queued updates to GossipNodes random live members.
func (m *Memberlist) gossip() {
	if m.queue.len() == 0 {
		return
	}
	for _, to := range m.sample(m.cfg.GossipNodes, nil) {
		if m.queue.len() == 0 {
			break
		}
		f, n := m.fill(m.newFrame(), m.cfg.MaxPacketSize-1, to, to)
		if n > 0 {
			m.stats.GossipsSent++
			m.transmit(to, f)
		}
	}
}

// newFrame starts a frame of queued updates: in a buffer from the
// Transport's FrameBuffers if it has them (these frames, each in a fresh
// buffer, were about 6 % of a group of 300's allocations after a crash:
// docs/benchmarks/ladder.md, session 34), else in a fresh one. A frame
// handed to the Transport is not touched again.
func (m *Memberlist) newFrame() []byte {
	if m.bufs != nil {
		return core.NewFrame(m.bufs.FrameBuffer(m.cfg.MaxPacketSize))
	}
	return core.NewFrame(nil)
}

// enqueueSelfAlive queues this member's current alive update.
func (m *Memberlist) enqueueSelfAlive() {
	s := m.self
	m.enqueueAlive(s, StateAlive)
}

// enqueue queues an update about id for dissemination.
func (m *Memberlist) enqueue(id core.NodeID, typ uint8, rec []byte) {
	m.stats.UpdatesQueued++
	m.stats.UpdatesDropped += uint64(m.queue.push(id, typ, rec, m.cfg.MaxQueuedUpdates, m.tick))
}

// Piggyback implements core.Piggybacker: it appends queued updates (at most
// room bytes, and at most MaxPacketSize) to a frame another layer sends to
// peer to. A suspicion about to itself goes first.
func (m *Memberlist) Piggyback(to core.NodeID, frame []byte, room int) []byte {
	room = min(room, m.cfg.MaxPacketSize)
	frame, room = m.appendSelfAnnounce(to, frame, room) // a new member's own alive (self_announce.go)
	frame, _ = m.fill(frame, room, to, to)
	return frame
}

// fill appends up to room bytes of queued updates to frame, a frame for
// member to, under Lifeguard a suspicion about buddy first (the buddy
// system); it returns how many.
func (m *Memberlist) fill(frame []byte, room int, buddy, to core.NodeID) ([]byte, int) {
	if m.queue.len() == 0 {
		return frame, 0
	}
	var prefer core.NodeID
	if m.cfg.Lifeguard {
		prefer = buddy
	}
	frame, n := m.queue.fill(frame, room, RetransmitLimit(m.cfg.RetransmitMult, m.Size()), prefer, RecSuspect, to)
	m.stats.UpdatesSent += uint64(n)
	return frame, n
}

// send adds piggybacked updates to frame (the buddy system prefers news
// about buddy) and transmits it.
func (m *Memberlist) send(to core.NodeID, frame []byte, buddy core.NodeID) {
	if m.sampling() {
		// a sampled list's members announce themselves on their own
		// frames too (sample.go)
		frame, _ = m.appendSelfAnnounce(to, frame, m.cfg.MaxPacketSize-len(frame))
	}
	frame, _ = m.fill(frame, m.cfg.MaxPacketSize-len(frame), buddy, to)
	m.transmit(to, frame)
}

// transmit hands frame to the transport as it is.
func (m *Memberlist) transmit(to core.NodeID, frame []byte) {
	m.stats.FramesSent++
	m.stats.BytesSent += uint64(len(frame))
	m.cfg.Transport.Send(to, frame)
}

// sample returns up to k distinct live members other than skip (live
// neighbours when Config.Neighbors is set).
func (m *Memberlist) sample(k int, skip *member) []core.NodeID {
	if m.cfg.Neighbors != nil {
		m.sampleBuf = m.sampleNeighbors(m.sampleBuf[:0], k, skip)
		return m.sampleBuf
	}
	want := k
	if skip != nil && skip.liveIdx >= 0 {
		want++
	}
	m.sampleBuf = m.Sample(m.sampleBuf[:0], want)
	out := m.sampleBuf[:0]
	for _, id := range m.sampleBuf {
		if skip != nil && id == skip.id {
			continue
		}
		out = append(out, id)
	}
	if len(out) > k {
		out = out[:k]
	}
	return out
}
