//go:build js && wasm

package wasm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	webrtc "github.com/grapevine-p2p/grapevine/wasm/internal/jsrtc"
)

// The two sides of a /webrtc-signaling/0.0.1 exchange (libp2p/specs
// webrtc/webrtc.md, steps 4 to 8), as js-libp2p's @libp2p/webrtc runs it:
// the dialer (outbound side of the relayed connection) creates an "init"
// data channel, sends its SDP_OFFER, sets it locally, reads the
// SDP_ANSWER; the answerer reads the offer, sends its answer, sets it
// locally; then both trickle their ICE candidates as ICE_CANDIDATE
// messages while they read the other's, until the peer connection is
// connected. Then the dialer closes the init channel and both close the
// stream; on failure they reset it.

// signalCandidateQueue bounds the local candidates waiting to be written
// (a browser gathers a handful per interface); beyond it they are dropped
// (and counted).
const signalCandidateQueue = 32

// signalConn is one signalling stream: framed reads, serialized writes.
type signalConn struct {
	rw    io.ReadWriter
	br    *bufio.Reader
	mu    sync.Mutex
	drops *atomic.Uint64 // local candidates dropped (queue full)
}

func newSignalConn(rw io.ReadWriter, drops *atomic.Uint64) *signalConn {
	return &signalConn{rw: rw, br: bufio.NewReaderSize(rw, 4096), drops: drops}
}

func (s *signalConn) write(m SignalMsg) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.rw.Write(AppendSignalMsg(nil, m))
	return err
}

func (s *signalConn) read() (SignalMsg, error) { return ReadSignalMsg(s.br) }

// trickle sends the connection's local candidates as they come, until
// ctx ends.
func (s *signalConn) trickle(ctx context.Context, pc *webrtc.PeerConnection) {
	q := make(chan string, signalCandidateQueue)
	pc.OnICECandidate(func(c string) {
		select {
		case q <- c:
		default:
			s.drops.Add(1)
		}
	})
	go func() {
		for {
			select {
			case c := <-q:
				if err := s.write(SignalMsg{Type: SignalICECandidate, Data: c}); err != nil {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
}

// readCandidates adds the remote candidates until c is connected.
func (s *signalConn) readCandidates(ctx context.Context, c *rtcConn) error {
	msgs := make(chan SignalMsg)
	errc := make(chan error, 1)
	go func() {
		for {
			m, err := s.read()
			if err != nil {
				errc <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-c.connected:
			return nil
		case <-c.failed:
			return errors.New("the WebRTC connection failed")
		case <-ctx.Done():
			return fmt.Errorf("WebRTC connection not established: %w", ctx.Err())
		case err := <-errc:
			// The other side closes the stream once it is connected:
			// wait for our side to be too.
			select {
			case <-c.connected:
				return nil
			case <-c.failed:
				return errors.New("the WebRTC connection failed")
			case <-ctx.Done():
				return fmt.Errorf("signalling ended (%v) before the WebRTC connection was established", err)
			}
		case m := <-msgs:
			if m.Type != SignalICECandidate {
				return fmt.Errorf("expected an ICE candidate, got %s", m.Type)
			}
			cand, end, err := ParseICECandidate(m.Data)
			if err != nil {
				return err
			}
			if end {
				continue
			}
			// A candidate the browser rejects is skipped, as in js-libp2p.
			_ = c.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: cand.Candidate, SDPMid: cand.SDPMid,
				SDPMLineIndex: cand.SDPMLineIndex, UsernameFragment: cand.UsernameFragment})
		}
	}
}

// offerSide runs the dialer's side of the exchange on s for c.
func offerSide(ctx context.Context, s *signalConn, c *rtcConn) error {
	initCh, err := c.pc.CreateDataChannel(rtcInitLabel, nil)
	if err != nil {
		return err
	}
	initPipe := newDCPipe(initCh)
	defer initPipe.Close()
	s.trickle(ctx, c.pc)
	if err := s.sendDescription(c.pc, SignalOffer, "offer", func() (webrtc.SessionDescription, error) { return c.pc.CreateOffer(nil) }); err != nil {
		return err
	}
	if err := s.receiveDescription(c.pc, SignalAnswer, webrtc.SDPTypeAnswer, "answer"); err != nil {
		return err
	}
	if err := s.readCandidates(ctx, c); err != nil {
		return err
	}
	select {
	case <-initPipe.opened:
	case <-ctx.Done():
		return fmt.Errorf("the init data channel did not open: %w", ctx.Err())
	}
	return nil
}

// answerSide runs the answerer's side of the exchange on s for c.
func answerSide(ctx context.Context, s *signalConn, c *rtcConn) error {
	s.trickle(ctx, c.pc)
	if err := s.receiveDescription(c.pc, SignalOffer, webrtc.SDPTypeOffer, "offer"); err != nil {
		return err
	}
	if err := s.sendDescription(c.pc, SignalAnswer, "answer", func() (webrtc.SessionDescription, error) { return c.pc.CreateAnswer(nil) }); err != nil {
		return err
	}
	return s.readCandidates(ctx, c)
}

// sendDescription creates this side's session description (the offer or
// the answer, named what), sends it as a message of type typ, then sets it
// locally.
func (s *signalConn) sendDescription(pc *webrtc.PeerConnection, typ SignalType, what string, create func() (webrtc.SessionDescription, error)) error {
	d, err := create()
	if err != nil {
		return fmt.Errorf("creating the %s: %w", what, err)
	}
	if err := s.write(SignalMsg{Type: typ, Data: d.SDP}); err != nil {
		return err
	}
	if err := pc.SetLocalDescription(d); err != nil {
		return fmt.Errorf("setting the %s: %w", what, err)
	}
	return nil
}

// receiveDescription reads the other side's session description (named
// what), which must be a message of type typ, and sets it as the remote
// description of SDP type sdp.
func (s *signalConn) receiveDescription(pc *webrtc.PeerConnection, typ SignalType, sdp webrtc.SDPType, what string) error {
	m, err := s.read()
	if err != nil {
		return fmt.Errorf("waiting for the %s: %w", what, err)
	}
	if m.Type != typ {
		return fmt.Errorf("expected an SDP %s, got %s", what, m.Type)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: sdp, SDP: m.Data}); err != nil {
		return fmt.Errorf("setting the %s: %w", what, err)
	}
	return nil
}
