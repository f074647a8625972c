package p2p

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func testAuthority(t testing.TB) (crypto.PrivKey, crypto.PubKey) {
	t.Helper()
	sk, err := GenerateAuthority()
	if err != nil {
		t.Fatal(err)
	}
	return sk, sk.GetPublic()
}

func TestCertRoundTripAndVerify(t *testing.T) {
	ask, apub := testAuthority(t)
	msk, _ := GenerateKey()
	pid := mustPID(t, msk)
	now := time.Now()
	c, err := IssueCertificate(ask, pid, "g", 7, now.Add(-time.Minute), now.Add(time.Hour), RolePublish)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Marshal()
	if len(b) > maxCertSize {
		t.Fatalf("certificate of %d bytes", len(b))
	}
	d, err := ParseCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Peer != pid || d.Group != "g" || d.Serial != 7 || d.Roles != RolePublish || !d.Expiry.Equal(c.Expiry) {
		t.Fatalf("round trip: %+v", d)
	}
	if err := d.Verify(apub, pid, "g", now); err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateKey()
	_, opub := testAuthority(t)
	for name, err := range map[string]error{
		"other group":     d.Verify(apub, pid, "h", now),
		"other peer":      d.Verify(apub, mustPID(t, other), "g", now),
		"other authority": d.Verify(opub, pid, "g", now),
	} {
		if !errors.Is(err, ErrCertInvalid) {
			t.Errorf("%s: %v, want ErrCertInvalid", name, err)
		}
	}
	if err := d.Verify(apub, pid, "g", now.Add(2*time.Hour)); !errors.Is(err, ErrCertExpired) {
		t.Errorf("after expiry: %v", err)
	}
	if err := d.Verify(apub, pid, "g", now.Add(-2*time.Minute)); !errors.Is(err, ErrCertExpired) {
		t.Errorf("before not-before: %v", err)
	}
	// Any change to the signed body breaks the signature.
	for i := 1; i < len(b)-66; i++ {
		m := bytes.Clone(b)
		m[i] ^= 1
		if x, err := ParseCertificate(m); err == nil && x.Verify(apub, pid, "g", now) == nil {
			t.Fatalf("flipping byte %d kept the certificate valid", i)
		}
	}
}

func TestRevocationListRoundTrip(t *testing.T) {
	ask, apub := testAuthority(t)
	l, err := SignRevocationList(ask, "g", 3, []uint64{9, 2, 9, 300})
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseRevocationList(l.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(apub, "g"); err != nil {
		t.Fatal(err)
	}
	if d.Version != 3 || !d.Revoked(2) || !d.Revoked(9) || !d.Revoked(300) || d.Revoked(3) || len(d.Serials) != 3 {
		t.Fatalf("round trip: %+v", d)
	}
	if err := d.Verify(apub, "h"); err == nil {
		t.Fatal("list of group g verified for group h")
	}
	d.Version = 4
	if err := d.Verify(apub, "g"); err == nil {
		t.Fatal("a list with a changed version verified")
	}
}

func TestCertMetaCarriesAddresses(t *testing.T) {
	ask, _ := testAuthority(t)
	msk, _ := GenerateKey()
	c, _ := IssueCertificate(ask, mustPID(t, msk), "g", 1, time.Now(), time.Now().Add(time.Hour), 0)
	p := startPeers(t, 1, false)[0]
	meta := encodeMeta(c.Marshal(), p.Addrs(), 512)
	if len(meta) > 512 {
		t.Fatalf("meta of %d bytes", len(meta))
	}
	cert, _ := splitMeta(meta)
	if !bytes.Equal(cert, c.Marshal()) || len(decodeMemberAddrs(meta)) == 0 {
		t.Fatalf("meta lost the certificate or the addresses")
	}
}

// FuzzParseCertificate: the decoders never panic, and allocate only what
// the input bounds (len checks inside; the fuzzer's memory limit catches
// the rest).
func FuzzParseCertificate(f *testing.F) {
	ask, _ := GenerateAuthority()
	msk, _ := GenerateKey()
	pid, _ := peer.IDFromPrivateKey(msk)
	c, _ := IssueCertificate(ask, pid, "g", 1, time.Now(), time.Now().Add(time.Hour), RolePublish)
	l, _ := SignRevocationList(ask, "g", 1, []uint64{1, 2, 3})
	f.Add(c.Marshal())
	f.Add(l.Marshal())
	f.Add(encodeMeta(c.Marshal(), nil, 512))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseCertificate(b); err == nil {
			if !bytes.Equal(c.Marshal(), b) {
				t.Fatalf("certificate does not re-encode to its input")
			}
		}
		if l, err := ParseRevocationList(b); err == nil && len(l.Serials) > len(b) {
			t.Fatalf("%d serials from %d bytes", len(l.Serials), len(b))
		}
		splitMeta(b)
	})
}

// closedGroup starts n members of a closed group with certificates from
// ask (roles[i] for member i, expiry[i] if non-zero); member 0 seeds.
type memberSpec struct {
	roles  Role
	expiry time.Duration
	serial uint64
}

func startClosed(t *testing.T, ask crypto.PrivKey, seed string, specs ...memberSpec) []*Peer {
	t.Helper()
	var peers []*Peer
	for i, s := range specs {
		sk, _ := GenerateKey()
		exp := s.expiry
		if exp == 0 {
			exp = time.Hour
		}
		c, err := IssueCertificate(ask, mustPID(t, sk), "default", s.serial, time.Now().Add(-time.Minute), time.Now().Add(exp), s.roles)
		if err != nil {
			t.Fatal(err)
		}
		opts := []Option{WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false), WithProfile(ProfileLocal),
			WithNotice(func(string) {}), WithLeaveGrace(100 * time.Millisecond), WithIdentity(sk),
			WithGroupAuthority(ask.GetPublic(), c.Marshal())}
		if i > 0 || seed != "" {
			if seed == "" {
				seed = peers[0].Addrs()[0].String()
			}
			opts = append(opts, WithSeeds(seed))
		}
		p, err := New(context.Background(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		peers = append(peers, p)
	}
	return peers
}

func received(s *Subscription, d time.Duration) []string {
	var out []string
	deadline := time.After(d)
	for {
		select {
		case m := <-s.Messages():
			out = append(out, string(m.Data))
		case <-deadline:
			return out
		}
	}
}
