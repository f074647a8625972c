package wasm

// Message sizes of the data-channel framing of libp2p's WebRTC transports
// (libp2p/specs webrtc/README.md, "Multiplexing"), shared by WebRTC-direct
// and browser-to-browser WebRTC (wrdstream_js.go), in a file of their own so
// that the framing decoder's test (frame_test.go) runs natively.
const (
	// wrdMaxMessageSize is the largest framed message sent: the spec's
	// 16 KiB, varint and protobuf overhead included.
	// NOTE: change wrdVarintOverhead (wrdstream_js.go) if you change this.
	wrdMaxMessageSize = 16384
	// wrdMaxReceiveSize is the largest framed message accepted, as in
	// go-libp2p: 256 KiB (older senders used larger messages) plus 1 KiB.
	// The decoder refuses a longer length before allocating.
	wrdMaxReceiveSize = 256<<10 + 1<<10
)
