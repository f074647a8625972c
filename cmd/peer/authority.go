package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func init() {
	register(&command{name: "authority", summary: "closed groups: create a group authority, issue and revoke member certificates", run: cmdAuthority})
}

const authorityHelp = `Usage: peer authority <new|issue|revoke> [flags]

A closed group admits only peers holding a member certificate signed by
the group's authority key (peer run --authority-pub FILE --cert FILE).
It works over every transport, browsers included.

  peer authority new --out auth.key
      creates the authority key (mode 0600) and auth.key.pub, its public
      key, which every member is given with --authority-pub.
  peer authority issue --authority auth.key --group NAME --peer ID --expiry 720h [--roles publish] --out member.cert
      signs a certificate for the member with peer ID (see "peer id");
      without --roles publish the member may read but not publish. Prints
      the certificate's serial number (the one to revoke).
  peer authority revoke --authority auth.key --group NAME --serial N [--serial M]... [--list old.rev] --out new.rev
      signs a revocation list (the serials of --list plus the new ones,
      with a higher version). Give it to any member (peer run
      --revocations FILE): members spread the highest version to each
      other and disconnect the revoked members.
`

func cmdAuthority(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"missing subcommand new, issue or revoke"}
	}
	switch args[0] {
	case "new":
		return authorityNew(args[1:], stdout, stderr)
	case "issue":
		return authorityIssue(args[1:], stdout, stderr)
	case "revoke":
		return authorityRevoke(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, authorityHelp)
		return errHelp
	}
	return usageError{fmt.Sprintf("unknown subcommand %q (new, issue or revoke)", args[0])}
}

func parseSub(fs *flag.FlagSet, err error, stdout io.Writer) error {
	if errors.Is(err, errHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
	}
	return err
}

func authorityNew(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("authority new", stderr, authorityHelp)
	out := fs.String("out", "", "file to create with the authority's private key (required)")
	if err := parseFlags(fs, args); err != nil {
		return parseSub(fs, err, stdout)
	}
	if *out == "" {
		return usageError{"--out is required"}
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("%s exists; not overwriting an authority key", *out)
	}
	sk, _, err := p2p.LoadOrCreateKey(*out)
	if err != nil {
		return err
	}
	pub, err := crypto.MarshalPublicKey(sk.GetPublic())
	if err != nil {
		return err
	}
	if err := writeNew(*out+".pub", pub, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "authority key %s, public key %s.pub\n", *out, *out)
	return nil
}

func loadAuthority(path string) (crypto.PrivKey, error) {
	if path == "" {
		return nil, usageError{"--authority is required"}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read authority key: %v", errors.Unwrap(err))
	}
	sk, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s is not a libp2p private key: %v", path, err)
	}
	return sk, nil
}

func authorityIssue(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("authority issue", stderr, authorityHelp)
	authFile := fs.String("authority", "", "authority key file (required)")
	group := fs.String("group", "", "group name the certificate is valid for (required)")
	pidStr := fs.String("peer", "", "member's peer ID (required; \"peer id --key FILE\" prints it)")
	expiry := fs.Duration("expiry", 30*24*time.Hour, "validity from now")
	roles := fs.String("roles", "", "publish, or empty for a read-only member")
	serial := fs.Uint64("serial", 0, "serial number (default: the current time in microseconds, unique per authority)")
	out := fs.String("out", "", "file to write the certificate to (required)")
	if err := parseFlags(fs, args); err != nil {
		return parseSub(fs, err, stdout)
	}
	if *group == "" || *pidStr == "" || *out == "" {
		return usageError{"--group, --peer and --out are required"}
	}
	r, err := p2p.ParseRoles(*roles)
	if err != nil {
		return usageError{err.Error()}
	}
	pid, err := peer.Decode(*pidStr)
	if err != nil {
		return usageError{fmt.Sprintf("--peer: %v", err)}
	}
	sk, err := loadAuthority(*authFile)
	if err != nil {
		return err
	}
	if *serial == 0 {
		*serial = uint64(time.Now().UnixMicro())
	}
	now := time.Now()
	c, err := p2p.IssueCertificate(sk, pid, *group, *serial, now.Add(-5*time.Minute), now.Add(*expiry), r)
	if err != nil {
		return err
	}
	if err := writeNew(*out, c.Marshal(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "certificate %s: serial %d, peer %s, group %q, roles %s, expires %s\n",
		*out, c.Serial, pid, *group, r, c.Expiry.UTC().Format(time.RFC3339))
	return nil
}

func authorityRevoke(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("authority revoke", stderr, authorityHelp)
	authFile := fs.String("authority", "", "authority key file (required)")
	group := fs.String("group", "", "group name (required)")
	var serials listFlag
	fs.Var(&serials, "serial", "serial number to revoke; repeatable")
	list := fs.String("list", "", "current revocation list to extend")
	out := fs.String("out", "", "file to write the new list to (required)")
	if err := parseFlags(fs, args); err != nil {
		return parseSub(fs, err, stdout)
	}
	if *group == "" || *out == "" {
		return usageError{"--group and --out are required"}
	}
	sk, err := loadAuthority(*authFile)
	if err != nil {
		return err
	}
	var all []uint64
	version := uint64(time.Now().Unix())
	if *list != "" {
		b, err := os.ReadFile(*list)
		if err != nil {
			return fmt.Errorf("--list: %v", errors.Unwrap(err))
		}
		old, err := p2p.ParseRevocationList(b)
		if err != nil {
			return fmt.Errorf("--list: %v", err)
		}
		if err := old.Verify(sk.GetPublic(), *group); err != nil {
			return fmt.Errorf("--list: %v", err)
		}
		all = append(all, old.Serials...)
		version = max(version, old.Version+1)
	}
	for _, s := range serials {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return usageError{fmt.Sprintf("--serial %q: not a number", s)}
		}
		all = append(all, n)
	}
	l, err := p2p.SignRevocationList(sk, *group, version, all)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, l.Marshal(), 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %v", *out, errors.Unwrap(err))
	}
	fmt.Fprintf(stdout, "revocation list %s: version %d, %d serials\n", *out, l.Version, len(l.Serials))
	return nil
}

// writeNew creates path with b, refusing to overwrite.
func writeNew(path string, b []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("cannot create %s: %v", path, errors.Unwrap(err))
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// closedGroupOptions returns the options of peer run's --authority-pub,
// --cert and --revocations.
func closedGroupOptions(pubFile, certFile, revFile string) ([]p2p.Option, error) {
	if pubFile == "" && certFile == "" {
		if revFile != "" {
			return nil, usageError{"--revocations needs --authority-pub and --cert"}
		}
		return nil, nil
	}
	if pubFile == "" || certFile == "" {
		return nil, usageError{"--authority-pub and --cert go together"}
	}
	b, err := os.ReadFile(pubFile)
	if err != nil {
		return nil, fmt.Errorf("--authority-pub: %v", errors.Unwrap(err))
	}
	pub, err := crypto.UnmarshalPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("--authority-pub: %s is not a libp2p public key: %v", pubFile, err)
	}
	cert, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("--cert: %v", errors.Unwrap(err))
	}
	opts := []p2p.Option{p2p.WithGroupAuthority(pub, cert)}
	if revFile != "" {
		rev, err := os.ReadFile(revFile)
		if err != nil {
			return nil, fmt.Errorf("--revocations: %v", errors.Unwrap(err))
		}
		opts = append(opts, p2p.WithRevocationList(rev))
	}
	return opts, nil
}
