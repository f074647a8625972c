package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuickLargeMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a small experiment")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "gossip.md")
	var o, e bytes.Buffer
	if err := run([]string{"-quick", "-only", "5", "-seeds", "2", "-quiet", "-out", out}, &o, &e); err != nil {
		t.Fatalf("run: %v\n%s", err, e.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, want := range []string{"## 5. Half the nodes crash", "| 2000 |", "go run ./testnet/cmd/experiments"} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-only", "9"}, {"-only", "x"}, {"-seeds", "0"}, {"stray"}} {
		var o, e bytes.Buffer
		if err := run(args, &o, &e); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
