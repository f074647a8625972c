//go:build js && wasm

package wasm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	webrtc "github.com/grapevine-p2p/grapevine/wasm/internal/jsrtc"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/transport"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/grapevine-p2p/grapevine/wasm/rtcsignal"
)

// rtcTransport is a libp2p transport over WebRTC data channels between
// browsers (see doc.go). A browser advertises
// <relay's WebSocket address>/p2p/<relay>/p2p-circuit/webrtc; dialing such
// an address signals through that relay (package rtcsignal), opens one
// ordered, reliable data channel, and upgrades it with Noise and yamux like
// any raw connection. Incoming connections are signalled the same way and
// handed to the swarm through the transport's listener on /webrtc.
type rtcTransport struct {
	h     *browserHost
	conf  webrtc.Configuration
	ctx   context.Context
	stop  context.CancelFunc
	in    chan transport.CapableConn
	slots chan struct{} // bounds concurrent incoming handshakes

	// allow says whether a signalling exchange may go ahead (set by the
	// Node once its p2p.Peer runs: caller and relay must be members);
	// until then every exchange is refused.
	allow atomic.Pointer[func(caller, relay peer.ID) bool]
	sig   struct{ answered, refused, busy atomic.Uint64 }

	sigMu    sync.Mutex
	sigPeers map[peer.ID]int // incoming exchanges under way, by relay

	mu    sync.Mutex
	ln    *rtcListener
	conns map[peer.ID]map[*dcConn]struct{} // live raw connections (for traffic counters)
}

// track remembers c as a raw connection to p until it closes.
func (t *rtcTransport) track(p peer.ID, c *dcConn) {
	t.mu.Lock()
	if t.conns == nil {
		t.conns = map[peer.ID]map[*dcConn]struct{}{}
	}
	if t.conns[p] == nil {
		t.conns[p] = map[*dcConn]struct{}{}
	}
	t.conns[p][c] = struct{}{}
	t.mu.Unlock()
	go func() {
		<-c.done
		t.mu.Lock()
		delete(t.conns[p], c)
		if len(t.conns[p]) == 0 {
			delete(t.conns, p)
		}
		t.mu.Unlock()
	}()
}

// traffic returns the data-channel bytes received from and sent to p over
// its live WebRTC connections (two when both sides dialled at once).
func (t *rtcTransport) traffic(p peer.ID) (in, out uint64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns[p] {
		in += c.bytesIn.Load()
		out += c.bytesOut.Load()
		ok = true
	}
	return in, out, ok
}

var rtcListenAddr = ma.StringCast("/webrtc")

func newRTCTransport(h *browserHost, iceServers []string) (*rtcTransport, error) {
	conf, err := iceConfig(iceServers)
	if err != nil {
		return nil, err
	}
	t := &rtcTransport{h: h, conf: conf, in: make(chan transport.CapableConn), slots: make(chan struct{}, 8)}
	t.ctx, t.stop = context.WithCancel(context.Background())
	if err := h.swarm.AddTransport(t); err != nil {
		return nil, err
	}
	if err := h.swarm.Listen(rtcListenAddr); err != nil {
		return nil, err
	}
	h.SetStreamHandler(rtcsignal.Protocol, t.handleSignal)
	return t, nil
}

// iceConfig turns ICE server URLs (ParseICEServers) into the peer connection's configuration.
func iceConfig(servers []string) (webrtc.Configuration, error) {
	var c webrtc.Configuration
	list, err := ParseICEServers(servers)
	if err != nil {
		return c, err
	}
	for _, s := range list {
		c.ICEServers = append(c.ICEServers, webrtc.ICEServer{URLs: []string{s.URL}, Username: s.Username, Credential: s.Credential})
	}
	return c, nil
}

// useRelays makes the host advertise itself as reachable over WebRTC,
// signalled through any of relays (native peers it is connected to; the
// first is the one that answered first). Dialers try the addresses in turn,
// so a tab stays reachable for new WebRTC connections while one of them
// lives.
func (t *rtcTransport) useRelays(relays []peer.AddrInfo) {
	var out []ma.Multiaddr
	for _, r := range relays {
		tail := ma.StringCast("/p2p/" + r.ID.String() + "/p2p-circuit/webrtc")
		for _, a := range r.Addrs {
			if IsWebSocketAddr(a) {
				out = append(out, a.Encapsulate(tail))
				break // one address per relay keeps the membership record small
			}
		}
	}
	t.h.setAdvertised(out)
}

func (t *rtcTransport) close() {
	t.stop()
	t.h.RemoveStreamHandler(rtcsignal.Protocol)
}

func (t *rtcTransport) CanDial(a ma.Multiaddr) bool { return isRTCAddr(a) }

// Protocols claims p2p-circuit too: the swarm hands every relay address to
// the circuit transport, and a browser has no other.
func (t *rtcTransport) Protocols() []int { return []int{ma.P_WEBRTC, ma.P_CIRCUIT} }
func (t *rtcTransport) Proxy() bool      { return false }

func (t *rtcTransport) Listen(a ma.Multiaddr) (transport.Listener, error) {
	if !a.Equal(rtcListenAddr) {
		return nil, fmt.Errorf("the WebRTC transport listens on /webrtc only, not %s", a)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ln != nil {
		return nil, errors.New("already listening on /webrtc")
	}
	t.ln = &rtcListener{t: t, closed: make(chan struct{})}
	return t.ln, nil
}

func (t *rtcTransport) Dial(ctx context.Context, raddr ma.Multiaddr, p peer.ID) (transport.CapableConn, error) {
	relayAddr, ok := splitRTCAddr(raddr)
	if !ok {
		return nil, fmt.Errorf("%s is not a browser WebRTC address", raddr)
	}
	relay, err := peer.AddrInfoFromP2pAddr(relayAddr)
	if err != nil {
		return nil, fmt.Errorf("WebRTC address %s: bad relay part: %v", raddr, err)
	}
	if relay.ID == t.h.ID() || p == t.h.ID() {
		return nil, errors.New("cannot dial self over WebRTC")
	}
	if t.h.Network().Connectedness(relay.ID) != network.Connected {
		if err := t.h.Connect(ctx, *relay); err != nil {
			return nil, fmt.Errorf("reaching signalling relay %s: %w", relay.ID, err)
		}
	}
	scope, err := t.h.rcmgr.OpenConnection(network.DirOutbound, false, raddr)
	if err != nil {
		return nil, err
	}
	s, br, err := rtcsignal.Connect(ctx, t.h, relay.ID, p)
	if err != nil {
		scope.Done()
		return nil, err
	}
	defer s.Close()
	c, err := t.offer(ctx, s, br, raddr)
	if err != nil {
		scope.Done()
		s.Reset()
		return nil, fmt.Errorf("WebRTC to %s: %w", p, err)
	}
	cc, err := t.h.up.Upgrade(ctx, t, c, network.DirOutbound, p, scope)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("securing WebRTC connection to %s: %w", p, err)
	}
	t.track(p, c)
	return cc, nil
}

// offer runs the offering side: data channel, offer with all candidates,
// answer, open.
func (t *rtcTransport) offer(ctx context.Context, s network.Stream, br *bufio.Reader, raddr ma.Multiaddr) (*dcConn, error) {
	pc, err := webrtc.NewPeerConnection(t.conf)
	if err != nil {
		return nil, err
	}
	ordered := true
	dc, err := pc.CreateDataChannel("grapevine", &webrtc.DataChannelInit{Ordered: &ordered})
	if err != nil {
		pc.Close()
		return nil, err
	}
	c := newDCConn(pc, dc, raddr)
	fail := func(err error) (*dcConn, error) { c.Close(); return nil, err }
	sdp, err := pc.CreateOffer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(sdp); err != nil {
		return fail(err)
	}
	if err := waitGather(ctx, gathered); err != nil {
		return fail(err)
	}
	if err := rtcsignal.WriteMsg(s, rtcsignal.Msg{Type: "offer", SDP: pc.LocalDescription().SDP}); err != nil {
		return fail(err)
	}
	m, err := rtcsignal.ReadMsg(br)
	if err != nil {
		return fail(fmt.Errorf("waiting for the answer: %w", err))
	}
	if m.Type == "error" {
		return fail(errors.New(m.Error))
	}
	if m.Type != "answer" {
		return fail(fmt.Errorf("expected an answer, got %q", m.Type))
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
		return fail(err)
	}
	if err := waitCh(ctx, c.opened, "opening the data channel"); err != nil {
		return fail(err)
	}
	return c, nil
}

// Incoming signalling: at most cap(slots) exchanges at once (8), at most
// slotsPerRelay of them through one relay, so one peer (any peer the tab
// is connected to can open a signalling stream) cannot hold them all; the
// relay's header must come within headerWait.
const (
	slotsPerRelay = 4
	headerWait    = 5 * time.Second
)

func (t *rtcTransport) takeSlot(relay peer.ID) bool {
	t.sigMu.Lock()
	defer t.sigMu.Unlock()
	if t.sigPeers[relay] >= slotsPerRelay {
		return false
	}
	select {
	case t.slots <- struct{}{}:
	default:
		return false
	}
	if t.sigPeers == nil {
		t.sigPeers = map[peer.ID]int{}
	}
	t.sigPeers[relay]++
	return true
}

func (t *rtcTransport) releaseSlot(relay peer.ID) {
	t.sigMu.Lock()
	defer t.sigMu.Unlock()
	<-t.slots
	if t.sigPeers[relay]--; t.sigPeers[relay] <= 0 {
		delete(t.sigPeers, relay)
	}
}

// allowed reports whether this tab answers caller's offer relayed by relay.
func (t *rtcTransport) allowed(caller, relay peer.ID) bool {
	f := t.allow.Load()
	return f != nil && caller != t.h.ID() && (*f)(caller, relay)
}

// handleSignal answers an incoming WebRTC connection relayed by a native
// peer. It answers only a caller that is a member of the group, relayed by
// a member (allowed): anyone else is refused before this tab sends its
// SDP, whose ICE candidates carry its addresses (the public one, with a
// STUN server).
func (t *rtcTransport) handleSignal(s network.Stream) {
	relay := s.Conn().RemotePeer()
	if !t.takeSlot(relay) {
		t.sig.busy.Add(1)
		s.Reset()
		return
	}
	defer t.releaseSlot(relay)
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	// A relay sends its header at once: a stream that holds a slot
	// without one is cut after headerWait.
	_ = s.SetDeadline(time.Now().Add(headerWait))
	from, br, err := rtcsignal.AcceptIf(s, func(caller peer.ID) bool { return t.allowed(caller, relay) })
	_ = s.SetDeadline(time.Now().Add(30 * time.Second))
	if errors.Is(err, rtcsignal.ErrNotAllowed) {
		t.sig.refused.Add(1)
		s.Close()
		return
	}
	if err != nil {
		s.Reset()
		return
	}
	t.sig.answered.Add(1)
	defer s.Close()
	c, err := t.answer(ctx, s, br, from)
	if err != nil {
		_ = rtcsignal.WriteMsg(s, rtcsignal.Msg{Type: "error", Error: err.Error()})
		return
	}
	scope, err := t.h.rcmgr.OpenConnection(network.DirInbound, false, c.RemoteMultiaddr())
	if err != nil {
		c.Close()
		return
	}
	cc, err := t.h.up.Upgrade(ctx, t, c, network.DirInbound, "", scope)
	if err != nil {
		c.Close()
		return
	}
	if cc.RemotePeer() != from {
		cc.Close()
		return
	}
	t.track(from, c)
	t.mu.Lock()
	ln := t.ln
	t.mu.Unlock()
	if ln == nil {
		cc.Close()
		return
	}
	select {
	case t.in <- cc:
	case <-ln.closed:
		cc.Close()
	case <-ctx.Done():
		cc.Close()
	}
}

func (t *rtcTransport) answer(ctx context.Context, s network.Stream, br *bufio.Reader, from peer.ID) (*dcConn, error) {
	m, err := rtcsignal.ReadMsg(br)
	if err != nil {
		return nil, err
	}
	if m.Type != "offer" {
		return nil, fmt.Errorf("expected an offer, got %q", m.Type)
	}
	pc, err := webrtc.NewPeerConnection(t.conf)
	if err != nil {
		return nil, err
	}
	raddr := ma.StringCast("/p2p/" + from.String() + "/p2p-circuit/webrtc")
	chc := make(chan *webrtc.DataChannel, 1)
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		select {
		case chc <- dc:
		default:
			dc.Close()
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
		pc.Close()
		return nil, err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		pc.Close()
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		pc.Close()
		return nil, err
	}
	if err := waitGather(ctx, gathered); err != nil {
		pc.Close()
		return nil, err
	}
	if err := rtcsignal.WriteMsg(s, rtcsignal.Msg{Type: "answer", SDP: pc.LocalDescription().SDP}); err != nil {
		pc.Close()
		return nil, err
	}
	var dc *webrtc.DataChannel
	select {
	case dc = <-chc:
	case <-ctx.Done():
		pc.Close()
		return nil, errors.New("timed out waiting for the data channel")
	}
	c := newDCConn(pc, dc, raddr)
	if err := waitCh(ctx, c.opened, "opening the data channel"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// gatherWait bounds the wait for ICE gathering. Host candidates come at
// once; a STUN or TURN server that is slow or unreachable must not hold the
// connection up, so after gatherWait the description goes out with the
// candidates gathered so far (the browser keeps them in localDescription).
const gatherWait = 3 * time.Second

func waitGather(ctx context.Context, gathered <-chan struct{}) error {
	t := time.NewTimer(gatherWait)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
	case <-ctx.Done():
		return errors.New("timed out gathering ICE candidates")
	}
	return nil
}

func waitCh(ctx context.Context, ch <-chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("timed out %s", what)
	}
}

// rtcListener hands incoming WebRTC connections to the swarm.
type rtcListener struct {
	t      *rtcTransport
	once   sync.Once
	closed chan struct{}
}

func (l *rtcListener) Accept() (transport.CapableConn, error) {
	select {
	case c := <-l.t.in:
		return c, nil
	case <-l.closed:
		return nil, transport.ErrListenerClosed
	}
}

func (l *rtcListener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.t.mu.Lock()
		l.t.ln = nil
		l.t.mu.Unlock()
	})
	return nil
}

func (l *rtcListener) Addr() net.Addr          { return rtcNetAddr{} }
func (l *rtcListener) Multiaddr() ma.Multiaddr { return rtcListenAddr }
