package site

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPrecompressedWasm: the server picks grapevine.wasm.br or .gz by the
// request's Accept-Encoding, sends them as they are on disk with the right
// Content-Encoding, and skips a copy older than the wasm.
func TestPrecompressedWasm(t *testing.T) {
	dir := t.TempDir()
	wasmPath := filepath.Join(dir, "grapevine.wasm")
	files := map[string][]byte{
		"":    []byte("\x00asm plain"),
		".br": []byte("brotli bytes"),
		".gz": []byte("gzip bytes"),
	}
	// One modification time for all three: written in map order within
	// one clock tick, a copy could otherwise look older than the wasm
	// (or newer), and the choice below would depend on the order.
	now := time.Now()
	for ext, b := range files {
		if err := os.WriteFile(wasmPath+ext, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(wasmPath+ext, now, now); err != nil {
			t.Fatal(err)
		}
	}
	h, err := Handler(Config{WasmPath: wasmPath})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(acceptEncoding string) (string, []byte) {
		req, _ := http.NewRequest("GET", srv.URL+"/grapevine.wasm", nil)
		req.Header.Set("Accept-Encoding", acceptEncoding)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/wasm" || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("Accept-Encoding %q: %s, Content-Type %q, Vary %q", acceptEncoding, resp.Status,
				resp.Header.Get("Content-Type"), resp.Header.Get("Vary"))
		}
		return resp.Header.Get("Content-Encoding"), body
	}
	for _, c := range []struct{ accept, want string }{
		{"gzip, deflate, br, zstd", ".br"}, // Chromium over https
		{"gzip, deflate", ".gz"},           // Chromium over http
		{"br;q=0, gzip", ".gz"},
		{"br;q=0.5", ".br"},
		{"*", ".br"},
		{"*, br;q=0", ".gz"},
		{"identity", ""},
		{"", ""},
	} {
		enc, body := get(c.accept)
		wantEnc := map[string]string{".br": "br", ".gz": "gzip", "": ""}[c.want]
		if enc != wantEnc || !bytes.Equal(body, files[c.want]) {
			t.Errorf("Accept-Encoding %q: got Content-Encoding %q, body %q; want %q, %q", c.accept, enc, body, wantEnc, files[c.want])
		}
	}
	// A .br older than the wasm (a build that did not rewrite it) is not sent.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(wasmPath+".br", old, old); err != nil {
		t.Fatal(err)
	}
	if enc, _ := get("gzip, br"); enc != "gzip" {
		t.Errorf("stale .br: got Content-Encoding %q, want gzip", enc)
	}
}

func TestAcceptsEncoding(t *testing.T) {
	for _, c := range []struct {
		header, coding string
		want           bool
	}{
		{"gzip, deflate, br", "br", true},
		{"gzip, deflate, br", "gzip", true},
		{"gzip, deflate", "br", false},
		{"GZIP", "gzip", true},
		{"br;q=0", "br", false},
		{"br; q=0.0", "br", false},
		{"br;q=0.001", "br", true},
		{"br;q=x", "br", false},
		{"*", "br", true},
		{"*;q=0", "br", false},
		{"*, br;q=0", "br", false},
		{"br;q=0, *", "br", false},
		{"", "gzip", false},
		{"identity", "gzip", false},
		{"xgzip", "gzip", false},
	} {
		if got := acceptsEncoding(c.header, c.coding); got != c.want {
			t.Errorf("acceptsEncoding(%q, %q) = %v, want %v", c.header, c.coding, got, c.want)
		}
	}
}
