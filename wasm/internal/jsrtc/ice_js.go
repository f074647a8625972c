//go:build js && wasm

package jsrtc

import "syscall/js"

// OnICECandidate sets the handler of the local ICE candidates the
// connection gathers (trickle ICE): f gets JSON.stringify of the
// candidate's toJSON() (RTCIceCandidateInit), or "null" once gathering is
// complete.
func (pc *PeerConnection) OnICECandidate(f func(candidateJSON string)) {
	pc.on("onicecandidate", func(_ js.Value, args []js.Value) any {
		c := args[0].Get("candidate")
		s := "null"
		if !c.IsNull() && !c.IsUndefined() {
			s = js.Global().Get("JSON").Call("stringify", c.Call("toJSON")).String()
		}
		go f(s)
		return nil
	})
}

// ICECandidateInit is RTCIceCandidateInit.
type ICECandidateInit struct {
	Candidate        string
	SDPMid           *string
	SDPMLineIndex    *uint16
	UsernameFragment *string
}

// AddICECandidate adds a remote ICE candidate.
func (pc *PeerConnection) AddICECandidate(c ICECandidateInit) (err error) {
	defer recoverError(&err)
	init := map[string]any{"candidate": c.Candidate}
	if c.SDPMid != nil {
		init["sdpMid"] = *c.SDPMid
	}
	if c.SDPMLineIndex != nil {
		init["sdpMLineIndex"] = int(*c.SDPMLineIndex)
	}
	if c.UsernameFragment != nil {
		init["usernameFragment"] = *c.UsernameFragment
	}
	_, err = awaitPromise(pc.underlying.Call("addIceCandidate", js.ValueOf(init)))
	return err
}

// Label returns the data channel's label.
func (d *DataChannel) Label() string { return d.underlying.Get("label").String() }
