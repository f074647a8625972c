package attack

import (
	"bufio"
	"context"
	"encoding/binary"
	"math"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
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
		for {
			f := core.NewFrame(nil)
			for k := 0; k < 256; k++ {
				target := h.honest[k%len(h.honest)].ID()
				body := binary.AppendUvarint(nil, seq)
				body = wire.AppendString(body, string(p2p.NodeID(target)))
				body = binary.AppendUvarint(body, math.MaxUint64)
				f = core.AppendRecord(f, membership.RecPingReq, body)
				seq++
			}
			send(f, 256)
			if !pause(200 * time.Millisecond) {
				return
			}
		}
	}
}

// accusations builds one frame of the membership attacks: records about
// every honest member, each signed with the attacker's own key.
func (h *hostile) accusations() ([]byte, int) {
	self := p2p.NodeID(h.self.ID())
	inc := map[peer.ID]uint64{}
	for _, m := range h.self.Members() {
		inc[m.ID] = m.Incarnation
	}
	sign := p2p.MembershipSigner(h.key, h.group)
	f := core.NewFrame(nil)
	n := 0
	add := func(typ uint8, id core.NodeID, inc uint64, accuser core.NodeID) {
		sig, err := sign.SignMembership(membership.AccuseSigningBytes(typ, id, inc, accuser))
		if err != nil {
			return
		}
		body := wire.AppendString(nil, string(id))
		body = binary.AppendUvarint(body, inc)
		body = wire.AppendString(body, string(accuser))
		body = wire.AppendBytes(body, sig)
		f = core.AppendRecord(f, typ, body)
		n++
	}
	for _, v := range h.honest {
		id := p2p.NodeID(v.ID())
		switch h.kind {
		case ForgedDead:
			// At the incarnation the member itself signed last (as the
			// attacker, a member, knows it).
			add(membership.RecSuspect, id, inc[v.ID()], self)
			add(membership.RecDead, id, inc[v.ID()], self)
		case IncOverflow:
			add(membership.RecDead, id, math.MaxUint64, self)
			add(membership.RecDead, id, math.MaxUint64-1, self)
			add(membership.RecSuspect, id, math.MaxUint64, self)
		case Sybil:
			// One genuine suspicion, then "independent" confirmations
			// under the names of the other honest members.
			add(membership.RecSuspect, id, inc[v.ID()], self)
			for _, o := range h.honest {
				if o != v {
					add(membership.RecSuspect, id, inc[v.ID()], p2p.NodeID(o.ID()))
					add(membership.RecDead, id, inc[v.ID()], p2p.NodeID(o.ID()))
				}
			}
		}
	}
	return f, n
}

// keyBomb is a frame holding one IHAVE record of n keys of one origin,
// one byte each on the wire (24 bytes each decoded).
func keyBomb(origin core.NodeID, n int) []byte {
	keys := make([]core.MsgKey, n)
	for i := range keys {
		keys[i] = core.MsgKey{Origin: origin, Seq: uint64(i + 1)}
	}
	return core.AppendKeysRecord(core.NewFrame(nil), core.RecIHave, keys)
}

// floodPerFrame is how many invented origins' messages one frame carries.
const floodPerFrame = 64

// inventOrigins prepares the origin flood: n fresh ed25519 identities,
// one genuine message signed for the group by each.
func (h *hostile) inventOrigins(n, size int) error {
	f := core.NewFrame(nil)
	k := 0
	for i := 0; i < n; i++ {
		sk, err := p2p.GenerateKey()
		if err != nil {
			return err
		}
		pid, err := peer.IDFromPrivateKey(sk)
		if err != nil {
			return err
		}
		m := &core.Message{Origin: p2p.NodeID(pid), Seq: 1, Topic: "t", Timestamp: time.Now().UnixNano(), Payload: make([]byte, size)}
		if m.Auth, err = p2p.MessageSigner(sk, h.group).Sign(m); err != nil {
			return err
		}
		f = core.AppendMessageRecord(f, m)
		if k++; k == floodPerFrame {
			h.flood = append(h.flood, f)
			f, k = core.NewFrame(nil), 0
		}
	}
	if k > 0 {
		h.flood = append(h.flood, f)
	}
	return nil
}

// recorder keeps the genuine messages a member receives, to replay them.
type recorder struct {
	mu   sync.Mutex
	msgs []*core.Message
	keys map[core.MsgKey]bool
}

type recordedFrame struct {
	frame []byte
	n     int
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
	var out []recordedFrame
	for i := 0; i < len(r.msgs); i += 64 {
		f := core.NewFrame(nil)
		j := min(i+64, len(r.msgs))
		for _, m := range r.msgs[i:j] {
			f = core.AppendMessageRecord(f, m)
		}
		out = append(out, recordedFrame{f, j - i})
	}
	return out
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
