package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// TestAuthorityCommands: new, issue and revoke write an authority key,
// a certificate that verifies for the member and group, and revocation
// lists whose version grows and that extend the previous list.
func TestAuthorityCommands(t *testing.T) {
	dir := t.TempDir()
	f := func(n string) string { return filepath.Join(dir, n) }
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if rc := runMain(args, strings.NewReader(""), &out, &errb); rc != 0 {
			t.Fatalf("peer %v: exit %d: %s", args, rc, errb.String())
		}
		return out.String()
	}
	run("authority", "new", "--out", f("auth.key"))
	if rc := runMain([]string{"authority", "new", "--out", f("auth.key")}, nil, new(bytes.Buffer), new(bytes.Buffer)); rc == 0 {
		t.Fatal("an existing authority key overwritten")
	}
	sk, _ := p2p.GenerateKey()
	pid, _ := peer.IDFromPrivateKey(sk)
	run("authority", "issue", "--authority", f("auth.key"), "--group", "g", "--peer", pid.String(), "--expiry", "1h", "--roles", "publish", "--serial", "42", "--out", f("m.cert"))
	pubb, _ := os.ReadFile(f("auth.key.pub"))
	pub, err := crypto.UnmarshalPublicKey(pubb)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := os.ReadFile(f("m.cert"))
	c, err := p2p.ParseCertificate(cb)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(pub, pid, "g", c.NotBefore.Add(10*60e9)); err != nil || c.Serial != 42 || c.Roles != p2p.RolePublish {
		t.Fatalf("issued certificate: %+v, %v", c, err)
	}
	run("authority", "revoke", "--authority", f("auth.key"), "--group", "g", "--serial", "42", "--out", f("r1"))
	run("authority", "revoke", "--authority", f("auth.key"), "--group", "g", "--serial", "7", "--list", f("r1"), "--out", f("r2"))
	b1, _ := os.ReadFile(f("r1"))
	b2, _ := os.ReadFile(f("r2"))
	l1, _ := p2p.ParseRevocationList(b1)
	l2, err := p2p.ParseRevocationList(b2)
	if err != nil || l2.Verify(pub, "g") != nil || l2.Version <= l1.Version || !l2.Revoked(42) || !l2.Revoked(7) {
		t.Fatalf("revocation lists: %+v %+v %v", l1, l2, err)
	}
	if _, err := closedGroupOptions(f("auth.key.pub"), "", ""); err == nil {
		t.Fatal("--authority-pub without --cert accepted")
	}
	if opts, err := closedGroupOptions(f("auth.key.pub"), f("m.cert"), f("r2")); err != nil || len(opts) != 2 {
		t.Fatalf("closed group options: %d, %v", len(opts), err)
	}
}
