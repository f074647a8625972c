//go:build !js

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/grapevine-p2p/grapevine/examples/browser/site"
	"github.com/grapevine-p2p/grapevine/p2p"
)

// npmPackage is the name wasm/npm/package.json gives the package.
const npmPackage = "@grapevine-p2p/peer"

// runCmd runs name with args in dir and returns its standard output; it
// fails the test with the standard error when the command fails.
func runCmd(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// npmInstall packs the package with scripts/npm-pack.sh and installs the
// tarball (npm --offline: nothing comes from the registry) into a new
// project; it returns the project's folder and the file that node resolves
// the package's name to there (its "exports").
func npmInstall(t *testing.T) (project, entry string) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the npm package test needs %s: %v", tool, err)
		}
	}
	out := runCmd(t, repoRoot(t), nil, "bash", filepath.Join(repoRoot(t), "scripts", "npm-pack.sh"), t.TempDir())
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tgz := lines[len(lines)-1]
	if !strings.HasSuffix(tgz, ".tgz") {
		t.Fatalf("npm-pack.sh printed %q, want the tarball's path last", out)
	}
	project = t.TempDir()
	pj := `{"name": "grapevine-npm-test", "private": true, "type": "module"}`
	if err := os.WriteFile(filepath.Join(project, "package.json"), []byte(pj), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"npm_config_cache=" + t.TempDir(), "npm_config_update_notifier=false"}
	runCmd(t, project, env, "npm", "install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", tgz)
	resolved := strings.TrimSpace(runCmd(t, project, nil, "node", "--input-type=module", "-e",
		fmt.Sprintf(`console.log(import.meta.resolve(%q))`, npmPackage)))
	u, err := url.Parse(resolved)
	if err != nil || u.Scheme != "file" {
		t.Fatalf("node resolved %s to %q", npmPackage, resolved)
	}
	return project, u.Path
}

// TestNpmPackage: the npm package a web developer installs. It is packed
// (scripts/npm-pack.sh) and installed from the tarball into a new project
// with npm; a page served from that project imports it by its name (an
// import map to where node resolves the name, the package's "exports"),
// starts a peer that joins two native peers (over WebSocket: the page is
// http), receives a native's message and publishes one both natives get.
// The wasm and Go's wasm_exec.js come from the installed package, found
// next to its module, and the wasm is this Go tree's version.
func TestNpmPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("packs the wasm peer and starts Chromium; skipped with -short")
	}
	project, entry := npmInstall(t)
	pkgDir := filepath.Join(project, "node_modules", filepath.FromSlash(npmPackage))
	var pkg struct {
		Version string                     `json:"version"`
		Exports map[string]json.RawMessage `json:"exports"`
		Types   string                     `json:"types"`
	}
	raw, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Version != p2p.Version {
		t.Errorf("the package's version is %q, p2p.Version is %q", pkg.Version, p2p.Version)
	}
	if entry != filepath.Join(pkgDir, "grapevine.js") {
		t.Errorf("%s resolves to %s, want its grapevine.js", npmPackage, entry)
	}
	for _, f := range []string{"grapevine.js", "grapevine.d.ts", "grapevine.wasm", "wasm_exec.js", "README.md", "LICENSE", "LICENSE-go", pkg.Types} {
		if _, err := os.Stat(filepath.Join(pkgDir, f)); err != nil {
			t.Errorf("the installed package lacks %s: %v", f, err)
		}
	}
	rel, err := filepath.Rel(project, entry)
	if err != nil {
		t.Fatal(err)
	}
	entryURL := "/" + filepath.ToSlash(rel)

	bin := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const group = "npm-test"
	natives := startNatives(t, ctx, group, "/ip4/127.0.0.1/tcp/0/ws", 2, site.WSAddrs)

	importMap, err := json.Marshal(map[string]map[string]string{"imports": {npmPackage: entryURL}})
	if err != nil {
		t.Fatal(err)
	}
	index := `<!doctype html><title>npm package</title>
<script type="importmap">` + string(importMap) + `</script>
<script type="module">
import { Grapevine } from '` + npmPackage + `';
window.got = [];
window.startPeer = async (bootstrap, group) => {
  const node = await Grapevine.start({ bootstrap, group, profile: 'lan' });
  node.subscribe('chat', (m) => window.got.push(m.text));
  window.node = node;
  return JSON.stringify({ id: node.id, version: Grapevine.version });
};
window.pageReady = true;
</script>`
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(project)))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, index)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromiumFlags(t, bin)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancelBrowser()
	pctx, stop := chromedp.NewContext(bctx, logConsole(t, "page"))
	defer stop()
	if err := chromedp.Do(pctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("starting Chromium (%s) and opening %s: %v", bin, srv.URL, err)
	}
	eventually(t, 20*time.Second, "the page imported "+npmPackage, func() bool {
		ready, err := chromedp.Run(pctx, chromedp.Evaluate[bool](`window.pageReady === true`))
		return err == nil && ready
	})
	boot, err := json.Marshal(site.WSAddrs(natives[0].p))
	if err != nil {
		t.Fatal(err)
	}
	started, err := chromedp.Run(pctx, chromedp.Evaluate[string](fmt.Sprintf(`window.startPeer(%s, %q)`, boot, group), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("Grapevine.start: %v", err)
	}
	var st struct{ ID, Version string }
	if err := json.Unmarshal([]byte(started), &st); err != nil || st.ID == "" {
		t.Fatalf("Grapevine.start returned %q (%v)", started, err)
	}
	if st.Version != p2p.Version {
		t.Errorf("Grapevine.version is %q, want %q", st.Version, p2p.Version)
	}
	t.Logf("the page's peer is %s", st.ID)
	eventually(t, 30*time.Second, "both natives see the page's peer alive", func() bool {
		return natives[0].state(st.ID) == p2p.StateAlive && natives[1].state(st.ID) == p2p.StateAlive
	})

	if err := natives[1].p.Publish(ctx, site.ChatTopic, []byte("hello from native 1")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the page received native 1's message", func() bool {
		got, err := chromedp.Run(pctx, chromedp.Evaluate[[]string](`window.got`))
		return err == nil && slices.Contains(got, "hello from native 1")
	})
	if _, err := chromedp.Run(pctx, chromedp.Evaluate[string](`window.node.publish('chat', 'hello from the npm package').then((r) => r.key)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	eventually(t, 15*time.Second, "both natives received the page's message", func() bool {
		return natives[0].has("hello from the npm package") && natives[1].has("hello from the npm package")
	})

	// What the page loaded: the wasm and wasm_exec.js from the installed
	// package, next to its module.
	loaded, err := chromedp.Run(pctx, chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)`))
	if err != nil {
		t.Fatal(err)
	}
	dir := strings.TrimSuffix(entryURL, "grapevine.js")
	for _, f := range []string{"grapevine.js", "wasm_exec.js", "grapevine.wasm"} {
		if !slices.Contains(loaded, dir+f) {
			t.Errorf("the page did not load %s%s (it loaded %v)", dir, f, loaded)
		}
	}
}
