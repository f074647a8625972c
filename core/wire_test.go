package core

import (
	"bufio"
	"bytes"
	"errors"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"io"
	"reflect"
	"testing"
)

func sampleFrame() *Frame {
	return &Frame{
		Messages: []*Message{
			{Origin: "alice", Seq: 1, Topic: "chat", Priority: 3, Timestamp: -5, Payload: []byte("hi"), Auth: []byte("sig")},
			{Origin: "bob", Seq: 1 << 40, Topic: "", Payload: []byte{}},
			{Origin: "dave", Seq: 7, Topic: "chat", Payload: []byte("first"), Auth: []byte("sig"), First: true},
		},
		Tree:   []TreeMessage{{Msg: &Message{Origin: "carol", Seq: 3, Topic: "chat", Payload: []byte("tree"), Auth: []byte("sig")}, End: 1 << 63}},
		IHave:  []MsgKey{{"alice", 2}, {"alice", 9}, {"carol", 1}},
		IWant:  []MsgKey{{"bob", 7}},
		Digest: &Digest{Partial: true, Entries: []DigestEntry{{Origin: "alice", Contiguous: 4, Above: []uint64{6, 9}}, {Origin: "bob"}}},
		Records: []Record{
			{Type: RecMembershipFirst, Body: []byte("swim")},
			{Type: 0x90, Body: []byte{}},
		},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	f := sampleFrame()
	b := EncodeFrame(f)
	g, err := DecodeFrame(b, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if g.Size != len(b) {
		t.Fatalf("Size = %d, want %d", g.Size, len(b))
	}
	g.Size = 0
	// Normalise empty vs nil payloads for comparison.
	for _, m := range g.Messages {
		if len(m.Payload) == 0 {
			m.Payload = []byte{}
		}
	}
	if !reflect.DeepEqual(f, g) {
		t.Fatalf("round trip mismatch:\n got %+v\nwant %+v", g, f)
	}
	if !bytes.Equal(EncodeFrame(g), b) {
		t.Fatal("re-encoding differs")
	}
}

func TestEncodedMessageSizeExact(t *testing.T) {
	for _, m := range sampleFrame().Messages {
		if got, want := encodedMessageSize(m), len(appendMessageBody(nil, m)); got != want {
			t.Fatalf("encodedMessageSize = %d, encoding is %d bytes", got, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	lim := DefaultLimits()
	good := EncodeFrame(sampleFrame())
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"empty":        {nil, ErrTruncated},
		"version":      {[]byte{2}, ErrVersion},
		"truncated":    {good[:len(good)-3], ErrTruncated},
		"type zero":    {[]byte{1, 0, 0}, ErrMalformed},
		"huge length":  {[]byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrTooLarge},
		"varint ovf":   {[]byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrMalformed},
		"seq zero":     {AppendRecord(NewFrame(nil), RecMessage, []byte{1, 'a', 0, 0, 0, 0, 0, 0}), ErrMalformed},
		"empty origin": {AppendRecord(NewFrame(nil), RecMessage, []byte{0, 1, 0, 0, 0, 0, 0}), ErrMalformed},
		"trailing":     {AppendRecord(NewFrame(nil), RecMessage, append(appendMessageBody(nil, &Message{Origin: "a", Seq: 1}), 1, 0)), ErrMalformed},
		"zero flags":   {AppendRecord(NewFrame(nil), RecMessage, append(appendMessageBody(nil, &Message{Origin: "a", Seq: 1}), 0)), ErrMalformed},
		"unknown flag": {AppendRecord(NewFrame(nil), RecMessage, append(appendMessageBody(nil, &Message{Origin: "a", Seq: 1}), 2)), ErrMalformed},
		"two digests":  {AppendDigestRecord(AppendDigestRecord(NewFrame(nil), &Digest{}), &Digest{}), ErrMalformed},
		"digest order": {AppendRecord(NewFrame(nil), RecDigest, []byte{0, 1, 1, 'a', 5, 2, 1, 0}), ErrMalformed},
		"digest flags": {AppendRecord(NewFrame(nil), RecDigest, []byte{4, 0}), ErrMalformed},
		"key count":    {AppendRecord(NewFrame(nil), RecIHave, []byte{1, 1, 'a', 100, 2}), ErrTruncated},
		"big payload": {AppendMessageRecord(NewFrame(nil), &Message{Origin: "a", Seq: 1, Payload: make([]byte, lim.MaxMessageSize+1)}),
			ErrTooLarge},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeFrame(tc.in, lim); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	small := lim
	small.MaxFrameSize = 10
	if _, err := DecodeFrame(good, small); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("frame over MaxFrameSize: err = %v", err)
	}
	small = lim
	small.MaxRecords = 2
	if _, err := DecodeFrame(good, small); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("frame over MaxRecords: err = %v", err)
	}
}

func TestStreamFraming(t *testing.T) {
	var buf []byte
	frames := [][]byte{EncodeFrame(sampleFrame()), {1}, EncodeFrame(&Frame{})}
	for _, f := range frames {
		buf = AppendLengthPrefixed(buf, f)
	}
	r := bufio.NewReader(bytes.NewReader(buf))
	for i, want := range frames {
		got, err := ReadFrame(r, 1<<20)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("frame %d: %x, %v", i, got, err)
		}
	}
	if _, err := ReadFrame(r, 1<<20); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(wire.AppendUvarint(nil, 1<<30))), 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized length: %v", err)
	}
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader([]byte{5, 1, 2})), 1<<20); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short body: %v", err)
	}
}

func TestMessageIDCoversContent(t *testing.T) {
	base := Message{Origin: "a", Seq: 1, Topic: "t", Priority: 1, Timestamp: 2, Payload: []byte("p")}
	id := base.ID()
	for name, mut := range map[string]func(*Message){
		"origin":   func(m *Message) { m.Origin = "b" },
		"seq":      func(m *Message) { m.Seq = 2 },
		"topic":    func(m *Message) { m.Topic = "u" },
		"priority": func(m *Message) { m.Priority = 2 },
		"time":     func(m *Message) { m.Timestamp = 3 },
		"payload":  func(m *Message) { m.Payload = []byte("q") },
		"first":    func(m *Message) { m.First = true },
	} {
		m := base
		mut(&m)
		if m.ID() == id {
			t.Errorf("changing %s does not change ID", name)
		}
	}
	m := base
	m.Auth = []byte("sig")
	if m.ID() != id {
		t.Error("Auth must not be covered by ID (it signs ID)")
	}
	// Field boundaries are unambiguous: moving a byte from origin to topic changes the ID.
	a := Message{Origin: "ab", Seq: 1, Topic: "c"}
	b := Message{Origin: "a", Seq: 1, Topic: "bc"}
	if a.ID() == b.ID() {
		t.Error("origin/topic boundary is ambiguous")
	}
}

// TestDecodeFrameIntoReuses: a frame decoded into a Frame that held a
// larger one has only its own contents, and once the slices have grown
// decoding allocates only what the frame's messages and keys need (their
// IDs), not the Frame and its slices again.
func TestDecodeFrameIntoReuses(t *testing.T) {
	lim := DefaultLimits()
	f := &Frame{}
	if err := DecodeFrameInto(f, EncodeFrame(sampleFrame()), lim); err != nil {
		t.Fatal(err)
	}
	small := EncodeFrame(&Frame{IHave: []MsgKey{{"alice", 2}, {"alice", 3}}, Prune: true})
	if err := DecodeFrameInto(f, small, lim); err != nil {
		t.Fatal(err)
	}
	if len(f.Messages)+len(f.Tree)+len(f.IWant)+len(f.Records) != 0 || f.Digest != nil || !f.Prune || len(f.IHave) != 2 || f.Size != len(small) {
		t.Fatalf("a used frame decoded as %+v", f)
	}
	if err := DecodeFrameInto(f, []byte{WireVersion + 1}, lim); err == nil || len(f.IHave) != 0 || f.Prune {
		t.Fatalf("a frame of another version: %v, left %+v", err, f)
	}
	fresh := testing.AllocsPerRun(50, func() { _, _ = DecodeFrame(small, lim) })
	into := testing.AllocsPerRun(50, func() { _ = DecodeFrameInto(f, small, lim) })
	if into >= fresh || into > 1 {
		t.Errorf("decoding into a used frame allocated %.1f times, a new one %.1f; want fewer, at most 1 (the origin's ID)", into, fresh)
	}
}
