package main

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEscapeText(t *testing.T) {
	for in, want := range map[string]string{
		"hello, wörld ✓":               "hello, wörld ✓",
		"red \x1b[31mRED\x1b[0m":       `red \x1b[31mRED\x1b[0m`,
		"x\nmsg 12D3KooWforged 1ms hi": `x\nmsg 12D3KooWforged 1ms hi`,
		"over\rwrite":                  `over\rwrite`,
		"tab\there":                    `tab\there`,
		`back\slash`:                   `back\\slash`,
		"bidi \u202eevil":              `bidi \u202eevil`,
		"line\u2028sep":                `line\u2028sep`,
		"bad \xff utf8":                `bad \xff utf8`,
		"c1 \u009b31m":                 `c1 \u009b31m`,
		"bell\a del\x7f nul\x00":       `bell\x07 del\x7f nul\x00`,
		"zero\u200bwidth":              `zero\u200bwidth`,
	} {
		if got := escapeText(in); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
		if got := escapeText(in); strings.ContainsAny(got, "\x1b\r\n\x00\u202e\u2028") {
			t.Errorf("escapeText(%q) = %q keeps a control character", in, got)
		}
	}
}

// runFails runs the peer program, expecting it to exit 1 with one line on
// stderr containing want.
func runFails(t *testing.T, want string, args ...string) {
	t.Helper()
	cmd := exec.Command(peerBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running after 20 s; stderr: %s", stderr.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	msg := stderr.String()
	if code != 1 || !strings.Contains(msg, want) || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q; want 1 and one line with %q", code, msg, want)
	}
}

// A second peer with the same key, or on the port another peer listens
// on, exits with an error instead of sharing the identity or the port.
func TestKeyAndPortInUse(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	listen := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)
	a := startProc(t, "run", "--group", "g", "--dht=false", "--key", filepath.Join(dir, "a.key"), "--listen", listen)
	a.field("listening")
	t.Run("key in use", func(t *testing.T) {
		runFails(t, "is in use by another running peer", "run", "--group", "g", "--dht=false",
			"--key", filepath.Join(dir, "a.key"), "--listen", "/ip4/127.0.0.1/tcp/0")
	})
	t.Run("port in use by a peer", func(t *testing.T) {
		if out, err := exec.Command(peerBin, "id", "--key", filepath.Join(dir, "b.key")).CombinedOutput(); err != nil {
			t.Fatalf("peer id: %v %s", err, out)
		}
		runFails(t, "address already in use", "run", "--group", "g", "--dht=false",
			"--key", filepath.Join(dir, "b.key"), "--listen", listen)
	})
	// The lock goes with the process.
	a.cmd.Process.Kill()
	a.cmd.Wait()
	b := startProc(t, "run", "--group", "g", "--dht=false", "--key", filepath.Join(dir, "a.key"), "--listen", listen)
	b.field("listening")
}

// Remote text is printed escaped, and with --timestamps event lines start
// with the time.
func TestRemoteTextEscapedAndTimestamps(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--group", "esc", "--profile", "local", "--dht=false", "--listen", "/ip4/127.0.0.1/tcp/0"}
	a := startProc(t, append([]string{"run", "--timestamps", "--key", filepath.Join(dir, "a.key")}, common...)...)
	aID := a.field("peer")
	boot := a.field("listening")
	b := startProc(t, append([]string{"run", "--timestamps=false", "--key", filepath.Join(dir, "b.key"), "--seed", boot}, common...)...)
	bID := b.field("peer")
	join := a.waitLine(20*time.Second, "join of b", func(s string) bool { return strings.HasSuffix(s, " member join "+bID) })
	ts, _, _ := strings.Cut(join, " ")
	if _, err := time.Parse(timestampFormat, ts); err != nil {
		t.Fatalf("member line %q does not start with a timestamp: %v", join, err)
	}
	b.waitLine(20*time.Second, "join of a", func(s string) bool { return s == "member join "+aID })
	fmt.Fprint(b.stdin, "evil \x1b[2J\x1b]0;pwned\x07\rmsg forged\u202e\n")
	l := a.waitLine(10*time.Second, "the message", func(s string) bool { return strings.Contains(s, " msg "+bID+" ") })
	want := `evil \x1b[2J\x1b]0;pwned\x07\rmsg forged\u202e`
	if !strings.HasSuffix(l, " "+want) || strings.ContainsAny(l, "\x1b\r\a\u202e") {
		t.Fatalf("printed %q, want it to end with %q and no control character", l, want)
	}
	if _, err := time.Parse(timestampFormat, strings.Fields(l)[0]); err != nil {
		t.Fatalf("msg line %q does not start with a timestamp", l)
	}
}
