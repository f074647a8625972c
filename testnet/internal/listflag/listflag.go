// Package listflag parses the comma-separated lists of numbers the
// experiment commands take as flags (-n 1000,10000, -crash 0.1,0.5); a
// malformed entry ends the command with exit status 2, as the flag package
// does for a malformed flag.
package listflag

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Ints parses a comma-separated list of integers.
func Ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad integer:", f)
			os.Exit(2)
		}
		out = append(out, v)
	}
	return out
}

// Floats parses a comma-separated list of numbers.
func Floats(s string) []float64 {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad number:", f)
			os.Exit(2)
		}
		out = append(out, v)
	}
	return out
}
