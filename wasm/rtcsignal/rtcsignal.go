// Package rtcsignal relays WebRTC signalling between browser peers through
// a native Grapevine peer, over libp2p streams.
//
// Two browsers cannot reach each other before they have a WebRTC
// connection, and to make one they must first exchange an SDP offer and
// answer (with ICE candidates). Both are connected to native peers over
// WebSocket, so a native peer they share carries the exchange: browser A
// opens a stream with Protocol to native peer R and asks for B; R, if B is
// connected to it at that moment, opens a stream with Protocol to B, and
// then copies bytes between the two streams until either side closes, a
// byte budget is spent, or a deadline passes. R never dials anyone for a
// request and never reads what it copies; the browsers authenticate each
// other afterwards (Noise over the data channel), so a relay can at worst
// stall or break a signalling exchange, not impersonate a peer.
//
// Wire format on a stream (all messages length-prefixed with a uvarint):
//
//	A -> R:  version 1, kind 1 (connect), target peer ID (bytes)
//	R -> B:  version 1, kind 2 (incoming), source peer ID (bytes)
//	B -> R, R -> A: status: 0 ok, or 1 and an error text
//
// after which the stream carries the signalling messages of Msg, opaque
// to R.
package rtcsignal

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"golang.org/x/time/rate"
)

// Protocol is the libp2p protocol ID of the signalling streams.
const Protocol protocol.ID = "/grapevine/webrtc-signal/1.0.0"

const (
	version      = 1
	kindConnect  = 1
	kindIncoming = 2
	statusOK     = 0
	statusError  = 1
	maxHeader    = 256
	// MaxMsg bounds one signalling message (an SDP with candidates is a few KiB).
	MaxMsg = 64 << 10
)

// Limits bound what a relay spends. Zero fields take the defaults.
type Limits struct {
	// Concurrent relayed exchanges (default 64); more are refused.
	Concurrent int
	// Bytes copied per direction per exchange (default 256 KiB).
	Bytes int64
	// Duration of one exchange (default 30 s).
	Duration time.Duration
	// PerPeer bounds the exchanges one requesting peer holds at once
	// (default 4): a browser makes one WebRTC connection at a time per
	// target and rarely signals to more than a few targets together, so 4
	// is ample for an honest tab while a hostile one cannot hold all of
	// Concurrent.
	PerPeer int
	// PerPeerRate bounds how often one peer may ask (requests per second,
	// default 1, with a burst of PerPeerBurst, default 8): a tab opens a
	// WebRTC connection per new neighbour, a handful per minute.
	PerPeerRate  float64
	PerPeerBurst int
}

// Stats count a relay's work.
type Stats struct {
	Relayed  uint64 // exchanges set up
	Refused  uint64 // target not connected, over the limit, bad request
	Bytes    uint64 // bytes copied
	Truncate uint64 // exchanges cut by the byte or time budget
	// Of Refused: requests over PerPeer (one peer holding too many
	// exchanges) and over PerPeerRate.
	RefusedPeerSlots uint64
	RefusedPeerRate  uint64
}

// Relay is the native side: the handler of Protocol.
type Relay struct {
	h      host.Host
	lim    Limits
	active atomic.Int64
	st     struct {
		relayed, refused, bytes, truncated atomic.Uint64
		peerSlots, peerRate                atomic.Uint64
	}

	mu    sync.Mutex
	peers map[peer.ID]*peerState // requesters with exchanges or recent requests
}

// peerState is one requester's share of the relay.
type peerState struct {
	active int
	lim    *rate.Limiter
	last   time.Time // last request, to forget idle peers
}

// maxTracked bounds the per-peer table; idle entries (no exchange under
// way, no request for a minute, so their rate bucket is full again) are
// dropped when it is reached.
const maxTracked = 4096

// admit reserves an exchange slot for p, or says why not.
func (r *Relay) admit(p peer.ID, now time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps := r.peers[p]
	if ps == nil {
		if len(r.peers) >= maxTracked {
			for id, o := range r.peers {
				if o.active == 0 && now.Sub(o.last) > time.Minute {
					delete(r.peers, id)
				}
			}
		}
		if len(r.peers) >= maxTracked {
			r.st.peerRate.Add(1)
			return "relay busy"
		}
		ps = &peerState{lim: rate.NewLimiter(rate.Limit(r.lim.PerPeerRate), r.lim.PerPeerBurst)}
		r.peers[p] = ps
	}
	ps.last = now
	if ps.active >= r.lim.PerPeer {
		r.st.peerSlots.Add(1)
		return "too many signalling exchanges from this peer"
	}
	if !ps.lim.AllowN(now, 1) {
		r.st.peerRate.Add(1)
		return "signalling requests too frequent"
	}
	ps.active++
	return ""
}

// release frees p's slot taken by admit.
func (r *Relay) release(p peer.ID) {
	r.mu.Lock()
	if ps := r.peers[p]; ps != nil {
		ps.active--
	}
	r.mu.Unlock()
}

// Serve registers the relay on h and returns it.
func Serve(h host.Host, lim Limits) *Relay {
	if lim.Concurrent <= 0 {
		lim.Concurrent = 64
	}
	if lim.Bytes <= 0 {
		lim.Bytes = 256 << 10
	}
	if lim.Duration <= 0 {
		lim.Duration = 30 * time.Second
	}
	if lim.PerPeer <= 0 {
		lim.PerPeer = 4
	}
	if lim.PerPeerRate <= 0 {
		lim.PerPeerRate = 1
	}
	if lim.PerPeerBurst <= 0 {
		lim.PerPeerBurst = 8
	}
	r := &Relay{h: h, lim: lim, peers: map[peer.ID]*peerState{}}
	h.SetStreamHandler(Protocol, r.handle)
	return r
}

// Close unregisters the relay (exchanges under way run to their end).
func (r *Relay) Close() { r.h.RemoveStreamHandler(Protocol) }

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	return Stats{Relayed: r.st.relayed.Load(), Refused: r.st.refused.Load(), Bytes: r.st.bytes.Load(), Truncate: r.st.truncated.Load(),
		RefusedPeerSlots: r.st.peerSlots.Load(), RefusedPeerRate: r.st.peerRate.Load()}
}

func (r *Relay) refuse(s network.Stream, msg string) {
	r.st.refused.Add(1)
	_ = s.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = writeStatus(s, msg)
	s.Close()
}

func (r *Relay) handle(s network.Stream) {
	deadline := time.Now().Add(r.lim.Duration)
	_ = s.SetDeadline(deadline)
	br := bufio.NewReader(s)
	kind, id, err := readHeader(br)
	if err != nil || kind != kindConnect {
		r.st.refused.Add(1)
		s.Reset()
		return
	}
	if r.active.Add(1) > int64(r.lim.Concurrent) {
		r.active.Add(-1)
		r.refuse(s, "relay busy")
		return
	}
	defer r.active.Add(-1)
	from := s.Conn().RemotePeer()
	if why := r.admit(from, time.Now()); why != "" {
		r.refuse(s, why)
		return
	}
	defer r.release(from)
	if id == from || id == r.h.ID() {
		r.refuse(s, "bad target")
		return
	}
	if r.h.Network().Connectedness(id) != network.Connected {
		r.refuse(s, fmt.Sprintf("peer %s is not connected to this relay", id))
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	t, err := r.h.NewStream(network.WithNoDial(ctx, "signalling relay"), id, Protocol)
	if err != nil {
		r.refuse(s, fmt.Sprintf("cannot reach %s: %v", id, err))
		return
	}
	_ = t.SetDeadline(deadline)
	bt := bufio.NewReader(t)
	if err := writeHeader(t, kindIncoming, from); err != nil {
		t.Reset()
		r.refuse(s, "target did not answer")
		return
	}
	if err := readStatus(bt); err != nil {
		t.Reset()
		r.refuse(s, fmt.Sprintf("target refused: %v", err))
		return
	}
	if err := writeStatus(s, ""); err != nil {
		t.Reset()
		s.Reset()
		return
	}
	r.st.relayed.Add(1)
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(dst network.Stream, src io.Reader) {
		defer wg.Done()
		n, err := io.Copy(dst, io.LimitReader(src, r.lim.Bytes))
		r.st.bytes.Add(uint64(n))
		if n >= r.lim.Bytes || errors.Is(err, network.ErrReset) || isTimeout(err) {
			if n >= r.lim.Bytes || isTimeout(err) {
				r.st.truncated.Add(1)
			}
			dst.Reset()
			return
		}
		dst.CloseWrite()
	}
	go pipe(t, br)
	go pipe(s, bt)
	wg.Wait()
	s.Close()
	t.Close()
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// Connect is the browser side of a request: it asks relay to connect this
// host to target and returns the stream to exchange Msgs on.
func Connect(ctx context.Context, h host.Host, relay, target peer.ID) (network.Stream, *bufio.Reader, error) {
	s, err := h.NewStream(ctx, relay, Protocol)
	if err != nil {
		return nil, nil, fmt.Errorf("opening a signalling stream to relay %s: %w", relay, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	br := bufio.NewReader(s)
	if err := writeHeader(s, kindConnect, target); err != nil {
		s.Reset()
		return nil, nil, err
	}
	if err := readStatus(br); err != nil {
		s.Reset()
		return nil, nil, fmt.Errorf("relay %s: %w", relay, err)
	}
	return s, br, nil
}

// ErrNotAllowed is returned by AcceptIf for a caller it refused.
var ErrNotAllowed = errors.New("signalling refused: caller is not a member of this peer's group")

// Accept is the browser side of an incoming exchange: it reads the relay's
// header and answers ok; it returns who is calling.
func Accept(s network.Stream) (from peer.ID, br *bufio.Reader, err error) {
	return AcceptIf(s, nil)
}

// AcceptIf is Accept that first asks allow (if not nil) about the caller:
// a caller it refuses gets an error status, before this side sends
// anything else (no SDP, so no ICE candidate, leaves), and AcceptIf
// returns the caller with ErrNotAllowed.
func AcceptIf(s network.Stream, allow func(peer.ID) bool) (from peer.ID, br *bufio.Reader, err error) {
	br = bufio.NewReader(s)
	kind, id, err := readHeader(br)
	if err != nil {
		return "", nil, err
	}
	if kind != kindIncoming {
		_ = writeStatus(s, "this peer is not a relay")
		return "", nil, errors.New("not an incoming request")
	}
	if allow != nil && !allow(id) {
		_ = writeStatus(s, ErrNotAllowed.Error())
		return id, nil, ErrNotAllowed
	}
	if err := writeStatus(s, ""); err != nil {
		return "", nil, err
	}
	return id, br, nil
}

// Msg is one signalling message: an SDP offer or answer (with the ICE
// candidates gathered so far), or one trickled ICE candidate.
type Msg struct {
	Type      string `json:"type"` // "offer", "answer", "candidate", "error"
	SDP       string `json:"sdp,omitempty"`
	Candidate string `json:"candidate,omitempty"`
	SDPMid    string `json:"sdpMid,omitempty"`
	MLineIdx  *int   `json:"sdpMLineIndex,omitempty"`
	Error     string `json:"error,omitempty"`
}

// WriteMsg writes m length-prefixed.
func WriteMsg(w io.Writer, m Msg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return writeFrame(w, b)
}

// ReadMsg reads one message written by WriteMsg.
func ReadMsg(r *bufio.Reader) (Msg, error) {
	var m Msg
	b, err := readFrame(r, MaxMsg)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("bad signalling message: %v", err)
	}
	return m, nil
}

func writeFrame(w io.Writer, b []byte) error {
	buf := binary.AppendUvarint(make([]byte, 0, len(b)+binary.MaxVarintLen32), uint64(len(b)))
	_, err := w.Write(append(buf, b...))
	return err
}

func readFrame(r *bufio.Reader, max int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("signalling message of %d bytes (limit %d)", n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func writeHeader(w io.Writer, kind byte, id peer.ID) error {
	return writeFrame(w, append([]byte{version, kind}, []byte(id)...))
}

func readHeader(r *bufio.Reader) (byte, peer.ID, error) {
	b, err := readFrame(r, maxHeader)
	if err != nil {
		return 0, "", err
	}
	if len(b) < 3 || b[0] != version {
		return 0, "", errors.New("bad signalling header")
	}
	id, err := peer.IDFromBytes(b[2:])
	if err != nil {
		return 0, "", fmt.Errorf("bad peer ID in signalling header: %v", err)
	}
	return b[1], id, nil
}

func writeStatus(w io.Writer, errText string) error {
	if errText == "" {
		return writeFrame(w, []byte{statusOK})
	}
	return writeFrame(w, append([]byte{statusError}, errText...))
}

func readStatus(r *bufio.Reader) error {
	b, err := readFrame(r, 1024)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return errors.New("empty status")
	}
	if b[0] == statusOK {
		return nil
	}
	return errors.New(string(b[1:]))
}
