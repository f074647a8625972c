package membership

import (
	"crypto/ed25519"
	"testing"
)

// The costs alive_chain.go compares: checking a refutation's link (one
// SHA-256 of 32 bytes), the longest chain walk a record can ask for, and
// the Ed25519 check a signed refutation costs instead (what p2p's Verifier
// does). go test ./membership -run XXX -bench 'Chain|Ed25519'

func BenchmarkChainLink(b *testing.B) {
	var p [chainSize]byte
	for b.Loop() {
		p = chainWalk(p, 1)
	}
}

func BenchmarkChainWalkLongest(b *testing.B) {
	var p [chainSize]byte
	for b.Loop() {
		p = chainWalk(p, chainLength)
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	msg := AliveSigningBytes("12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", 1765000000000000, make([]byte, 100))
	sig := ed25519.Sign(priv, msg)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("does not verify")
		}
	}
}
