//go:build !js

package rtcsignal

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

func newHost(t *testing.T) host.Host {
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func connect(t *testing.T, a, b host.Host) {
	if err := a.Connect(context.Background(), peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
}

func TestRelayExchange(t *testing.T) {
	r, a, b, c := newHost(t), newHost(t), newHost(t), newHost(t)
	relay := Serve(r, Limits{})
	connect(t, a, r)
	connect(t, b, r)
	connect(t, c, r)
	got := make(chan Msg, 1)
	b.SetStreamHandler(Protocol, func(s network.Stream) {
		from, br, err := Accept(s)
		if err != nil || from != a.ID() {
			t.Errorf("accept: %v from %s", err, from)
			s.Reset()
			return
		}
		m, err := ReadMsg(br)
		if err != nil {
			t.Error(err)
			return
		}
		got <- m
		if err := WriteMsg(s, Msg{Type: "answer", SDP: "v=0 answer"}); err != nil {
			t.Error(err)
		}
		s.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, br, err := Connect(ctx, a, r.ID(), b.ID())
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteMsg(s, Msg{Type: "offer", SDP: "v=0 offer"}); err != nil {
		t.Fatal(err)
	}
	ans, err := ReadMsg(br)
	if err != nil || ans.Type != "answer" || ans.SDP != "v=0 answer" {
		t.Fatalf("answer %+v, %v", ans, err)
	}
	if m := <-got; m.Type != "offer" || m.SDP != "v=0 offer" {
		t.Fatalf("offer %+v", m)
	}
	s.Close()

	// A target that is not connected to the relay is refused, and the
	// relay does not dial it.
	d := newHost(t)
	a.Peerstore().AddAddrs(d.ID(), d.Addrs(), time.Minute)
	r.Peerstore().AddAddrs(d.ID(), d.Addrs(), time.Minute)
	if _, _, err := Connect(ctx, a, r.ID(), d.ID()); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("unconnected target: %v", err)
	}
	if r.Network().Connectedness(d.ID()) == network.Connected {
		t.Fatal("relay dialed the target")
	}
	// A target that does not speak the protocol is refused.
	if _, _, err := Connect(ctx, a, r.ID(), c.ID()); err == nil {
		t.Fatal("target without a handler: no error")
	}
	st := relay.Stats()
	if st.Relayed != 1 || st.Refused != 2 || st.Bytes == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRelayByteBudget(t *testing.T) {
	r, a, b := newHost(t), newHost(t), newHost(t)
	relay := Serve(r, Limits{Bytes: 1000})
	connect(t, a, r)
	connect(t, b, r)
	b.SetStreamHandler(Protocol, func(s network.Stream) {
		_, br, err := Accept(s)
		if err != nil {
			s.Reset()
			return
		}
		for {
			if _, err := ReadMsg(br); err != nil {
				return
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, _, err := Connect(ctx, a, r.ID(), b.ID())
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 600)
	var werr error
	for i := 0; i < 50 && werr == nil; i++ {
		werr = WriteMsg(s, Msg{Type: "candidate", Candidate: big})
		time.Sleep(5 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for relay.Stats().Truncate == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if relay.Stats().Truncate == 0 {
		t.Fatalf("byte budget not enforced: %+v", relay.Stats())
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range [][]byte{nil, {0}, {5, 1, 1}, {3, 1, 1, 0}, {2, 9, 1}, {0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, _, err := readHeader(bufio.NewReader(bytes.NewReader(in))); err == nil {
			t.Errorf("header %x: no error", in)
		}
	}
	var b bytes.Buffer
	writeFrame(&b, []byte("{not json"))
	if _, err := ReadMsg(bufio.NewReader(&b)); err == nil {
		t.Error("bad JSON: no error")
	}
	b.Reset()
	writeFrame(&b, bytes.Repeat([]byte{'a'}, MaxMsg+1))
	if _, err := ReadMsg(bufio.NewReader(&b)); err == nil {
		t.Error("oversized message: no error")
	}
}

func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	writeHeader(&b, kindConnect, peer.ID("\x00\x24\x08\x01\x12\x20abcdefghijklmnopqrstuvwxyz012345"))
	f.Add(b.Bytes())
	b.Reset()
	WriteMsg(&b, Msg{Type: "offer", SDP: "v=0"})
	f.Add(b.Bytes())
	f.Add([]byte{1, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		readHeader(bufio.NewReader(bytes.NewReader(in)))
		ReadMsg(bufio.NewReader(bytes.NewReader(in)))
		readStatus(bufio.NewReader(bytes.NewReader(in)))
	})
}
