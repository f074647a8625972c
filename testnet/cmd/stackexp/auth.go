package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
)

// With -auth the memberlists run in authenticated mode, as p2p peers do
// (membership.Config.Signer and Verifier): every alive and leave update
// carries its member's signature, every suspicion and verdict its
// accuser's, and a dead record from another member is a verdict only
// once two members declared it (membership/rules.go). The signatures are
// stand-ins, an FNV-64 hash of the signer's ID and the signed bytes, so a
// run costs the simulator nothing more; what the run reports is how many
// checks each node made, by kind, which on real hosts are Ed25519
// verifications (tens of microseconds each).

// sigKinds names the kinds of signed bytes counted, in sigCounts order.
var sigKinds = [...]string{"alive", "suspect", "dead", "leave"}

// sigCounts counts signature checks by kind (sigKinds).
type sigCounts [len(sigKinds)]uint64

func (c sigCounts) minus(o sigCounts) sigCounts {
	for i := range c {
		c[i] -= o[i]
	}
	return c
}

var errStandInSig = errors.New("stackexp: stand-in signature does not match")

// standInSigSize is an Ed25519 signature's size, what p2p peers sign
// with: the stand-in is as large, so that the simulator's wire bytes are
// those of real records (a signed alive update against a chain's bump,
// one verdict against a batch).
const standInSigSize = 64

// standInSig is id's stand-in signature over msg: an FNV hash of both,
// padded to standInSigSize.
func standInSig(id core.NodeID, msg []byte) []byte {
	h := fnv.New64a()
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write(msg)
	sig := make([]byte, 8, standInSigSize)
	binary.BigEndian.PutUint64(sig, h.Sum64())
	return sig[:standInSigSize]
}

// sigKind classifies signed bytes (membership's AliveSigningBytes and
// ChainedAliveSigningBytes, AccuseSigningBytes, VerdictsSigningBytes,
// LeaveSigningBytes) into a sigKinds index.
func sigKind(msg []byte) int {
	const accuse = "grapevine/member/accuse/v1"
	switch {
	case bytes.HasPrefix(msg, []byte(accuse)) && len(msg) > len(accuse):
		if msg[len(accuse)] == membership.RecDead {
			return 2
		}
		return 1
	case bytes.HasPrefix(msg, []byte("grapevine/member/verdicts/")):
		return 2 // verdicts signed together
	case bytes.HasPrefix(msg, []byte("grapevine/member/leave/v1")):
		return 3
	default:
		return 0
	}
}

// authenticate sets cfg's stand-in signer and a verifier that counts its
// checks in c.
func authenticate(cfg *membership.Config, id core.NodeID, c *sigCounts) {
	cfg.Signer = membership.SignerFunc(func(msg []byte) ([]byte, error) { return standInSig(id, msg), nil })
	cfg.Verifier = membership.VerifierFunc(func(member core.NodeID, msg, sig []byte) error {
		c[sigKind(msg)]++
		if !bytes.Equal(sig, standInSig(member, msg)) {
			return errStandInSig
		}
		return nil
	})
}

// sigRates are signature checks by kind divided by some count.
type sigRates [len(sigKinds)]float64

func (c sigCounts) per(d float64) (r sigRates) {
	for i, v := range c {
		r[i] = float64(v) / max(d, 1)
	}
	return r
}

func (r sigRates) String() string {
	t := 0.0
	for _, v := range r {
		t += v
	}
	return fmt.Sprintf("%.2f/%.2f/%.2f/%.2f (%.2f)", r[0], r[1], r[2], r[3], t)
}

// sigSum sums the nodes' signature checks, leaving out those skip marks.
func (w *world) sigSum(skip []bool) (c sigCounts) {
	for i, nd := range w.nodes {
		if skip != nil && skip[i] {
			continue
		}
		for k, v := range nd.sigs {
			c[k] += v
		}
	}
	return c
}
