// Command browser runs the Grapevine browser example: a few native peers
// listening on WebSocket, and an HTTP server for the page, grapevine.js,
// wasm_exec.js and the wasm peer. Open the printed URL in several tabs:
// each tab is a full member of the group.
//
//	scripts/build-wasm.sh && go run ./examples/browser
//
// With -join the page bootstraps from peers that already run (for example
// `peer run`); their WebSocket addresses must be reachable from the browser.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/grapevine-p2p/grapevine/examples/browser/site"
	"github.com/grapevine-p2p/grapevine/p2p"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "browser example:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "HTTP address to serve the page on")
	natives := flag.Int("natives", 3, "native peers to start (0 with -join)")
	wasmPath := flag.String("wasm", "build/wasm/grapevine.wasm", "the wasm peer built by scripts/build-wasm.sh")
	wasmExec := flag.String("wasm-exec", "", "Go's wasm_exec.js (default: the Go toolchain's)")
	group := flag.String("group", "browser-demo", "group name")
	profile := flag.String("profile", "lan", "timing profile: lan, wan or local")
	join := flag.String("join", "", "comma-separated WebSocket multiaddrs of running peers for the page to bootstrap from")
	ice := flag.String("ice", "", "comma-separated STUN/TURN URLs for WebRTC (empty on one machine)")
	flag.Parse()

	prof, ok := p2p.ParseProfile(*profile)
	if !ok {
		return fmt.Errorf("unknown profile %q (lan, wan or local)", *profile)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var bootstrap []string
	if *join != "" {
		bootstrap = strings.Split(*join, ",")
	}
	var peers []*p2p.Peer
	defer func() {
		for _, p := range peers {
			p.Close()
		}
	}()
	for i := 0; i < *natives; i++ {
		opts := []p2p.Option{
			p2p.WithGroup(*group), p2p.WithProfile(prof), p2p.WithDHT(false),
			p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0/ws", "/ip4/127.0.0.1/tcp/0"),
		}
		if len(peers) > 0 {
			opts = append(opts, p2p.WithSeeds(site.WSAddrs(peers[0])...))
		} else if len(bootstrap) > 0 {
			opts = append(opts, p2p.WithSeeds(bootstrap...))
		}
		p, err := p2p.New(ctx, opts...)
		if err != nil {
			return fmt.Errorf("starting native peer %d: %w", i, err)
		}
		peers = append(peers, p)
		go site.ReportSeen(ctx, p)
		fmt.Printf("native peer %d: %s\n", i, strings.Join(site.WSAddrs(p), " "))
	}
	for _, p := range peers {
		bootstrap = append(bootstrap, site.WSAddrs(p)...)
	}
	if len(bootstrap) == 0 {
		return errors.New("nothing to bootstrap from: use -natives N or -join ADDRS")
	}
	var iceServers []string
	if *ice != "" {
		iceServers = strings.Split(*ice, ",")
	}
	h, err := site.Handler(site.Config{WasmPath: *wasmPath, WasmExecPath: *wasmExec, Bootstrap: bootstrap,
		Group: *group, Profile: *profile, ICEServers: iceServers})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Printf("Grapevine browser example: open http://%s/ in a few tabs (Ctrl-C to stop)\n", ln.Addr())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
