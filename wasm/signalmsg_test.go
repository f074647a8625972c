package wasm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/libp2p/go-libp2p/p2p/transport/webrtc/pb"
	"github.com/libp2p/go-msgio/pbio"
)

// frame returns m as wrdStream writes it: varint length, protobuf.
func frame(t testing.TB, m *pb.Message) []byte {
	var b bytes.Buffer
	if err := pbio.NewDelimitedWriter(&b).WriteMsg(m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSignalMsgRoundTrip: messages of every type read back as written.
func TestSignalMsgRoundTrip(t *testing.T) {
	msgs := []SignalMsg{
		{Type: SignalOffer, Data: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"},
		{Type: SignalAnswer, Data: "v=0\r\n"},
		{Type: SignalICECandidate, Data: `{"candidate":"candidate:1 1 udp 2113937151 192.0.2.1 54400 typ host","sdpMid":"0","sdpMLineIndex":0}`},
		{Type: SignalICECandidate, Data: "null"},
		{Type: SignalOffer, Data: ""},
	}
	var buf []byte
	for _, m := range msgs {
		buf = AppendSignalMsg(buf, m)
	}
	r := bufio.NewReader(bytes.NewReader(buf))
	for i, want := range msgs {
		got, err := ReadSignalMsg(r)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got != want {
			t.Fatalf("message %d: got %+v, want %+v", i, got, want)
		}
	}
	if _, err := ReadSignalMsg(r); err != io.EOF {
		t.Fatalf("after the last message: %v, want EOF", err)
	}
}

// TestSignalMsgWire checks the bytes against the protobuf encoding that
// js-libp2p (protons) writes: type then data, type written even when 0.
func TestSignalMsgWire(t *testing.T) {
	got := AppendSignalMsg(nil, SignalMsg{Type: SignalOffer, Data: "ab"})
	want := []byte{6, 0x08, 0x00, 0x12, 0x02, 'a', 'b'}
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
	// A message with the fields in the other order, an unknown field of
	// each wire type and no type (proto3 default: SDP_OFFER) decodes.
	body := []byte{0x12, 0x01, 'x', 0x18, 0x05, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2d, 1, 2, 3, 4, 0x32, 0x00}
	m, err := DecodeSignalMsg(body)
	if err != nil || m != (SignalMsg{Type: SignalOffer, Data: "x"}) {
		t.Fatalf("reordered message with unknown fields: %+v, %v", m, err)
	}
}

func TestSignalMsgRefused(t *testing.T) {
	for name, body := range map[string][]byte{
		"unknown type":     {0x08, 0x07},
		"truncated varint": {0x08, 0x80},
		"data too long":    {0x12, 0x05, 'a'},
		"not UTF-8":        {0x12, 0x01, 0xff},
		"wire type 3":      {0x0b},
		"field 0":          {0x00, 0x01},
		"truncated fixed":  {0x21, 1, 2},
	} {
		if _, err := DecodeSignalMsg(body); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	huge := binary.AppendUvarint(nil, signalMaxMessage+1)
	if _, err := ReadSignalMsg(bufio.NewReader(bytes.NewReader(huge))); !errors.Is(err, errSignalTooLarge) {
		t.Errorf("length %d: %v, want too large", signalMaxMessage+1, err)
	}
	short := append(binary.AppendUvarint(nil, 10), 0x08, 0x00)
	if _, err := ReadSignalMsg(bufio.NewReader(bytes.NewReader(short))); err == nil || err == io.EOF {
		t.Errorf("truncated message: %v, want an error other than EOF", err)
	}
}

func TestParseICECandidate(t *testing.T) {
	for _, end := range []string{"", "null", `""`, `{"candidate":"","sdpMid":"0"}`} {
		if _, e, err := ParseICECandidate(end); err != nil || !e {
			t.Errorf("%q: end %v, err %v; want the end of candidates", end, e, err)
		}
	}
	c, end, err := ParseICECandidate(`{"candidate":"candidate:1 1 udp 1 192.0.2.1 1 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"u"}`)
	if err != nil || end || c.SDPMid == nil || *c.SDPMid != "0" || c.SDPMLineIndex == nil || *c.SDPMLineIndex != 0 {
		t.Fatalf("candidate: %+v end %v err %v", c, end, err)
	}
	for _, bad := range []string{"{", `{"candidate":"candidate:1"}`, `{"candidate":5}`, `[1]`, `{"candidate":"x","sdpMLineIndex":70000}`} {
		if _, _, err := ParseICECandidate(bad); err == nil {
			t.Errorf("%q: parsed", bad)
		}
	}
}

// FuzzReadSignalMsg: the signalling decoder returns an error or a message
// that re-encodes to an equal message; it never panics and never
// allocates more than the bound for one message.
func FuzzReadSignalMsg(f *testing.F) {
	f.Add(AppendSignalMsg(nil, SignalMsg{Type: SignalAnswer, Data: "v=0"}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{2, 0x08, 0x02})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		for i := 0; i < 4; i++ {
			m, err := ReadSignalMsg(r)
			if err != nil {
				return
			}
			if len(m.Data) > signalMaxMessage {
				t.Fatalf("decoded %d bytes of data, above the bound", len(m.Data))
			}
			again, err := ReadSignalMsg(bufio.NewReader(bytes.NewReader(AppendSignalMsg(nil, m))))
			if err != nil || again != m {
				t.Fatalf("re-encoded %+v decodes to %+v, %v", m, again, err)
			}
		}
	})
}

func FuzzParseICECandidate(f *testing.F) {
	f.Add(`{"candidate":"candidate:1 1 udp 1 192.0.2.1 1 typ host","sdpMid":"0"}`)
	f.Add("null")
	f.Fuzz(func(t *testing.T, s string) {
		c, end, err := ParseICECandidate(s)
		if err == nil && !end && (c.Candidate == "" || len(c.Candidate) > iceMaxCandidate) {
			t.Fatalf("accepted candidate %q", c.Candidate)
		}
	})
}

// FuzzReadFrame: the data-channel framing decoder (go-libp2p's pb.Message
// through pbio, as wrdStream reads it) returns an error, never panics, and
// refuses a length above wrdMaxReceiveSize before allocating it.
func FuzzReadFrame(f *testing.F) {
	fin := pb.Message_FIN
	f.Add(frame(f, &pb.Message{Flag: &fin, Message: []byte("hi")}))
	f.Add(binary.AppendUvarint(nil, 1<<30))
	f.Add([]byte{3, 0x08, 0x09, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := pbio.NewDelimitedReader(bytes.NewReader(in), wrdMaxReceiveSize)
		for i := 0; i < 4; i++ {
			var m pb.Message
			if err := r.ReadMsg(&m); err != nil {
				return
			}
			if len(m.Message) > wrdMaxReceiveSize {
				t.Fatalf("frame of %d bytes accepted", len(m.Message))
			}
		}
	})
}

// TestReadFrameBound: a frame length above the bound is refused.
func TestReadFrameBound(t *testing.T) {
	in := binary.AppendUvarint(nil, wrdMaxReceiveSize+1)
	in = append(in, make([]byte, 16)...)
	var m pb.Message
	if err := pbio.NewDelimitedReader(bytes.NewReader(in), wrdMaxReceiveSize).ReadMsg(&m); err == nil {
		t.Fatal("a frame above wrdMaxReceiveSize was read")
	}
	// A spec-sized frame is read.
	fin := pb.Message_FIN
	in = frame(t, &pb.Message{Flag: &fin, Message: make([]byte, wrdMaxMessageSize-16)})
	if err := pbio.NewDelimitedReader(bytes.NewReader(in), wrdMaxReceiveSize).ReadMsg(&m); err != nil || m.GetFlag() != pb.Message_FIN {
		t.Fatalf("a %d-byte frame: %v", len(in), err)
	}
	if len(in) > wrdMaxMessageSize {
		t.Fatalf("the spec-sized frame is %d bytes, above %d", len(in), wrdMaxMessageSize)
	}
}
