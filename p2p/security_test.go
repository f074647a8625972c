package p2p

import (
	"bytes"
	"context"
	"encoding/binary"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// rogue is a bare libp2p host that writes hand-made frames to a peer's
// gossip stream.
func rogue(t *testing.T, target *Peer) (host.Host, func(frame []byte)) {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.Connect(ctx, peer.AddrInfo{ID: target.ID(), Addrs: target.Host().Addrs()}); err != nil {
		t.Fatal(err)
	}
	gp, _ := Protocols(target.Group())
	s, err := h.NewStream(ctx, target.ID(), gp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Reset() })
	return h, func(frame []byte) {
		if _, err := s.Write(core.AppendLengthPrefixed(nil, frame)); err != nil {
			t.Fatal(err)
		}
	}
}

func signedMessage(t *testing.T, sk crypto.PrivKey, seq uint64, payload string) *core.Message {
	t.Helper()
	pid, _ := peer.IDFromPrivateKey(sk)
	m := &core.Message{Origin: NodeID(pid), Seq: seq, Topic: "t", Timestamp: time.Now().UnixNano(), Payload: []byte(payload)}
	auth, err := newSigner(sk, "default").Sign(m)
	if err != nil {
		t.Fatal(err)
	}
	m.Auth = auth
	return m
}

func frameOf(ms ...*core.Message) []byte {
	f := core.NewFrame(nil)
	for _, m := range ms {
		f = core.AppendMessageRecord(f, m)
	}
	return f
}

// expectOnly reads the subscription until quiet and checks exactly want
// arrived, in any order, each once.
func expectOnly(t *testing.T, s *Subscription, want ...string) {
	t.Helper()
	got := map[string]int{}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		m, err := s.Next(ctx)
		cancel()
		if err != nil {
			break
		}
		got[string(m.Data)]++
	}
	for _, w := range want {
		if got[w] != 1 {
			t.Errorf("%q delivered %d times, want once", w, got[w])
		}
		delete(got, w)
	}
	for k, n := range got {
		t.Errorf("unexpected delivery %q (%d times)", k, n)
	}
}

// TestForgedMessages: messages with no signature, a signature by another
// key, an altered payload, or an origin that is not an ed25519 peer ID are
// dropped and counted, never delivered; a genuine one in the same frame is.
func TestForgedMessages(t *testing.T) {
	peers := startPeers(t, 1, false, withoutOriginCheck()) // alice is not a member (origins.go)
	victim := peers[0]
	sub, _ := victim.Subscribe("t")
	_, send := rogue(t, victim)

	alice, _ := GenerateKey()
	mallory, _ := GenerateKey()

	unsigned := signedMessage(t, alice, 1, "unsigned")
	unsigned.Auth = nil

	wrongKey := signedMessage(t, mallory, 2, "wrong key")
	alicePID, _ := peer.IDFromPrivateKey(alice)
	wrongKey.Origin = NodeID(alicePID) // claims alice, signed by mallory

	altered := signedMessage(t, alice, 3, "original")
	altered.Payload = []byte("altered!")

	retimed := signedMessage(t, alice, 4, "retimed")
	retimed.Timestamp++

	badOrigin := signedMessage(t, alice, 5, "bad origin")
	badOrigin.Origin = "not-a-peer-id"

	genuine := signedMessage(t, alice, 6, "genuine")

	send(frameOf(unsigned, wrongKey, altered, retimed, badOrigin, genuine))
	expectOnly(t, sub, "genuine")
	if st := victim.Stats(); st.Invalid != 5 || st.Engine.Invalid != 5 {
		t.Fatalf("invalid counted %d (engine %d), want 5", st.Invalid, st.Engine.Invalid)
	}
}

// TestReplayedMessages: a genuine message sent again (same frame, later
// frames, other streams) is delivered once and counted as a duplicate.
func TestReplayedMessages(t *testing.T) {
	peers := startPeers(t, 1, false, withoutOriginCheck())
	victim := peers[0]
	sub, _ := victim.Subscribe("t")
	_, send := rogue(t, victim)
	_, send2 := rogue(t, victim)
	alice, _ := GenerateKey()
	m1 := signedMessage(t, alice, 100, "one")
	m2 := signedMessage(t, alice, 101, "two")
	send(frameOf(m1, m1))
	send(frameOf(m1, m2))
	send2(frameOf(m2, m1))
	expectOnly(t, sub, "one", "two")
	if st := victim.Stats(); st.Engine.Duplicates < 4 {
		t.Fatalf("duplicates %d, want at least 4", st.Engine.Duplicates)
	}
}

// TestRestartNotMistakenForReplay: a peer restarted with the same key
// publishes with higher sequence numbers, so its new messages are not
// taken for ones already seen.
func TestRestartNotMistakenForReplay(t *testing.T) {
	peers := startPeers(t, 1, false)
	b := peers[0]
	sub, _ := b.Subscribe("t")
	sk, _ := GenerateKey()
	seed := b.Addrs()[0].String()
	start := func() *Peer {
		p, err := New(context.Background(), WithIdentity(sk), WithListenAddrs("/ip4/127.0.0.1/tcp/0"),
			WithDHT(false), WithSeeds(seed), WithProfile(ProfileLocal), WithNotice(func(string) {}))
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "join", func() bool { return alive(p) == 2 })
		return p
	}
	a := start()
	k1, err := a.PublishKey(context.Background(), "t", []byte("before restart"))
	if err != nil {
		t.Fatal(err)
	}
	expectOnly(t, sub, "before restart")
	a.Close()
	a = start()
	defer a.Close()
	k2, err := a.PublishKey(context.Background(), "t", []byte("after restart"))
	if err != nil {
		t.Fatal(err)
	}
	if k2.Seq <= k1.Seq {
		t.Fatalf("sequence numbers did not grow across restart: %d then %d", k1.Seq, k2.Seq)
	}
	expectOnly(t, sub, "after restart")
}

// TestMembershipSignatures: the hooks wired into membership accept a
// member's own alive/leave update only with that member's signature.
func TestMembershipSignatures(t *testing.T) {
	alice, _ := GenerateKey()
	mallory, _ := GenerateKey()
	pid, _ := peer.IDFromPrivateKey(alice)
	id := NodeID(pid)
	msg := []byte("alive bytes")
	verifyMember := memberVerifier("default")
	sign := func(sk crypto.PrivKey) []byte {
		s, err := sk.Sign(append([]byte(sigDomain(memberSigKind, "default")), msg...))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if err := verifyMember(id, msg, sign(alice)); err != nil {
		t.Fatalf("genuine signature rejected: %v", err)
	}
	if err := verifyMember(id, msg, sign(mallory)); err == nil {
		t.Fatal("signature by another key accepted")
	}
	if err := verifyMember(id, []byte("other bytes"), sign(alice)); err == nil {
		t.Fatal("signature over other bytes accepted")
	}
	// A message signature is not a membership signature (domain separation).
	m := signedMessage(t, alice, 1, "x")
	if err := verifyMember(id, msg, m.Auth); err == nil {
		t.Fatal("message signature accepted as membership signature")
	}
	if err := verifyMember("junk", msg, sign(alice)); err == nil {
		t.Fatal("non-peer-ID member accepted")
	}
	// A membership signature made for another group is not accepted.
	if err := memberVerifier("other")(id, msg, sign(alice)); err == nil {
		t.Fatal("membership signature of group default accepted in group other")
	}
}

// TestCrossGroupReplay: a genuine message signed for group "a" is dropped
// by a member of group "default" (and counted invalid); the same content
// signed for "default" is delivered.
func TestCrossGroupReplay(t *testing.T) {
	peers := startPeers(t, 1, false, withoutOriginCheck())
	victim := peers[0]
	sub, _ := victim.Subscribe("t")
	_, send := rogue(t, victim)
	alice, _ := GenerateKey()
	foreign := signedMessage(t, alice, 1, "from group a")
	auth, err := newSigner(alice, "a").Sign(foreign)
	if err != nil {
		t.Fatal(err)
	}
	foreign.Auth = auth
	if err := VerifyMessage("a", foreign); err != nil {
		t.Fatalf("message signed for group a does not verify there: %v", err)
	}
	genuine := signedMessage(t, alice, 2, "genuine")
	send(frameOf(foreign, genuine))
	expectOnly(t, sub, "genuine")
	if st := victim.Stats(); st.Invalid != 1 {
		t.Fatalf("invalid counted %d, want 1", st.Invalid)
	}
}

// TestReplayWindow: genuine messages whose signed timestamps lie outside
// the replay window (too old, too far ahead) are dropped and counted; one
// just inside is delivered. The window's edges are tested on their own
// (grapevine's TestGuardReplayWindowEdges).
func TestReplayWindow(t *testing.T) {
	peers := startPeers(t, 1, false, withoutOriginCheck(), WithReplayWindow(time.Minute, 5*time.Second), WithHistory(HistoryAll()))
	victim := peers[0]
	sub, _ := victim.Subscribe("t")
	_, send := rogue(t, victim)
	alice, _ := GenerateKey()
	at := func(seq uint64, payload string, offset time.Duration) *core.Message {
		m := &core.Message{Origin: NodeID(mustPID(t, alice)), Seq: seq, Topic: "t",
			Timestamp: time.Now().Add(offset).UnixNano(), Payload: []byte(payload)}
		auth, err := newSigner(alice, "default").Sign(m)
		if err != nil {
			t.Fatal(err)
		}
		m.Auth = auth
		return m
	}
	send(frameOf(at(1, "old", -2*time.Minute), at(2, "future", time.Minute), at(3, "recent", -50*time.Second)))
	expectOnly(t, sub, "recent")
	if st := victim.Stats(); st.Invalid != 2 {
		t.Fatalf("invalid counted %d, want 2", st.Invalid)
	}

	// The engine keeps seen-state at least as long as the window and skew.
	if ttl := time.Duration(engineConfig(victim).SeenTTL) * victim.s.tick; ttl < time.Minute+5*time.Second {
		t.Fatalf("SeenTTL %v shorter than window + skew", ttl)
	}
}

func mustPID(t *testing.T, sk crypto.PrivKey) peer.ID {
	t.Helper()
	pid, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestForgedAccusationsPenalized: a host that sends a member accusations
// of itself at an incarnation it never signed (the old one-frame eviction,
// dead{X, 2^64−1}), signed with the attacker's own key, is reported by
// membership to the peer's Penalizer, counted by reason, and disconnected
// once over the allowance; the member's incarnation does not move.
func TestForgedAccusationsPenalized(t *testing.T) {
	peers := startPeers(t, 1, false)
	victim := peers[0]
	h := attacker(t, victim)
	sk := h.Peerstore().PrivKey(h.ID())
	selfInc := func() uint64 {
		for _, m := range victim.Members() {
			if m.Self {
				return m.Incarnation
			}
		}
		t.Fatal("no self in Members")
		return 0
	}
	before := selfInc()
	domain := sigDomain(memberSigKind, victim.Group())
	frame := core.NewFrame(nil)
	for i := 0; i <= invalidAllowance; i++ {
		inc := uint64(math.MaxUint64) - uint64(i)
		sig, err := sk.Sign(append([]byte(domain), membership.AccuseSigningBytes(membership.RecDead, NodeID(victim.ID()), inc, NodeID(h.ID()))...))
		if err != nil {
			t.Fatal(err)
		}
		body := wire.AppendString(nil, string(NodeID(victim.ID())))
		body = binary.AppendUvarint(body, inc)
		body = wire.AppendString(body, string(NodeID(h.ID())))
		body = wire.AppendBytes(body, sig)
		frame = core.AppendRecord(frame, membership.RecDead, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, sp := Protocols(victim.Group())
	s, err := h.NewStream(ctx, victim.ID(), sp)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	if _, err := s.Write(core.AppendLengthPrefixed(nil, frame)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the disconnection", func() bool {
		return victim.Host().Network().Connectedness(h.ID()) != network.Connected
	})
	// The penalty (and the disconnection) comes at the fifth record; the
	// rest of the frame, already read, is still being handled.
	waitFor(t, 5*time.Second, "every record of the frame handled", func() bool {
		return metricValue(victim.m.penalties.WithLabelValues("forged_accusation")) >= invalidAllowance+1
	})
	if got := metricValue(victim.m.penalties.WithLabelValues("forged_accusation")); got != invalidAllowance+1 {
		t.Fatalf("forged accusations counted %v, want %d", got, invalidAllowance+1)
	}
	if gs := victim.GuardStats(); gs.Offences[core.OffenceForgedAccusation] != invalidAllowance+1 || gs.Score.Penalized != 1 || gs.Score.Tracked != 1 {
		t.Fatalf("guard stats %+v: want %d forged accusations, one peer scored and penalized once", gs, invalidAllowance+1)
	}
	if after := selfInc(); after != before {
		t.Fatalf("incarnation moved from %d to %d", before, after)
	}
}

// TestPrivateNetwork: peers sharing a pre-shared key form a group; a host
// without the key cannot complete a connection to them (so it can neither
// join nor send a frame), and neither can a member of another private
// network; a QUIC, WebTransport or WebRTC-direct listen address is refused
// with a clear error.
func TestPrivateNetwork(t *testing.T) {
	psk := bytes.Repeat([]byte{7}, 32)
	peers := startPeers(t, 2, false, WithPrivateNetwork(psk))
	waitFor(t, 10*time.Second, "the private group", func() bool { return alive(peers[0]) == 2 && alive(peers[1]) == 2 })

	outsider, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	defer outsider.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := outsider.Connect(ctx, peer.AddrInfo{ID: peers[0].ID(), Addrs: peers[0].Host().Addrs()}); err == nil {
		t.Fatal("a host without the key connected to a private network")
	}
	other, err := New(context.Background(), WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false),
		WithProfile(ProfileLocal), WithNotice(func(string) {}), WithPrivateNetwork(bytes.Repeat([]byte{8}, 32)),
		WithSeeds(peers[0].Addrs()[0].String()))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	time.Sleep(time.Second)
	if alive(peers[0]) != 2 || alive(other) != 1 {
		t.Fatalf("a member of another private network joined: %d and %d alive", alive(peers[0]), alive(other))
	}

	for _, a := range []string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/udp/0/quic-v1/webtransport", "/ip4/127.0.0.1/udp/0/webrtc-direct"} {
		_, err = New(context.Background(), WithListenAddrs(a), WithDHT(false),
			WithNotice(func(string) {}), WithPrivateNetwork(psk))
		if err == nil || !strings.Contains(err.Error(), "private networks") {
			t.Fatalf("%s under a private network: %v", a, err)
		}
	}
	if _, err := New(context.Background(), WithPrivateNetwork([]byte("short"))); err == nil {
		t.Fatal("a 5-byte key accepted")
	}
}
