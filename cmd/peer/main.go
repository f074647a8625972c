// Command peer runs a Grapevine member on libp2p.
//
//	peer run --group NAME [--listen MULTIADDR]... [--bootstrap MULTIADDR]... [--key FILE] [--metrics ADDR]
//	peer id [--key FILE]
//	peer authority new|issue|revoke ...   (closed groups: member certificates)
//	peer version
//
// Run "peer help" or "peer run --help" for details.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand. Others add theirs (peer sim, peer testnet) to
// the table in their own file with an init function calling register.
type command struct {
	name    string
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errHelp: help was asked for and printed; exit 0.
var errHelp = errors.New("help requested")

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func runMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c := commands[args[1]]; c != nil {
				if err := c.run([]string{"--help"}, stdin, stdout, stderr); errors.Is(err, errHelp) {
					return 0
				}
			}
		}
		usage(stdout)
		return 0
	}
	c := commands[name]
	if c == nil {
		fmt.Fprintf(stderr, "peer: unknown command %q (run \"peer help\" for the list)\n", name)
		return 2
	}
	err := c.run(args[1:], stdin, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "peer %s: %v (run \"peer %s --help\")\n", name, err, name)
		return 2
	default:
		fmt.Fprintf(stderr, "peer %s: %v\n", name, oneLine(err))
		return 1
	}
}

func oneLine(err error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, "\n", "; ")
	return s
}

func usage(w io.Writer) {
	fmt.Fprint(w, `peer runs a member of a Grapevine group: reliable multicast over libp2p.

Usage:
  peer <command> [flags]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, `
Getting started (two terminals on one machine):
  peer run --group demo --key a.key --listen /ip4/127.0.0.1/tcp/4001
      prints its address, e.g. /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...
  peer run --group demo --key b.key --listen /ip4/127.0.0.1/tcp/4002 \
      --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...
  Type a line into either one: the other prints it.

Run "peer <command> --help" for a command's flags.
Logging: GOLOG_LOG_LEVEL=debug (or grapevine=debug) as in the rest of libp2p.
`)
}
