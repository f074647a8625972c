package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/term"
)

func init() {
	register(&command{name: "run", summary: "join a group: publish stdin lines, print what others publish", run: cmdRun})
	register(&command{name: "id", summary: "create or show this peer's identity (its peer ID)", run: cmdID})
	register(&command{name: "version", summary: "print the version", run: cmdVersion})
}

// listFlag is a repeatable flag; each use may also hold comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func defaultKeyPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "grapevine.key"
	}
	return filepath.Join(dir, "grapevine", "identity.key")
}

func newFlagSet(name string, stderr io.Writer, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), help)
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	if err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

const runHelp = `Usage: peer run --group NAME [flags]

Joins the group NAME and stays in it until interrupted (Ctrl-C, SIGTERM),
then leaves gracefully and exits 0.

  - At start it prints its peer ID and full multiaddrs: give one of them to
    other peers as --bootstrap.
  - Every line typed on stdin is published to the group.
  - Every message from another member is printed as
        msg <origin peer ID> <latency> <text>
    (latency: origin's clock at publish to local delivery). The text is
    escaped: control characters, newlines, bidirectional overrides and
    invalid UTF-8 are printed as \x1b, \n, \u202e, \xff (a backslash as
    \\), so a member can neither drive the terminal nor forge a line.
  - Membership changes are printed as
        member <join|suspect|alive|fail|leave|rejoin|update> <peer ID>
  - With --timestamps (the default when stdout is a terminal) msg and
    member lines start with the local time, 2006-01-02T15:04:05.000Z07:00.
  - Status lines (retries, errors) go to stderr.

The key file is locked while the peer runs: a second peer started with
the same key exits with an error, as does a peer whose --listen port is
taken (TCP listens without SO_REUSEPORT).

With --data DIR the peer keeps what it delivered (a watermark per origin),
the messages it recently received and its own sequence numbers in an
embedded database in DIR. Restarted with the same --key and --data, even
after kill -9, it prints what was published while it was down (what
other members still hold, about 30 s with the default profiles) in each
member's order, and its own new messages are never mistaken for old ones.
A message is recorded as printed once its line is written: one that was
delivered and not yet recorded when the process died is printed again
after the restart, marked
        redelivered <origin peer ID> <latency> <text>
(the line may or may not have been printed before the crash; a reader
that must never see a message twice skips these, one that must never miss
one treats them as msg lines). Nothing else is printed twice. Without --data a restarted peer
is a newcomer. A newcomer prints nothing published before it first joined
(--history none), the last K messages per topic (--history last:K), or
all the group still holds (--history all).

The first peer of a group needs no --bootstrap. The others name at least one
member's multiaddr (ending in /p2p/<peer ID>); the peer joins the group's
Kademlia DHT through it, finds other members there and keeps finding fresh
ones with random walks. --seed joins a member directly without the DHT
(use with --dht=false for a group with no DHT at all). An unreachable
bootstrap peer is retried with backoff.

A closed group admits only members holding a certificate of the group's
authority: --authority-pub FILE --cert FILE [--revocations FILE] (see
"peer authority --help").

Example:
  peer run --group demo --key a.key --listen /ip4/127.0.0.1/tcp/4001
  peer run --group demo --key b.key --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...
`

func cmdRun(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr, runHelp)
	var listen, bootstrap, seeds listFlag
	fs.Var(&listen, "listen", "multiaddr to listen on; repeatable (default: TCP, QUIC v1, WebTransport, WebRTC-direct and WebSocket on all interfaces, random ports)")
	fs.Var(&bootstrap, "bootstrap", "multiaddr of a member to join the DHT and group through; repeatable")
	fs.Var(&seeds, "seed", "multiaddr of a member to join directly (no DHT needed); repeatable")
	group := fs.String("group", "", "name of the group to join (required)")
	keyFile := fs.String("key", defaultKeyPath(), "identity key file; created (mode 0600) if missing, so the peer ID is stable")
	metrics := fs.String("metrics", "", "serve Prometheus metrics on this address at /metrics (e.g. 127.0.0.1:9090)")
	topic := fs.String("topic", "chat", "topic to publish stdin lines on and print messages of")
	useDHT := fs.Bool("dht", true, "join the group's Kademlia DHT")
	mdns := fs.Bool("mdns", false, "also find members on the local network with mDNS")
	profile := fs.String("profile", "lan", "timing profile: lan, wan or local")
	quiet := fs.Bool("quiet", false, "do not print membership events")
	data := fs.String("data", "", "data directory: keep delivery watermarks, recent messages and sequence numbers there, so a restart (even after kill -9) delivers nothing twice and catches up on what it missed")
	history := fs.String("history", "none", "what a newcomer receives from before it first joined: none, last:K (the last K messages per topic the group still holds) or all")
	timestamps := fs.Bool("timestamps", isTerminal(stdout), "start msg and member lines with the local time (default: on when stdout is a terminal)")
	authPub := fs.String("authority-pub", "", "closed group: the group authority's public key file (peer authority new)")
	certFile := fs.String("cert", "", "closed group: this peer's member certificate (peer authority issue)")
	revFile := fs.String("revocations", "", "closed group: the group's revocation list (peer authority revoke)")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
		}
		return err
	}
	if *group == "" {
		return usageError{"--group is required"}
	}
	prof, ok := p2p.ParseProfile(*profile)
	if !ok {
		return usageError{fmt.Sprintf("unknown --profile %q (want lan, wan or local)", *profile)}
	}
	hist, err := parseHistory(*history)
	if err != nil {
		return usageError{err.Error()}
	}
	// Check every address before touching the network.
	if _, err := p2p.ParseAddrInfos(bootstrap); err != nil {
		return fmt.Errorf("--bootstrap: %v", err)
	}
	if _, err := p2p.ParseAddrInfos(seeds); err != nil {
		return fmt.Errorf("--seed: %v", err)
	}
	closed, err := closedGroupOptions(*authPub, *certFile, *revFile)
	if err != nil {
		return err
	}
	sk, created, err := p2p.LoadOrCreateKey(*keyFile)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stderr, "created identity key %s\n", *keyFile)
	}
	lock, err := lockKey(*keyFile)
	if err != nil {
		return err
	}
	if lock != nil {
		defer lock.Close()
	}

	var errOut sync.Mutex
	say := func(format string, a ...any) {
		errOut.Lock()
		fmt.Fprintf(stderr, format+"\n", a...)
		errOut.Unlock()
	}
	opts := []p2p.Option{
		p2p.WithGroup(*group),
		p2p.WithIdentity(sk),
		p2p.WithDHT(*useDHT),
		p2p.WithMDNS(*mdns),
		p2p.WithProfile(prof),
		p2p.WithNotice(func(msg string) { say("%s", msg) }),
		p2p.WithHistory(hist),
	}
	if *data != "" {
		opts = append(opts, p2p.WithDataDir(*data))
	}
	opts = append(opts, closed...)
	if len(listen) > 0 {
		opts = append(opts, p2p.WithListenAddrs(listen...))
	}
	if len(bootstrap) > 0 {
		opts = append(opts, p2p.WithBootstrap(bootstrap...))
	}
	if len(seeds) > 0 {
		opts = append(opts, p2p.WithSeeds(seeds...))
	}
	var reg *prometheus.Registry
	var ln net.Listener
	if *metrics != "" {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		opts = append(opts, p2p.WithMetrics(reg))
		ln, err = net.Listen("tcp", *metrics)
		if err != nil {
			return fmt.Errorf("--metrics: cannot listen on %s: %v", *metrics, errors.Unwrap(err))
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := p2p.New(ctx, opts...)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}
	var srv *http.Server
	if ln != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
	}

	var out sync.Mutex
	print := func(format string, a ...any) {
		out.Lock()
		fmt.Fprintf(stdout, format+"\n", a...)
		out.Unlock()
	}
	event := func(format string, a ...any) {
		if *timestamps {
			format = time.Now().Format(timestampFormat) + " " + format
		}
		print(format, a...)
	}
	print("peer %s", p.ID())
	print("group %s", *group)
	for _, a := range p.Addrs() {
		print("listening %s", a)
	}

	var subOpts []p2p.SubscribeOption
	if *data != "" {
		// A line counts as printed once written (Message.Ack below).
		subOpts = append(subOpts, p2p.WithAcks())
	}
	sub, err := p.Subscribe(*topic, subOpts...)
	if err != nil {
		p.Close()
		return err
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for m := range sub.Messages() {
			if m.Local {
				m.Ack()
				continue
			}
			kind := "msg"
			if m.Redelivered {
				kind = "redelivered"
			}
			event("%s %s %s %s", kind, m.From, fmtLatency(m.Latency), escapeText(string(m.Data)))
			m.Ack()
		}
	}()
	go func() {
		defer wg.Done()
		for ev := range p.Events() {
			if !*quiet && !ev.Member.Self {
				event("member %s %s", ev.Kind, ev.Member.ID)
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				continue
			}
			if err := p.Publish(ctx, *topic, []byte(line)); err != nil {
				if ctx.Err() != nil {
					return
				}
				say("publish failed: %v", err)
			}
		}
		if err := sc.Err(); err != nil && ctx.Err() == nil {
			say("reading stdin: %v", err)
		}
	}()

	<-ctx.Done()
	stop()
	say("leaving the group")
	err = p.Close()
	wg.Wait()
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	if err != nil {
		return fmt.Errorf("closing: %v", err)
	}
	return nil
}

// timestampFormat is RFC 3339 with milliseconds, as in serf's and consul's
// logs.
const timestampFormat = "2006-01-02T15:04:05.000Z07:00"

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func fmtLatency(d time.Duration) string {
	switch {
	case d < 0:
		return "0ms"
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(time.Millisecond).String()
}

const idHelp = `Usage: peer id [--key FILE]

Prints the peer ID of the identity key in FILE, creating the key (ed25519,
file mode 0600) if the file does not exist.
`

func cmdID(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("id", stderr, idHelp)
	keyFile := fs.String("key", defaultKeyPath(), "identity key file")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
		}
		return err
	}
	sk, created, err := p2p.LoadOrCreateKey(*keyFile)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stderr, "created identity key %s\n", *keyFile)
	}
	id, err := peerIDOf(sk)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id)
	return nil
}

func cmdVersion(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", stderr, "Usage: peer version\n\nPrints the Grapevine version.\n")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, errHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
		}
		return err
	}
	fmt.Fprintf(stdout, "grapevine peer %s (wire version 1, protocols %s and %s, each with a per-group suffix)\n",
		p2p.Version, p2p.GossipProtocol, p2p.MembershipProtocol)
	return nil
}

// parseHistory parses --history: none or last:K.
func parseHistory(s string) (p2p.History, error) {
	switch s {
	case "none":
		return p2p.HistoryNone(), nil
	case "all":
		return p2p.HistoryAll(), nil
	}
	if k, ok := strings.CutPrefix(s, "last:"); ok {
		if n, err := strconv.Atoi(k); err == nil && n > 0 {
			return p2p.HistoryLast(n), nil
		}
	}
	return p2p.History{}, fmt.Errorf("unknown --history %q (want none, last:K with K a positive number, or all)", s)
}
