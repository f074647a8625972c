// Package site serves the Grapevine browser example: the page, the
// grapevine.js module, Go's wasm_exec.js, the wasm peer and a config.json
// that tells the page which native peers to bootstrap from. It is shared by
// the example's server (examples/browser) and the browser test
// (wasm/browsertest).
package site

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/grapevine-p2p/grapevine/wasm"
)

//go:embed static
var static embed.FS

// Topics the page uses.
const (
	ChatTopic = "chat"
	// SeenTopic carries "seen" reports: every second, each peer of the
	// example lists the chat messages it received lately, so every page
	// can draw who has which message.
	SeenTopic = "grapevine/seen"
)

// Config is what the page is told (config.json) and where the wasm is.
type Config struct {
	// WasmPath is the grapevine.wasm file to serve.
	WasmPath string `json:"-"`
	// WasmExecPath is Go's wasm_exec.js; default: the one of the Go
	// toolchain that runs this program (GOROOT/lib/wasm/wasm_exec.js).
	WasmExecPath string `json:"-"`
	// Bootstrap are native peers' WebSocket multiaddrs.
	Bootstrap []string `json:"bootstrap"`
	Group     string   `json:"group"`
	Profile   string   `json:"profile"`
	// ICEServers for WebRTC (STUN/TURN URLs); empty on one machine.
	ICEServers []string `json:"iceServers"`
}

// DefaultWasmExec returns the wasm_exec.js of the Go toolchain.
func DefaultWasmExec() string {
	root := runtime.GOROOT()
	if root == "" {
		root = os.Getenv("GOROOT")
	}
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return filepath.Join(root, p)
		}
	}
	return ""
}

// Handler serves the example. It fails when the wasm or wasm_exec.js
// cannot be read, with the command that builds them.
func Handler(cfg Config) (http.Handler, error) {
	if cfg.WasmExecPath == "" {
		cfg.WasmExecPath = DefaultWasmExec()
	}
	if _, err := os.Stat(cfg.WasmPath); err != nil {
		return nil, fmt.Errorf("no wasm at %s (build it with scripts/build-wasm.sh): %w", cfg.WasmPath, err)
	}
	if _, err := os.Stat(cfg.WasmExecPath); err != nil {
		return nil, fmt.Errorf("no wasm_exec.js at %q (it ships with Go in $(go env GOROOT)/lib/wasm): %w", cfg.WasmExecPath, err)
	}
	if cfg.Bootstrap == nil {
		cfg.Bootstrap = []string{}
	}
	if cfg.ICEServers == nil {
		cfg.ICEServers = []string{}
	}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	conf, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.FS(sub)))
	bytesHandler := func(ctype string, b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(b)
		}
	}
	mux.Handle("/grapevine.js", bytesHandler("text/javascript; charset=utf-8", wasm.GrapevineJS))
	mux.Handle("/grapevine.d.ts", bytesHandler("text/plain; charset=utf-8", wasm.GrapevineDTS))
	mux.Handle("/config.json", bytesHandler("application/json", conf))
	mux.HandleFunc("/wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		http.ServeFile(w, r, cfg.WasmExecPath)
	})
	gz := &gzipCache{path: cfg.WasmPath}
	gz.ready() // starts compressing in the background; plain until it is done
	mux.HandleFunc("/grapevine.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Add("Vary", "Accept-Encoding")
		// scripts/build-wasm.sh writes grapevine.wasm.br (brotli) and
		// grapevine.wasm.gz (gzip -9); without them, gzip made here.
		if servePrecompressed(w, r, cfg.WasmPath) {
			return
		}
		if acceptsEncoding(r.Header.Get("Accept-Encoding"), "gzip") {
			if b, mod, ok := gz.ready(); ok {
				w.Header().Set("Content-Encoding", "gzip")
				http.ServeContent(w, r, "grapevine.wasm", mod, bytes.NewReader(b))
				return
			}
		}
		http.ServeFile(w, r, cfg.WasmPath)
	})
	return mux, nil
}

// SeenReport is the payload of SeenTopic messages.
type SeenReport struct {
	Keys []string `json:"keys"`
}

// ReportSeen makes a native peer take part in the page's "who has which
// message" picture: it subscribes to ChatTopic and, every second in which
// it received something new, publishes the keys it received in the last
// 30 s on SeenTopic. It returns when ctx ends or the peer closes.
func ReportSeen(ctx context.Context, p *p2p.Peer) error {
	sub, err := p.Subscribe(ChatTopic)
	if err != nil {
		return err
	}
	defer sub.Cancel()
	var mu sync.Mutex
	recent := map[string]time.Time{}
	dirty := false
	go func() {
		for m := range sub.Messages() {
			mu.Lock()
			recent[fmt.Sprintf("%s/%d", m.From, m.Seq)] = time.Now()
			dirty = true
			mu.Unlock()
		}
	}()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		mu.Lock()
		var keys []string
		for k, at := range recent {
			if time.Since(at) > 30*time.Second {
				delete(recent, k)
				continue
			}
			keys = append(keys, k)
		}
		send := dirty
		dirty = false
		mu.Unlock()
		if !send || len(keys) == 0 {
			continue
		}
		sort.Strings(keys)
		b, _ := json.Marshal(SeenReport{Keys: keys})
		if err := p.Publish(ctx, SeenTopic, b); err != nil {
			if errors.Is(err, p2p.ErrClosed) {
				return err
			}
		}
	}
}

// WSAddrs returns a peer's full WebSocket multiaddrs on loopback (what a
// page on the same machine dials).
func WSAddrs(p *p2p.Peer) []string {
	var out []string
	for _, a := range p.Addrs() {
		s := a.String()
		if strings.Contains(s, "/ws/") && strings.HasPrefix(s, "/ip4/127.0.0.1/") {
			out = append(out, s)
		}
	}
	return out
}

// gzipCache holds the wasm compressed once (about a quarter of its size),
// recompressed when the file changes.
type gzipCache struct {
	path string
	mu   sync.Mutex
	busy bool
	mod  time.Time
	size int64
	data []byte
}

// ready returns the compressed wasm if it is up to date, and otherwise
// starts compressing it in the background (compressing 26 MiB takes
// seconds; nobody should wait for it).
func (c *gzipCache) ready() ([]byte, time.Time, bool) {
	st, err := os.Stat(c.path)
	if err != nil {
		return nil, time.Time{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.data != nil && st.ModTime().Equal(c.mod) && st.Size() == c.size {
		return c.data, c.mod, true
	}
	if !c.busy {
		c.busy = true
		go c.get()
	}
	return nil, time.Time{}, false
}

func (c *gzipCache) get() ([]byte, time.Time, error) {
	defer func() { c.mu.Lock(); c.busy = false; c.mu.Unlock() }()
	st, err := os.Stat(c.path)
	if err != nil {
		return nil, time.Time{}, err
	}
	c.mu.Lock()
	if c.data != nil && st.ModTime().Equal(c.mod) && st.Size() == c.size {
		defer c.mu.Unlock()
		return c.data, c.mod, nil
	}
	c.mu.Unlock()
	raw, err := os.ReadFile(c.path)
	if err != nil {
		return nil, time.Time{}, err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return nil, time.Time{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data, c.mod, c.size = buf.Bytes(), st.ModTime(), st.Size()
	return c.data, c.mod, nil
}
