//go:build js && wasm

package wasm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"
)

// The host behaviour basichost gave the tab and blankhost lacks, following
// go-libp2p's p2p/host/basic (v0.51) so that peers see the same tab: a
// negotiation timeout on every stream, Connect and NewStream that wait for
// identify, and the optimistic protocol selection that saves a round trip
// when identify already said which protocol the peer speaks.

// negotiationTimeout bounds multistream-select on a stream (basichost's
// DefaultNegotiationTimeout), so a peer that opens or accepts a stream and
// never negotiates cannot hold it.
const negotiationTimeout = 10 * time.Second

// newStreamHandler negotiates the protocol of a stream a peer opened and
// hands it to the protocol's handler.
func (h *browserHost) newStreamHandler(s network.Stream) {
	if err := s.SetDeadline(time.Now().Add(negotiationTimeout)); err != nil {
		s.Reset()
		return
	}
	pid, handle, err := h.Mux().Negotiate(s)
	if err != nil {
		s.ResetWithError(network.StreamProtocolNegotiationFailed)
		return
	}
	if err := s.SetDeadline(time.Time{}); err != nil {
		s.Reset()
		return
	}
	if err := s.SetProtocol(pid); err != nil {
		s.ResetWithError(network.StreamResourceLimitExceeded)
		return
	}
	handle(pid, s)
}

// Connect dials pi unless already connected and waits for identify.
func (h *browserHost) Connect(ctx context.Context, pi peer.AddrInfo) error {
	h.Peerstore().AddAddrs(pi.ID, pi.Addrs, peerstore.TempAddrTTL)
	forceDirect, _ := network.GetForceDirectDial(ctx)
	limitedOK, _ := network.GetAllowLimitedConn(ctx)
	if !forceDirect {
		c := h.Network().Connectedness(pi.ID)
		if c == network.Connected || (limitedOK && c == network.Limited) {
			return nil
		}
		if c == network.Limited {
			// A relayed connection carries signalling only; without
			// this the swarm would return it and wait for a direct
			// one that nobody dials (it has no hole punching).
			ctx = network.WithForceDirectDial(ctx, "relayed connections carry signalling only")
		}
	}
	c, err := h.Network().DialPeer(ctx, pi.ID)
	if err != nil {
		return fmt.Errorf("failed to dial: %w", err)
	}
	select {
	case <-h.ids.IdentifyWait(c):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("identify failed to complete: %w", ctx.Err())
	}
}

// NewStream opens a stream to p (dialing if need be) and selects the first
// of pids that p supports.
func (h *browserHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (_ network.Stream, strErr error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, negotiationTimeout)
		defer cancel()
	}
	if nodial, _ := network.GetNoDial(ctx); !nodial {
		if err := h.Connect(ctx, peer.AddrInfo{ID: p}); err != nil {
			return nil, err
		}
	}
	s, err := h.Network().NewStream(network.WithNoDial(ctx, "already dialed"), p)
	if err != nil {
		if errors.Is(err, network.ErrNoConn) {
			return nil, errors.New("connection failed")
		}
		return nil, fmt.Errorf("failed to open stream: %w", err)
	}
	defer func() {
		if strErr != nil {
			s.ResetWithError(network.StreamProtocolNegotiationFailed)
		}
	}()
	select {
	case <-h.ids.IdentifyWait(s.Conn()):
	case <-ctx.Done():
		return nil, fmt.Errorf("identify failed to complete: %w", ctx.Err())
	}
	supported, err := h.Peerstore().SupportsProtocols(p, pids...)
	if err != nil {
		return nil, err
	}
	if len(supported) > 0 {
		// Identify said p speaks it: send the header with the first
		// write instead of waiting a round trip for the answer.
		if err := s.SetProtocol(supported[0]); err != nil {
			return nil, err
		}
		return &lazyStream{Stream: s, rw: msmux.NewMSSelect(s, supported[0])}, nil
	}
	var selected protocol.ID
	errCh := make(chan error, 1)
	go func() {
		var err error
		selected, err = msmux.SelectOneOf(pids, s)
		errCh <- err
	}()
	select {
	case err = <-errCh:
		if err != nil {
			return nil, fmt.Errorf("failed to negotiate protocol: %w", err)
		}
	case <-ctx.Done():
		s.ResetWithError(network.StreamProtocolNegotiationFailed)
		<-errCh // SelectOneOf returns once the stream is reset
		return nil, fmt.Errorf("failed to negotiate protocol: %w", ctx.Err())
	}
	if err := s.SetProtocol(selected); err != nil {
		return nil, err
	}
	_ = h.Peerstore().AddProtocols(p, selected)
	return s, nil
}

// lazyStream is a stream whose protocol header goes out with the first
// write (basichost's streamWrapper).
type lazyStream struct {
	network.Stream
	rw io.ReadWriteCloser
}

func (s *lazyStream) Read(b []byte) (int, error)  { return s.rw.Read(b) }
func (s *lazyStream) Write(b []byte) (int, error) { return s.rw.Write(b) }
func (s *lazyStream) Close() error                { return s.rw.Close() }

// CloseWrite flushes the header (if nothing was written) before closing
// the write side; the error of the flush is ignored, as the other end may
// have closed its side for reading.
func (s *lazyStream) CloseWrite() error {
	if f, ok := s.rw.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	return s.Stream.CloseWrite()
}

// Close stops identify and the connection manager, closes the swarm (and
// every connection), the peerstore manager, the peerstore and the resource
// manager, in basichost's order.
func (h *browserHost) Close() error {
	var err error
	h.closeOnce.Do(func() {
		if h.cm != nil {
			h.cm.Close()
		}
		if h.ids != nil {
			h.ids.Close()
		}
		if h.addrsEvt != nil {
			h.addrsEvt.Close()
		}
		err = h.swarm.Close()
		if h.psm != nil {
			h.psm.Close()
		}
		h.Peerstore().Close()
		h.rcmgr.Close()
	})
	return err
}
