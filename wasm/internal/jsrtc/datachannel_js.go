//go:build js && wasm

package jsrtc

import (
	"syscall/js"
)

// DataChannelInit is the subset of RTCDataChannelInit the tab sets.
type DataChannelInit struct {
	Ordered    *bool
	Negotiated *bool
	ID         *uint16
}

func dataChannelInitToValue(init *DataChannelInit) js.Value {
	if init == nil {
		return js.Undefined()
	}
	m := map[string]any{}
	if init.Ordered != nil {
		m["ordered"] = *init.Ordered
	}
	if init.Negotiated != nil {
		m["negotiated"] = *init.Negotiated
	}
	if init.ID != nil {
		m["id"] = int(*init.ID)
	}
	return js.ValueOf(m)
}

// DataChannelMessage is a message received on a data channel.
type DataChannelMessage struct {
	IsString bool
	Data     []byte
}

// DataChannelState is RTCDataChannel.readyState.
type DataChannelState int

// The data channel states.
const (
	DataChannelStateUnknown DataChannelState = iota
	DataChannelStateConnecting
	DataChannelStateOpen
	DataChannelStateClosing
	DataChannelStateClosed
)

var dcStateNames = [...]string{"unknown", "connecting", "open", "closing", "closed"}

func (s DataChannelState) String() string {
	if s >= 0 && int(s) < len(dcStateNames) {
		return dcStateNames[s]
	}
	return "unknown"
}

// DataChannel is a browser RTCDataChannel. Binary messages arrive as
// ArrayBuffers (binaryType is set to "arraybuffer").
type DataChannel struct {
	underlying js.Value
	eventHandlers
}

func newDataChannel(v js.Value) *DataChannel {
	v.Set("binaryType", "arraybuffer")
	return &DataChannel{underlying: v, eventHandlers: newEventHandlers(v)}
}

// JSValue returns the RTCDataChannel.
func (d *DataChannel) JSValue() js.Value { return d.underlying }

// OnOpen sets the handler of the channel opening.
func (d *DataChannel) OnOpen(f func()) {
	d.on("onopen", func(js.Value, []js.Value) any { go f(); return nil })
}

// OnClose sets the handler of the channel closing.
func (d *DataChannel) OnClose(f func()) {
	d.on("onclose", func(js.Value, []js.Value) any { go f(); return nil })
}

// OnBufferedAmountLow sets the handler of bufferedAmount falling to the
// threshold.
func (d *DataChannel) OnBufferedAmountLow(f func()) {
	d.on("onbufferedamountlow", func(js.Value, []js.Value) any { go f(); return nil })
}

// OnMessage sets the handler of received messages. The data is copied out
// of JavaScript before the handler's goroutine starts.
func (d *DataChannel) OnMessage(f func(DataChannelMessage)) {
	d.on("onmessage", func(_ js.Value, args []js.Value) any {
		m := valueToMessage(args[0].Get("data"))
		go f(m)
		return nil
	})
}

func valueToMessage(v js.Value) DataChannelMessage {
	if v.Type() == js.TypeString {
		return DataChannelMessage{IsString: true, Data: []byte(v.String())}
	}
	// An ArrayBuffer (binaryType "arraybuffer") or an ArrayBufferView.
	u8 := js.Global().Get("Uint8Array")
	var a js.Value
	if v.InstanceOf(u8) {
		a = v
	} else if ab := js.Global().Get("ArrayBuffer"); v.InstanceOf(ab) {
		a = u8.New(v)
	} else {
		a = u8.New(v.Get("buffer"), v.Get("byteOffset"), v.Get("byteLength"))
	}
	b := make([]byte, a.Get("length").Int())
	js.CopyBytesToGo(b, a)
	return DataChannelMessage{Data: b}
}

// Send sends a binary message.
func (d *DataChannel) Send(data []byte) (err error) {
	defer recoverError(&err)
	a := js.Global().Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(a, data)
	d.underlying.Call("send", a)
	return nil
}

// Close closes the channel and releases its event handlers.
func (d *DataChannel) Close() (err error) {
	defer recoverError(&err)
	d.underlying.Call("close")
	d.release()
	return nil
}

// ID returns the channel's stream id, or nil while it has none.
func (d *DataChannel) ID() *uint16 {
	v := d.underlying.Get("id")
	if v.IsNull() || v.IsUndefined() {
		return nil
	}
	id := uint16(v.Int())
	return &id
}

// ReadyState returns RTCDataChannel.readyState.
func (d *DataChannel) ReadyState() DataChannelState {
	s := d.underlying.Get("readyState").String()
	for i, n := range dcStateNames {
		if i > 0 && n == s {
			return DataChannelState(i)
		}
	}
	return DataChannelStateUnknown
}

// BufferedAmount returns the bytes queued by Send and not yet sent.
func (d *DataChannel) BufferedAmount() uint64 {
	return uint64(d.underlying.Get("bufferedAmount").Int())
}

// SetBufferedAmountLowThreshold sets when OnBufferedAmountLow's handler
// runs.
func (d *DataChannel) SetBufferedAmountLowThreshold(n uint64) {
	d.underlying.Set("bufferedAmountLowThreshold", n)
}
