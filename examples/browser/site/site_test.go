package site

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	wasmPath := filepath.Join(dir, "grapevine.wasm")
	payload := bytes.Repeat([]byte("\x00asm fake wasm "), 1000)
	if err := os.WriteFile(wasmPath, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Handler(Config{WasmPath: filepath.Join(dir, "missing.wasm")}); err == nil || !strings.Contains(err.Error(), "build-wasm.sh") {
		t.Fatalf("missing wasm: %v", err)
	}
	h, err := Handler(Config{WasmPath: wasmPath, Bootstrap: []string{"/ip4/127.0.0.1/tcp/1/ws/p2p/x"}, Group: "g", Profile: "lan"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string, gz bool) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		} else {
			req.Header.Set("Accept-Encoding", "identity")
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s", path, resp.Status)
		}
		return resp
	}
	for path, ctype := range map[string]string{"/": "text/html", "/app.js": "javascript", "/grapevine.js": "javascript",
		"/wasm_exec.js": "javascript", "/grapevine.d.ts": "text/plain", "/config.json": "application/json"} {
		resp := get(path, false)
		resp.Body.Close()
		if !strings.Contains(resp.Header.Get("Content-Type"), ctype) {
			t.Errorf("%s: content type %q", path, resp.Header.Get("Content-Type"))
		}
	}
	var cfg Config
	resp := get("/config.json", false)
	json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if len(cfg.Bootstrap) != 1 || cfg.Group != "g" || cfg.Profile != "lan" {
		t.Fatalf("config %+v", cfg)
	}
	resp = get("/grapevine.wasm", false)
	plain, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(plain, payload) || resp.Header.Get("Content-Type") != "application/wasm" {
		t.Fatal("plain wasm differs")
	}
	var resp2 *http.Response
	for i := 0; i < 100; i++ { // compressed in the background
		resp2 = get("/grapevine.wasm", true)
		if resp2.Header.Get("Content-Encoding") == "gzip" {
			break
		}
		resp2.Body.Close()
		time.Sleep(20 * time.Millisecond)
	}
	resp = resp2
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("no gzip")
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	unz, _ := io.ReadAll(zr)
	resp.Body.Close()
	if !bytes.Equal(unz, payload) {
		t.Fatal("gzipped wasm differs")
	}
}
