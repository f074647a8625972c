package site

import (
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Content codings of the precompressed wasm files scripts/build-wasm.sh
// writes next to grapevine.wasm, in the order the server prefers them:
// brotli is about a quarter smaller than gzip -9 (docs/benchmarks/wasm.md).
// Browsers send "br" in Accept-Encoding only to https origins, so a page
// over plain http gets gzip.
var precompressed = []struct{ coding, ext string }{
	{"br", ".br"},
	{"gzip", ".gz"},
}

// servePrecompressed sends the first precompressed copy of wasmPath that
// the request accepts and that is not older than wasmPath; it reports
// whether it sent one.
func servePrecompressed(w http.ResponseWriter, r *http.Request, wasmPath string) bool {
	ae := r.Header.Get("Accept-Encoding")
	for _, pc := range precompressed {
		if !acceptsEncoding(ae, pc.coding) || !fresh(wasmPath+pc.ext, wasmPath) {
			continue
		}
		w.Header().Set("Content-Encoding", pc.coding)
		http.ServeFile(w, r, wasmPath+pc.ext)
		return true
	}
	return false
}

// fresh reports whether the file copy exists and is not older than src.
func fresh(copy, src string) bool {
	c, err := os.Stat(copy)
	if err != nil {
		return false
	}
	s, err := os.Stat(src)
	return err == nil && !c.ModTime().Before(s.ModTime())
}

// acceptsEncoding reports whether an Accept-Encoding header value allows
// coding (RFC 9110, 12.5.3): listed by name or as "*", with a q-value other
// than 0. A coding listed by name with q=0 is refused even if "*" allows
// others.
func acceptsEncoding(header, coding string) bool {
	star := false
	for _, item := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(item, ";")
		name = strings.TrimSpace(name)
		ok := qNonZero(params)
		switch {
		case strings.EqualFold(name, coding):
			return ok
		case name == "*":
			star = ok
		}
	}
	return star
}

// qNonZero reports whether the parameters of an Accept-Encoding item
// (after the first ';') leave its q-value above 0; a malformed q counts as 0.
func qNonZero(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return err == nil && q > 0
	}
	return true
}
