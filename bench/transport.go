package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// Transports and the silent crash.
//
// Every host's traffic passes through a wrapper that can blackhole it: a
// silently crashed host's packets are dropped in both directions, nothing
// is closed, no FIN, RST or QUIC CONNECTION_CLOSE is sent, and the host and
// the system on it keep running until the run ends. Its peers learn of the
// crash only from their own timeouts, as when a machine loses power. The
// wrapper is installed for every scenario and both systems, so that all
// rows pay the same (small) price for it.
//
//   - QUIC: one UDP socket per host (go-libp2p's quicreuse dials from the
//     listening socket), supplied through quicreuse.OverrideListenUDP and
//     wrapped in holePacketConn: a dead host's reads discard what arrives,
//     its writes report success and send nothing. The wrapper hides the
//     socket's batch and OOB paths (quic-go falls back to plain
//     ReadFrom/WriteTo, for both systems alike).
//   - TCP: every connection is dialled through tcp.WithDialerForAddr; the
//     dialling side knows both ends (its own host, and the remote host by
//     its listening port), and its holeConn swallows reads and writes once
//     either end is dead. The accepting side is left alone: it receives
//     nothing because the dialling side writes nothing.

// raiseFileLimit raises the soft limit on open files to the hard limit (TCP
// runs hold a descriptor per connection end).
func raiseFileLimit() (soft, hard uint64) {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil {
		return 0, 0
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	return rl.Cur, rl.Max
}

type testbed struct {
	hosts []host.Host
	bw    []*metrics.BandwidthCounter
	dead  []atomic.Bool // dead[i]: host i crashed silently (blackholed)
	mu    sync.Mutex
	port  map[int]int // TCP listening port -> host index
	// udpOut counts UDP payload bytes written by all hosts (QUIC): the
	// process's wchar does not see sendto/sendmsg.
	udpOut atomic.Int64
	// udpPackets counts the UDP datagrams written by all hosts (QUIC):
	// per-packet costs (system calls, encryption, acks) dominate the CPU
	// of small messages, so -stats reports them beside the bytes.
	udpPackets atomic.Int64
	quic       bool
}

// wireBytesOut is the bytes the hosts have written to the network: UDP
// payloads over QUIC, the process's write-like system calls over TCP.
func (tb *testbed) wireBytesOut() int64 {
	if tb.quic {
		return tb.udpOut.Load()
	}
	return procIO()
}

// quietResourceManager is go-libp2p's default resource manager (its default
// limits, scaled to the machine, with the default service limits) without
// its metrics. libp2p.DisableMetrics does not reach the default resource
// manager in go-libp2p v0.51: it fed every memory reservation to a tracer
// that formats a timestamp under a lock, 6 % of a 50-host run's CPU (bench
// -windowprofile), charged to whichever system reserves per frame. Both
// systems' hosts use it, as a node without a metrics registry would.
func quietResourceManager() (network.ResourceManager, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()), rcmgr.WithMetricsDisabled())
}

func newHosts(n int, transport string) (*testbed, error) {
	tb := &testbed{dead: make([]atomic.Bool, n), port: map[int]int{}, quic: transport == "quic"}
	for i := 0; i < n; i++ {
		bw := metrics.NewBandwidthCounter()
		rm, err := quietResourceManager()
		if err != nil {
			tb.close()
			return nil, err
		}
		opts := []libp2p.Option{
			libp2p.BandwidthReporter(bw),
			libp2p.DisableMetrics(),
			libp2p.ResourceManager(rm),
		}
		switch transport {
		case "quic":
			dead := &tb.dead[i]
			opts = append(opts,
				libp2p.ListenAddrStrings("/ip4/127.0.0.1/udp/0/quic-v1"),
				libp2p.Transport(libp2pquic.NewTransport),
				libp2p.QUICReuse(quicreuse.NewConnManager, quicreuse.OverrideListenUDP(
					func(network string, laddr *net.UDPAddr) (net.PacketConn, error) {
						c, err := net.ListenUDP(network, laddr)
						if err != nil {
							return nil, err
						}
						return &holePacketConn{c: c, dead: dead, out: &tb.udpOut, packets: &tb.udpPackets}, nil
					}),
					// Both systems' dials ask the routing table through
					// the same cache (source_ip.go), not once a dial.
					quicreuse.OverrideSourceIPSelector(newSourceIPCache)),
			)
		case "tcp":
			self := i
			opts = append(opts,
				libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
				libp2p.Transport(tcp.NewTCPTransport, tcp.WithDialerForAddr(func(ma.Multiaddr) (tcp.ContextDialer, error) {
					return &holeDialer{tb: tb, self: self}, nil
				})),
				libp2p.Security(noise.ID, noise.New),
				libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
			)
		default:
			return nil, fmt.Errorf("unknown transport %q (quic or tcp)", transport)
		}
		h, err := libp2p.New(opts...)
		if err != nil {
			tb.close()
			return nil, err
		}
		tb.hosts = append(tb.hosts, h)
		tb.bw = append(tb.bw, bw)
		if transport == "tcp" {
			tb.mu.Lock()
			for _, a := range h.Addrs() {
				if p, err := a.ValueForProtocol(ma.P_TCP); err == nil {
					if v, err := strconv.Atoi(p); err == nil {
						tb.port[v] = i
					}
				}
			}
			tb.mu.Unlock()
		}
	}
	return tb, nil
}

// crash blackholes host i's traffic from now on (silent crash).
func (tb *testbed) crash(i int) { tb.dead[i].Store(true) }

func (tb *testbed) close() {
	var wg sync.WaitGroup
	for _, h := range tb.hosts {
		wg.Add(1)
		go func(h host.Host) { defer wg.Done(); h.Close() }(h)
	}
	wg.Wait()
}

func (tb *testbed) streamBytesOut() int64 {
	var t int64
	for _, bw := range tb.bw {
		t += bw.GetBandwidthTotals().TotalOut
	}
	return t
}

// holePacketConn is a host's UDP socket that drops everything once dead.
// It deliberately does not expose the *net.UDPConn (quic-go would use its
// batch and OOB calls and bypass ReadFrom/WriteTo).
type holePacketConn struct {
	c       *net.UDPConn
	dead    *atomic.Bool
	out     *atomic.Int64 // payload bytes written
	packets *atomic.Int64 // datagrams written
}

func (h *holePacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, a, err := h.c.ReadFrom(p)
		if !h.dead.Load() {
			return n, a, err
		}
		if err != nil {
			return 0, a, err
		}
	}
}

func (h *holePacketConn) WriteTo(p []byte, a net.Addr) (int, error) {
	if h.dead.Load() {
		return len(p), nil
	}
	n, err := h.c.WriteTo(p, a)
	h.out.Add(int64(n))
	h.packets.Add(1)
	return n, err
}

func (h *holePacketConn) Close() error                       { return h.c.Close() }
func (h *holePacketConn) LocalAddr() net.Addr                { return h.c.LocalAddr() }
func (h *holePacketConn) SetDeadline(t time.Time) error      { return h.c.SetDeadline(t) }
func (h *holePacketConn) SetReadDeadline(t time.Time) error  { return h.c.SetReadDeadline(t) }
func (h *holePacketConn) SetWriteDeadline(t time.Time) error { return h.c.SetWriteDeadline(t) }
func (h *holePacketConn) SetReadBuffer(n int) error          { return h.c.SetReadBuffer(n) }
func (h *holePacketConn) SetWriteBuffer(n int) error         { return h.c.SetWriteBuffer(n) }

// holeDialer dials TCP for host self and wraps the connection so that it
// goes silent once either end is dead.
type holeDialer struct {
	tb   *testbed
	self int
}

func (d *holeDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	remote := -1
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		d.tb.mu.Lock()
		if r, ok := d.tb.port[ta.Port]; ok {
			remote = r
		}
		d.tb.mu.Unlock()
	}
	hc := &holeConn{TCPConn: c.(*net.TCPConn), a: &d.tb.dead[d.self]}
	if remote >= 0 {
		hc.b = &d.tb.dead[remote]
	}
	return hc, nil
}

// holeConn is a dialled TCP connection between hosts a and b: once either
// is dead, reads discard what arrives (and never return it) and writes
// report success and send nothing. Close still closes (a live end may give
// up on the connection; the dead end never does).
type holeConn struct {
	*net.TCPConn
	a, b *atomic.Bool
}

func (h *holeConn) silent() bool { return h.a.Load() || (h.b != nil && h.b.Load()) }

func (h *holeConn) Read(p []byte) (int, error) {
	for {
		n, err := h.TCPConn.Read(p)
		if !h.silent() {
			return n, err
		}
		if err != nil {
			return 0, err
		}
	}
}

func (h *holeConn) Write(p []byte) (int, error) {
	if h.silent() {
		return len(p), nil
	}
	return h.TCPConn.Write(p)
}
