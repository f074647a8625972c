package wasm

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The messages of libp2p's WebRTC signalling protocol (libp2p/specs
// webrtc/webrtc.md, "Signaling Protocol"), as js-libp2p's @libp2p/webrtc
// speaks it: on a stream of SignalingProtocol over a relayed connection,
// each message is an unsigned varint length and then the protobuf
//
//	message Message {
//	    enum Type { SDP_OFFER = 0; SDP_ANSWER = 1; ICE_CANDIDATE = 2; }
//	    optional Type type = 1;
//	    optional string data = 2;
//	}
//
// where data is RTCSessionDescription.sdp for offers and answers and
// JSON.stringify(RTCIceCandidate.toJSON()) for candidates ("null" or ""
// when gathering is done). The codec is written out here (two fields)
// rather than generated, and it is pure Go, so the decoders are fuzzed
// natively (signalmsg_test.go).

// SignalingProtocol is the protocol ID js-libp2p uses for
// /webrtc-signaling (the spec names it without a version).
const SignalingProtocol = "/webrtc-signaling/0.0.1"

// SignalType is a signalling message's type.
type SignalType int32

const (
	SignalOffer        SignalType = 0 // SDP_OFFER
	SignalAnswer       SignalType = 1 // SDP_ANSWER
	SignalICECandidate SignalType = 2 // ICE_CANDIDATE
)

func (t SignalType) String() string {
	switch t {
	case SignalOffer:
		return "SDP_OFFER"
	case SignalAnswer:
		return "SDP_ANSWER"
	case SignalICECandidate:
		return "ICE_CANDIDATE"
	}
	return fmt.Sprintf("type %d", int32(t))
}

// SignalMsg is one signalling message.
type SignalMsg struct {
	Type SignalType
	Data string
}

// signalMaxMessage bounds a signalling message (after the length). A
// browser's SDP offer or answer for one data channel is under 1 KiB (the
// candidates are trickled, not in the SDP), a candidate a few hundred
// bytes; 64 KiB leaves room for unusual SDPs and refuses anything that
// would make the reader buffer much.
const signalMaxMessage = 64 << 10

var (
	errSignalTooLarge = errors.New("signalling message too large")
	errSignalBad      = errors.New("malformed signalling message")
)

// AppendSignalMsg appends m, length-prefixed, to b. Both fields are
// written, the type even when it is 0 (proto3 optional: presence counts).
func AppendSignalMsg(b []byte, m SignalMsg) []byte {
	body := make([]byte, 0, 2+binary.MaxVarintLen64+len(m.Data)+binary.MaxVarintLen64)
	body = append(body, 0x08) // field 1, varint
	body = binary.AppendUvarint(body, uint64(uint32(m.Type)))
	body = append(body, 0x12) // field 2, length-delimited
	body = binary.AppendUvarint(body, uint64(len(m.Data)))
	body = append(body, m.Data...)
	b = binary.AppendUvarint(b, uint64(len(body)))
	return append(b, body...)
}

// ReadSignalMsg reads one length-prefixed message from r. It allocates at
// most signalMaxMessage bytes, and only once the length is known to be
// within that bound.
func ReadSignalMsg(r *bufio.Reader) (SignalMsg, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return SignalMsg{}, io.EOF
		}
		return SignalMsg{}, fmt.Errorf("reading a signalling message: %w", err)
	}
	if n > signalMaxMessage {
		return SignalMsg{}, errSignalTooLarge
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return SignalMsg{}, fmt.Errorf("reading a signalling message: %w", io.ErrUnexpectedEOF)
	}
	return DecodeSignalMsg(body)
}

// DecodeSignalMsg decodes a message body (without its length prefix).
// Unknown fields are skipped, as protobuf requires; a missing type is
// SDP_OFFER (0) and a missing data is empty, as in js-libp2p.
func DecodeSignalMsg(b []byte) (SignalMsg, error) {
	var m SignalMsg
	for len(b) > 0 {
		key, k := binary.Uvarint(b)
		if k <= 0 {
			return SignalMsg{}, errSignalBad
		}
		b = b[k:]
		field, wire := key>>3, key&7
		switch wire {
		case 0: // varint
			v, k := binary.Uvarint(b)
			if k <= 0 {
				return SignalMsg{}, errSignalBad
			}
			b = b[k:]
			if field == 1 {
				if v > 2 {
					return SignalMsg{}, fmt.Errorf("%w: unknown type %d", errSignalBad, v)
				}
				m.Type = SignalType(v)
			}
		case 1: // 64-bit
			if len(b) < 8 {
				return SignalMsg{}, errSignalBad
			}
			b = b[8:]
		case 5: // 32-bit
			if len(b) < 4 {
				return SignalMsg{}, errSignalBad
			}
			b = b[4:]
		case 2: // length-delimited
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return SignalMsg{}, errSignalBad
			}
			v := b[k : k+int(l)]
			b = b[k+int(l):]
			if field == 2 {
				if !utf8.Valid(v) {
					return SignalMsg{}, fmt.Errorf("%w: data is not UTF-8", errSignalBad)
				}
				m.Data = string(v)
			}
		default:
			return SignalMsg{}, fmt.Errorf("%w: wire type %d", errSignalBad, wire)
		}
		if field == 0 {
			return SignalMsg{}, fmt.Errorf("%w: field 0", errSignalBad)
		}
	}
	return m, nil
}

// ICECandidate is RTCIceCandidateInit, the JSON form of RTCIceCandidate
// (RTCIceCandidate.toJSON()).
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// iceMaxCandidate bounds a candidate line (an SDP attribute line of a few
// hundred bytes at most).
const iceMaxCandidate = 2048

// ParseICECandidate decodes an ICE_CANDIDATE message's data. end is true
// for the end-of-candidates markers js-libp2p sends ("null", or "" for the
// end of a generation, JSON-encoded or not).
func ParseICECandidate(data string) (c ICECandidate, end bool, err error) {
	switch data {
	case "", "null", `""`:
		return ICECandidate{}, true, nil
	}
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		return ICECandidate{}, false, fmt.Errorf("bad ICE candidate: %w", err)
	}
	if c.Candidate == "" {
		// {"candidate": ""} is the end of a generation too.
		return ICECandidate{}, true, nil
	}
	if len(c.Candidate) > iceMaxCandidate {
		return ICECandidate{}, false, errors.New("bad ICE candidate: too long")
	}
	if c.SDPMid == nil && c.SDPMLineIndex == nil {
		return ICECandidate{}, false, errors.New("bad ICE candidate: neither sdpMid nor sdpMLineIndex")
	}
	return c, false, nil
}
