//go:build js && wasm

package jsrtc

import (
	"errors"
	"fmt"
	"syscall/js"
)

// Configuration is the subset of RTCConfiguration the tab sets.
type Configuration struct {
	ICEServers []ICEServer
}

// ICEServer is a STUN or TURN server.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential any // a string (pion also allows an OAuth credential)
}

// SDPType is the type of a session description.
type SDPType int

// The session description types.
const (
	SDPTypeUnknown SDPType = iota
	SDPTypeOffer
	SDPTypePranswer
	SDPTypeAnswer
	SDPTypeRollback
)

var sdpTypeNames = [...]string{"", "offer", "pranswer", "answer", "rollback"}

func (t SDPType) String() string {
	if t > 0 && int(t) < len(sdpTypeNames) {
		return sdpTypeNames[t]
	}
	return "unknown"
}

// NewSDPType parses a session description type ("offer", "answer" …).
func NewSDPType(s string) SDPType {
	for i, n := range sdpTypeNames {
		if i > 0 && n == s {
			return SDPType(i)
		}
	}
	return SDPTypeUnknown
}

// SessionDescription is an SDP offer or answer.
type SessionDescription struct {
	Type SDPType
	SDP  string
}

// OfferOptions and AnswerOptions are accepted for pion's signatures; the
// tab passes nil.
type (
	OfferOptions  struct{}
	AnswerOptions struct{}
)

// PeerConnectionState is RTCPeerConnection.connectionState.
type PeerConnectionState int

// The connection states.
const (
	PeerConnectionStateUnknown PeerConnectionState = iota
	PeerConnectionStateNew
	PeerConnectionStateConnecting
	PeerConnectionStateConnected
	PeerConnectionStateDisconnected
	PeerConnectionStateFailed
	PeerConnectionStateClosed
)

var pcStateNames = [...]string{"unknown", "new", "connecting", "connected", "disconnected", "failed", "closed"}

func (s PeerConnectionState) String() string {
	if s >= 0 && int(s) < len(pcStateNames) {
		return pcStateNames[s]
	}
	return "unknown"
}

func newPeerConnectionState(s string) PeerConnectionState {
	for i, n := range pcStateNames {
		if i > 0 && n == s {
			return PeerConnectionState(i)
		}
	}
	return PeerConnectionStateUnknown
}

// PeerConnection is a browser RTCPeerConnection.
type PeerConnection struct {
	underlying js.Value
	eventHandlers
}

// NewPeerConnection creates an RTCPeerConnection.
func NewPeerConnection(c Configuration) (_ *PeerConnection, err error) {
	defer recoverError(&err)
	ctor := js.Global().Get("RTCPeerConnection")
	if ctor.Type() != js.TypeFunction {
		return nil, errors.New("this browser has no RTCPeerConnection")
	}
	v := ctor.New(configurationToValue(c))
	return &PeerConnection{underlying: v, eventHandlers: newEventHandlers(v)}, nil
}

// JSValue returns the RTCPeerConnection.
func (pc *PeerConnection) JSValue() js.Value { return pc.underlying }

// OnDataChannel sets the handler of data channels the remote side opens.
func (pc *PeerConnection) OnDataChannel(f func(*DataChannel)) {
	pc.on("ondatachannel", func(_ js.Value, args []js.Value) any {
		dc := newDataChannel(args[0].Get("channel"))
		go f(dc)
		return nil
	})
}

// OnConnectionStateChange sets the handler of connection state changes.
func (pc *PeerConnection) OnConnectionStateChange(f func(PeerConnectionState)) {
	pc.on("onconnectionstatechange", func(js.Value, []js.Value) any {
		s := newPeerConnectionState(pc.underlying.Get("connectionState").String())
		go f(s)
		return nil
	})
}

// ConnectionState returns RTCPeerConnection.connectionState.
func (pc *PeerConnection) ConnectionState() PeerConnectionState {
	return newPeerConnectionState(pc.underlying.Get("connectionState").String())
}

// CreateOffer creates an SDP offer.
func (pc *PeerConnection) CreateOffer(*OfferOptions) (_ SessionDescription, err error) {
	defer recoverError(&err)
	v, err := awaitPromise(pc.underlying.Call("createOffer"))
	if err != nil {
		return SessionDescription{}, err
	}
	return *valueToSessionDescription(v), nil
}

// CreateAnswer creates an SDP answer to the remote offer.
func (pc *PeerConnection) CreateAnswer(*AnswerOptions) (_ SessionDescription, err error) {
	defer recoverError(&err)
	v, err := awaitPromise(pc.underlying.Call("createAnswer"))
	if err != nil {
		return SessionDescription{}, err
	}
	return *valueToSessionDescription(v), nil
}

// SetLocalDescription sets the local offer or answer.
func (pc *PeerConnection) SetLocalDescription(d SessionDescription) (err error) {
	defer recoverError(&err)
	_, err = awaitPromise(pc.underlying.Call("setLocalDescription", sessionDescriptionToValue(d)))
	return err
}

// LocalDescription returns the local description (with the candidates
// gathered so far), or nil before SetLocalDescription.
func (pc *PeerConnection) LocalDescription() *SessionDescription {
	return valueToSessionDescription(pc.underlying.Get("localDescription"))
}

// SetRemoteDescription sets the remote offer or answer.
func (pc *PeerConnection) SetRemoteDescription(d SessionDescription) (err error) {
	defer recoverError(&err)
	_, err = awaitPromise(pc.underlying.Call("setRemoteDescription", sessionDescriptionToValue(d)))
	return err
}

// CreateDataChannel creates a data channel labelled label.
func (pc *PeerConnection) CreateDataChannel(label string, init *DataChannelInit) (_ *DataChannel, err error) {
	defer recoverError(&err)
	return newDataChannel(pc.underlying.Call("createDataChannel", label, dataChannelInitToValue(init))), nil
}

// Close closes the connection and releases its event handlers.
func (pc *PeerConnection) Close() (err error) {
	defer recoverError(&err)
	pc.underlying.Call("close")
	pc.release()
	return nil
}

func configurationToValue(c Configuration) js.Value {
	conf := map[string]any{}
	if len(c.ICEServers) > 0 {
		servers := make([]any, len(c.ICEServers))
		for i, s := range c.ICEServers {
			urls := make([]any, len(s.URLs))
			for j, u := range s.URLs {
				urls[j] = u
			}
			m := map[string]any{"urls": urls}
			if s.Username != "" {
				m["username"] = s.Username
			}
			if cred, ok := s.Credential.(string); ok && cred != "" {
				m["credential"] = cred
			}
			servers[i] = m
		}
		conf["iceServers"] = servers
	}
	return js.ValueOf(conf)
}

func sessionDescriptionToValue(d SessionDescription) js.Value {
	return js.ValueOf(map[string]any{"type": d.Type.String(), "sdp": d.SDP})
}

func valueToSessionDescription(v js.Value) *SessionDescription {
	if v.IsNull() || v.IsUndefined() {
		return nil
	}
	return &SessionDescription{Type: NewSDPType(v.Get("type").String()), SDP: v.Get("sdp").String()}
}

// awaitPromise waits for a JavaScript promise (from a goroutine: never
// from a js.Func callback, which would deadlock).
func awaitPromise(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	defer then.Release()
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: js.Undefined(), err: js.Error{Value: args[0]}}
		return nil
	})
	defer catch.Release()
	p.Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}

// recoverError turns a panic (a JavaScript exception surfaces as a
// js.Error panic) into *err.
func recoverError(err *error) {
	switch e := recover().(type) {
	case nil:
	case error:
		*err = e
	default:
		*err = fmt.Errorf("%v", e)
	}
}
