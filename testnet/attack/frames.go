package attack

import (
	"encoding/binary"
	"io"
	"math"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// The hostile frames of the protocol attacks, built with core's and
// membership's encoders: the same bytes whether a libp2p host writes them
// (hostile.go) or the simulator delivers them (sim.go).

// accusationFrame is one frame of the membership attacks (ForgedDead,
// IncOverflow, Sybil): records about every victim, each signed with sign,
// the attacker's own key, as accuser self. inc gives the incarnation each
// victim signed last, as the attacker (a member) knows it. It returns the
// frame and its number of records.
func accusationFrame(kind ProtoKind, sign membership.Signer, self core.NodeID, victims []core.NodeID, inc func(core.NodeID) uint64) ([]byte, int) {
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
	for _, id := range victims {
		switch kind {
		case ForgedDead:
			add(membership.RecSuspect, id, inc(id), self)
			add(membership.RecDead, id, inc(id), self)
		case IncOverflow:
			add(membership.RecDead, id, math.MaxUint64, self)
			add(membership.RecDead, id, math.MaxUint64-1, self)
			add(membership.RecSuspect, id, math.MaxUint64, self)
		case Sybil:
			// One genuine suspicion, then "independent" confirmations
			// under the names of the other victims.
			add(membership.RecSuspect, id, inc(id), self)
			for _, o := range victims {
				if o != id {
					add(membership.RecSuspect, id, inc(id), o)
					add(membership.RecDead, id, inc(id), o)
				}
			}
		}
	}
	return f, n
}

// relayFillFrame is 256 ping-reqs for targets (in turn) with nackAfter
// 2^64−1, sequence numbers from seq.
func relayFillFrame(seq uint64, targets []core.NodeID) []byte {
	f := core.NewFrame(nil)
	for k := 0; k < 256; k++ {
		body := binary.AppendUvarint(nil, seq+uint64(k))
		body = wire.AppendString(body, string(targets[k%len(targets)]))
		body = binary.AppendUvarint(body, math.MaxUint64)
		f = core.AppendRecord(f, membership.RecPingReq, body)
	}
	return f
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

// badSigPerFrame is how many forged messages one InvalidSig frame carries.
const badSigPerFrame = 64

// badSigFrame is badSigPerFrame messages claiming the given origins (in
// turn) with sequence numbers from seq, timestamp ts and a signature of
// the right length that verifies for nobody.
func badSigFrame(origins []core.NodeID, seq uint64, ts int64, size int) []byte {
	f := core.NewFrame(nil)
	for k := 0; k < badSigPerFrame; k++ {
		m := &core.Message{Origin: origins[k%len(origins)], Seq: seq + uint64(k), Topic: "t", Timestamp: ts,
			Payload: make([]byte, size), Auth: make([]byte, 64)}
		f = core.AppendMessageRecord(f, m)
	}
	return f
}

// floodPerFrame is how many invented origins' messages one frame carries.
const floodPerFrame = 64

// inventedOrigins is the origin flood: n fresh ed25519 identities (from
// rnd), one genuine message of each signed for group at ts, floodPerFrame
// messages a frame.
func inventedOrigins(n, size int, group string, ts int64, rnd io.Reader) ([][]byte, error) {
	var frames [][]byte
	f := core.NewFrame(nil)
	k := 0
	for i := 0; i < n; i++ {
		sk, _, err := crypto.GenerateEd25519Key(rnd)
		if err != nil {
			return nil, err
		}
		pid, err := peer.IDFromPrivateKey(sk)
		if err != nil {
			return nil, err
		}
		m := &core.Message{Origin: p2p.NodeID(pid), Seq: 1, Topic: "t", Timestamp: ts, Payload: make([]byte, size)}
		if m.Auth, err = p2p.MessageSigner(sk, group).Sign(m); err != nil {
			return nil, err
		}
		f = core.AppendMessageRecord(f, m)
		if k++; k == floodPerFrame {
			frames = append(frames, f)
			f, k = core.NewFrame(nil), 0
		}
	}
	if k > 0 {
		frames = append(frames, f)
	}
	return frames, nil
}

// recordedFrame is a frame of recorded messages and how many it holds.
type recordedFrame struct {
	frame []byte
	n     int
}

// messageFrames encodes msgs, 64 messages a frame.
func messageFrames(msgs []*core.Message) []recordedFrame {
	var out []recordedFrame
	for i := 0; i < len(msgs); i += 64 {
		f := core.NewFrame(nil)
		j := min(i+64, len(msgs))
		for _, m := range msgs[i:j] {
			f = core.AppendMessageRecord(f, m)
		}
		out = append(out, recordedFrame{f, j - i})
	}
	return out
}
