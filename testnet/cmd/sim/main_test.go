package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesTableCSVAndPNG(t *testing.T) {
	dir := t.TempDir()
	csv, png := filepath.Join(dir, "c.csv"), filepath.Join(dir, "c.png")
	var out, errb bytes.Buffer
	err := run([]string{"-n", "300", "-seeds", "2", "-loss", "0.2", "-latency", "uniform:5ms-20ms", "-csv", csv, "-png", png, "-quiet"}, &out, &errb)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	for _, want := range []string{"r100", "mean", "residue", "max RSS"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	b, err := os.ReadFile(csv)
	if err != nil || !strings.HasPrefix(string(b), "round,reached,fraction\n0,") {
		t.Fatalf("csv: %v %q", err, b)
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() < 1000 {
		t.Fatalf("png: %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-n", "1"}, {"-mode", "gossip"}, {"-policy", "fifo"}, {"-loss", "2"}, {"-crash", "1"},
		{"-latency", "fast"}, {"-fanout", "0"}, {"-karp", "-random-phase"}, {"extra"}, {"-payload", "99999999"},
	} {
		var out, errb bytes.Buffer
		if err := run(args, &out, &errb); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}

func TestTraceIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every trace scenario twice")
	}
	var a, b, errb bytes.Buffer
	if err := run([]string{"-trace", "-quiet"}, &a, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	if err := run([]string{"-trace", "-quiet"}, &b, &errb); err != nil {
		t.Fatalf("run: %v\n%s", err, errb.String())
	}
	digest := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "digest ") {
				return l
			}
		}
		t.Fatalf("no digest in\n%s", s)
		return ""
	}
	if da, db := digest(a.String()), digest(b.String()); da != db {
		t.Fatalf("two runs differ: %s vs %s", da, db)
	}
}
