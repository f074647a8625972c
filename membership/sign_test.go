package membership

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

type fakeSig struct{}

func (fakeSig) SignMembership(msg []byte) ([]byte, error) {
	return append([]byte("sig:"), msg[len(msg)-4:]...), nil
}

func TestSignatures(t *testing.T) {
	verifier := VerifierFunc(func(id core.NodeID, msg, sig []byte) error {
		if !bytes.HasPrefix(sig, []byte("sig:")) || !bytes.Equal(sig[4:], msg[len(msg)-4:]) {
			return errors.New("bad signature")
		}
		return nil
	})
	m, _, rec := newTest(t, func(c *Config) { c.Verifier = verifier; c.Signer = fakeSig{} })
	// Unsigned and forged alive updates are dropped and counted.
	step(t, m, "p", alive("x", 1))
	step(t, m, "p", appendAlive(nil, aliveMsg{id: "x", inc: 1, sig: []byte("forged")}))
	if _, ok := m.Member("x"); ok || m.stats.BadSignatures != 2 {
		t.Fatalf("forged alive accepted (bad=%d)", m.stats.BadSignatures)
	}
	sig, _ := fakeSig{}.SignMembership(AliveSigningBytes("x", 1, nil))
	step(t, m, "p", appendAlive(nil, aliveMsg{id: "x", inc: 1, sig: sig}))
	if mem, ok := m.Member("x"); !ok || mem.State != StateAlive {
		t.Fatal("signed alive rejected")
	}
	// A forged leave is dropped; a signed one accepted.
	step(t, m, "p", leaveRec("x", 1))
	if mem, _ := m.Member("x"); mem.State != StateAlive || m.stats.BadSignatures != 3 {
		t.Fatal("forged leave accepted")
	}
	lsig, _ := fakeSig{}.SignMembership(LeaveSigningBytes("x", 1))
	step(t, m, "p", appendLeave(nil, leaveMsg{id: "x", inc: 1, sig: lsig}))
	if mem, _ := m.Member("x"); mem.State != StateLeft {
		t.Fatal("signed leave rejected")
	}
	if !slices.Equal(rec.kinds(), []EventKind{EventJoin, EventLeave}) {
		t.Fatalf("events %v", rec.kinds())
	}
	// Own updates carry signatures, and they survive a full-state exchange.
	m2, tr2, _ := newTest(t, func(c *Config) { c.Signer = fakeSig{}; c.ID = "other" })
	m2.Join([]core.NodeID{"self"})
	st := tr2.records("self", RecState)
	if len(st) != 1 {
		t.Fatal("no join state")
	}
	if err := m.Step("other", frame(core.AppendRecord(nil, RecState, st[0].Body))); err != nil {
		t.Fatal(err)
	}
	if mem, ok := m.Member("other"); !ok || mem.State != StateAlive {
		t.Fatal("signed state entry rejected")
	}
}
