package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var peerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "peer-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	peerBin = filepath.Join(dir, "peer")
	if runtime.GOOS == "windows" {
		peerBin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", peerBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building peer: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running peer process whose stdout is scanned line by line.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	lines []string
	cond  *sync.Cond
	done  chan struct{}
	err   syncBuffer // the process's stderr
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	p.cmd = exec.Command(peerBin, args...)
	p.cmd.Stderr = &p.err
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.cond.Broadcast()
			p.mu.Unlock()
		}
		p.mu.Lock()
		close(p.done)
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// waitLine waits for a stdout line for which match is true and returns it.
func (p *proc) waitLine(d time.Duration, what string, match func(string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(d)
	timer := time.AfterFunc(d, func() { p.mu.Lock(); p.cond.Broadcast(); p.mu.Unlock() })
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; ; {
		for ; i < len(p.lines); i++ {
			if match(p.lines[i]) {
				return p.lines[i]
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("process exited before %s; stderr: %s", what, p.err.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s; stdout: %q", what, p.lines)
		}
		p.cond.Wait()
	}
}

func (p *proc) field(prefix string) string {
	l := p.waitLine(10*time.Second, prefix, func(s string) bool { return strings.HasPrefix(s, prefix+" ") })
	return strings.TrimPrefix(l, prefix+" ")
}

// TestProcesses: three peer processes; lines piped into one are printed by
// the others; one is killed with SIGKILL and the others report it failed;
// SIGTERM leaves gracefully with exit status 0.
func TestProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	common := []string{"--group", "proc-test", "--profile", "local", "--listen", "/ip4/127.0.0.1/tcp/0"}
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ml.Addr().String()
	ml.Close()
	a := startProc(t, append([]string{"run", "--key", filepath.Join(dir, "a.key"), "--metrics", metricsAddr}, common...)...)
	aID := a.field("peer")
	boot := a.field("listening")
	b := startProc(t, append([]string{"run", "--key", filepath.Join(dir, "b.key"), "--bootstrap", boot}, common...)...)
	c := startProc(t, append([]string{"run", "--key", filepath.Join(dir, "c.key"), "--bootstrap", boot}, common...)...)
	bID, cID := b.field("peer"), c.field("peer")
	for _, p := range []*proc{a, b, c} {
		for _, id := range []string{aID, bID, cID} {
			if strings.HasSuffix(p.field("peer"), id) {
				continue
			}
			p.waitLine(20*time.Second, "join of "+id, func(s string) bool { return s == "member join "+id })
		}
	}
	for i := 0; i < 5; i++ {
		fmt.Fprintf(b.stdin, "hello %d\n", i)
	}
	for _, p := range []*proc{a, c} {
		for i := 0; i < 5; i++ {
			want := fmt.Sprintf("hello %d", i)
			l := p.waitLine(10*time.Second, want, func(s string) bool {
				return strings.HasPrefix(s, "msg "+bID+" ") && strings.HasSuffix(s, " "+want)
			})
			if f := strings.Fields(l); len(f) < 4 || !strings.HasSuffix(f[2], "ms") && !strings.HasSuffix(f[2], "s") {
				t.Errorf("delivery line without latency: %q", l)
			}
		}
	}
	// a serves Prometheus metrics.
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"grapevine_delivered_total", "grapevine_delivery_latency_seconds_bucket",
		"grapevine_frames_sent_total", "grapevine_members{", "grapevine_probe_rtt_seconds"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Abrupt death of c.
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
	for _, p := range []*proc{a, b} {
		p.waitLine(40*time.Second, "failure of c", func(s string) bool { return s == "member fail "+cID })
	}
	// Graceful leave of b: exit 0, a hears the leave.
	b.cmd.Process.Signal(syscall.SIGTERM)
	if err := b.cmd.Wait(); err != nil {
		t.Fatalf("peer exited with %v after SIGTERM; stderr: %s", err, b.err.String())
	}
	a.waitLine(10*time.Second, "leave of b", func(s string) bool { return s == "member leave "+bID })
	a.cmd.Process.Signal(syscall.SIGINT)
	if err := a.cmd.Wait(); err != nil {
		t.Fatalf("peer exited with %v after SIGINT", err)
	}
	// Stable identity: the key file makes the same peer ID again.
	out, err := exec.Command(peerBin, "id", "--key", filepath.Join(dir, "a.key")).Output()
	if err != nil || strings.TrimSpace(string(out)) != aID {
		t.Fatalf("peer id = %q, %v; want %s", out, err, aID)
	}
	st, err := os.Stat(filepath.Join(dir, "a.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", st.Mode(), err)
	}
}

// TestBadInput: each mistake gets one clear line on stderr naming it and a
// non-zero exit status, never a stack trace.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	if out, err := exec.Command(peerBin, "id", "--key", key).CombinedOutput(); err != nil {
		t.Fatalf("peer id: %v %s", err, out)
	}
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	unreadable := filepath.Join(dir, "unreadable")
	os.WriteFile(unreadable, []byte("x"), 0o000)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ln.Addr().(*net.TCPAddr).Port)

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "Usage"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"no group", []string{"run", "--key", key}, 2, "--group is required"},
		{"unknown flag", []string{"run", "--nope"}, 2, "flag provided but not defined: -nope"},
		{"bad bootstrap", []string{"run", "--group", "g", "--key", key, "--bootstrap", "/ip4/1.2.3.4/tcp/x"}, 1, `invalid multiaddr "/ip4/1.2.3.4/tcp/x"`},
		{"bootstrap without peer ID", []string{"run", "--group", "g", "--key", key, "--bootstrap", "/ip4/127.0.0.1/tcp/4001"}, 1, "must end in /p2p/"},
		{"bad listen", []string{"run", "--group", "g", "--key", key, "--listen", "tcp/4001"}, 1, `invalid listen address "tcp/4001"`},
		{"garbage key", []string{"run", "--group", "g", "--key", garbage}, 1, "is not a libp2p private key"},
		{"key is a directory", []string{"id", "--key", dir}, 1, "cannot read key file"},
		{"port in use", []string{"run", "--group", "g", "--key", key, "--listen", busy}, 1, "address already in use"},
		{"bad profile", []string{"run", "--group", "g", "--key", key, "--profile", "fast"}, 2, `unknown --profile "fast"`},
		{"bad history", []string{"run", "--group", "g", "--key", key, "--history", "last:x"}, 2, `unknown --history "last:x"`},
		{"data directory is a file", []string{"run", "--group", "g", "--key", key, "--listen", "/ip4/127.0.0.1/tcp/0", "--data", garbage}, 1, "data directory"},
	}
	if os.Geteuid() != 0 {
		cases = append(cases, struct {
			name string
			args []string
			code int
			want string
		}{"unreadable key", []string{"id", "--key", unreadable}, 1, "permission denied"})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(peerBin, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			msg := stderr.String()
			if code != tc.code {
				t.Errorf("exit status %d, want %d; stderr: %s", code, tc.code, msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("stderr %q does not contain %q", msg, tc.want)
			}
			if strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic") {
				t.Errorf("stack trace on stderr: %s", msg)
			}
			if tc.code == 1 && strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("more than one line on stderr: %q", msg)
			}
		})
	}
}

// TestUnreachableBootstrap: the peer keeps running, says it is retrying,
// and still exits 0 on SIGTERM.
func TestUnreachableBootstrap(t *testing.T) {
	dir := t.TempDir()
	other, err := exec.Command(peerBin, "id", "--key", filepath.Join(dir, "other")).Output()
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nobody listens there now
	boot := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", port, strings.TrimSpace(string(other)))
	cmd := exec.Command(peerBin, "run", "--group", "g", "--key", filepath.Join(dir, "k"), "--listen", "/ip4/127.0.0.1/tcp/0", "--bootstrap", boot)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "is unreachable") || !strings.Contains(stderr.String(), "retrying in") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no retry notice; stderr: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr: %s", err, stderr.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
