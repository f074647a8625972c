// Command brotli compresses a file with brotli (github.com/andybalholm/brotli,
// a pure-Go port of Google's encoder), for scripts/build-wasm.sh on machines
// without the brotli command. It is a module of its own so that the library's
// go.mod does not carry a dependency only the build script uses.
//
//	go run . [-q 11] [-w 24] IN OUT
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/andybalholm/brotli"
)

func main() {
	q := flag.Int("q", brotli.BestCompression, "quality, 0-11")
	w := flag.Int("w", 24, "log2 of the window size, 10-24 (browsers decode up to 24)")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: brotli [-q Q] [-w W] IN OUT")
		os.Exit(2)
	}
	if err := compress(flag.Arg(0), flag.Arg(1), brotli.WriterOptions{Quality: *q, LGWin: *w}); err != nil {
		fmt.Fprintln(os.Stderr, "brotli:", err)
		os.Exit(1)
	}
}

// compress writes in, brotli-compressed, to out (through a temporary file,
// so out is never left half written).
func compress(in, out string, opts brotli.WriterOptions) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dirOf(out), ".brotli-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	zw := brotli.NewWriterOptions(bw, opts)
	if _, err := io.Copy(zw, bufio.NewReaderSize(src, 1<<20)); err != nil {
		tmp.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[:i+1]
		}
	}
	return "."
}
