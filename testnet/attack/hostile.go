package attack

import (
	"bufio"
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/libp2p/go-libp2p/core/network"
)

// run attacks until ctx ends.
func (h *hostile) run(ctx context.Context, cfg ProtoConfig) {
	if h.kind == PublishSpam {
		// Genuine messages at ten times the honest rate, through the
		// member's own Publish.
		// Paced by count, not by sleeps (which overshoot at 2 ms).
		rate := 10 * max(cfg.Rate, 1)
		payload := make([]byte, cfg.Size)
		t0, sent := time.Now(), 0
		for ctx.Err() == nil {
			for due := int(time.Since(t0) * time.Duration(rate) / time.Second); sent < due; sent++ {
				if h.self.Publish(ctx, "t", payload) == nil {
					h.records.Add(1)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		return
	}
	if h.kind == Quiet {
		<-ctx.Done()
		return
	}
	gp, _ := p2p.Protocols(h.group)
	streams := make([]network.Stream, len(h.honest))
	defer func() {
		for _, s := range streams {
			if s != nil {
				s.Reset()
			}
		}
	}()
	// send writes one frame to every honest peer, on a gossip stream of
	// the attacker's host (opened again when the last one failed: the
	// peer's own transport may replace it, and a penalty resets it).
	send := func(frame []byte, records int) {
		buf := core.AppendLengthPrefixed(nil, frame)
		for i, v := range h.honest {
			if streams[i] == nil {
				sctx, cancel := context.WithTimeout(ctx, time.Second)
				s, err := h.self.Host().NewStream(sctx, v.ID(), gp)
				cancel()
				if err != nil {
					h.failed.Add(1)
					continue
				}
				streams[i] = s
			}
			streams[i].SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := streams[i].Write(buf); err != nil {
				streams[i].Reset()
				streams[i] = nil
				h.failed.Add(1)
				continue
			}
			h.frames.Add(1)
			h.records.Add(int64(records))
		}
	}
	pause := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	switch h.kind {
	case ForgedDead, IncOverflow, Sybil:
		for {
			f, n := h.accusations()
			send(f, n)
			if !pause(50 * time.Millisecond) {
				return
			}
		}
	case Replay, CrossGroup:
		// Every 250 ms, everything recorded so far: at first duplicates
		// (inside the seen window), later messages whose seen-state the
		// honest peers forgot (outside it).
		for {
			for _, f := range h.rec.frames() {
				send(f.frame, f.n)
			}
			if !pause(250 * time.Millisecond) {
				return
			}
		}
	case OriginFlood:
		// The invented origins over the first half of the attack, then
		// again (duplicates) until it ends.
		gap := cfg.Duration / 2 / time.Duration(max(len(h.flood), 1))
		for {
			for _, f := range h.flood {
				send(f, floodPerFrame)
				if !pause(gap) {
					return
				}
			}
		}
	case InvalidSig:
		// Messages of the honest members with signatures that verify for
		// nobody, every 50 ms.
		origins := make([]core.NodeID, len(h.honest))
		for i, v := range h.honest {
			origins[i] = p2p.NodeID(v.ID())
		}
		seq := uint64(1 << 40)
		for {
			send(badSigFrame(origins, seq, time.Now().UnixNano(), 64), badSigPerFrame)
			seq += badSigPerFrame
			if !pause(50 * time.Millisecond) {
				return
			}
		}
	case KeyBomb:
		// 256 KiB a frame: every 100 ms, so that the machine running
		// every peer is not busy encrypting bombs.
		f := keyBomb(p2p.NodeID(h.self.ID()), core.DefaultLimits().MaxKeys+1)
		for {
			send(f, 1)
			if !pause(100 * time.Millisecond) {
				return
			}
		}
	case RelayFill:
		seq := uint64(1 << 40)
		targets := make([]core.NodeID, len(h.honest))
		for i, v := range h.honest {
			targets[i] = p2p.NodeID(v.ID())
		}
		for {
			send(relayFillFrame(seq, targets), 256)
			seq += 256
			if !pause(200 * time.Millisecond) {
				return
			}
		}
	}
}

// accusations builds one frame of the membership attacks about every
// honest member, at the incarnations the attacker's own view holds.
func (h *hostile) accusations() ([]byte, int) {
	inc := map[core.NodeID]uint64{}
	for _, m := range h.self.Members() {
		inc[p2p.NodeID(m.ID)] = m.Incarnation
	}
	victims := make([]core.NodeID, len(h.honest))
	for i, v := range h.honest {
		victims[i] = p2p.NodeID(v.ID())
	}
	return accusationFrame(h.kind, p2p.MembershipSigner(h.key, h.group), p2p.NodeID(h.self.ID()), victims,
		func(id core.NodeID) uint64 { return inc[id] })
}

// inventOrigins prepares the origin flood.
func (h *hostile) inventOrigins(n, size int) (err error) {
	h.flood, err = inventedOrigins(n, size, h.group, time.Now().UnixNano(), rand.Reader)
	return err
}

// recorder keeps the genuine messages a member receives, to replay them.
type recorder struct {
	mu   sync.Mutex
	msgs []*core.Message
	keys map[core.MsgKey]bool
}

func (r *recorder) add(m *core.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.keys[m.Key()] {
		r.keys[m.Key()] = true
		r.msgs = append(r.msgs, m.Clone())
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// frames encodes everything recorded, 64 messages a frame.
func (r *recorder) frames() []recordedFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return messageFrames(r.msgs)
}

// record makes member p a recorder: its host reads the gossip frames sent
// to it itself and keeps their messages (the member's engine no longer
// sees them; membership, on its own protocol, goes on).
func record(p *p2p.Peer) *recorder {
	r := &recorder{keys: map[core.MsgKey]bool{}}
	gp, _ := p2p.Protocols(p.Group())
	p.Host().SetStreamHandler(gp, func(s network.Stream) {
		defer s.Reset()
		br := bufio.NewReader(s)
		for {
			raw, err := core.ReadFrame(br, 8<<20)
			if err != nil {
				return
			}
			f, err := core.DecodeFrame(raw, core.DefaultLimits())
			if err != nil {
				continue
			}
			for _, m := range f.Messages {
				r.add(m)
			}
			for _, t := range f.Tree {
				r.add(t.Msg)
			}
		}
	})
	for _, c := range p.Host().Network().Conns() {
		for _, s := range c.GetStreams() {
			if s.Protocol() == gp && s.Stat().Direction == network.DirInbound {
				s.Reset()
			}
		}
	}
	return r
}
