package p2p

import (
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	dto "github.com/prometheus/client_model/go"
)

func TestLogLimiter(t *testing.T) {
	l := logLimiter{every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	if ok, n := l.allow("bad", t0); !ok || n != 0 {
		t.Fatalf("first line: %v %d", ok, n)
	}
	for i := 1; i <= 5; i++ {
		if ok, _ := l.allow("bad", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("line %d within the period allowed", i)
		}
	}
	if ok, _ := l.allow("other", t0.Add(time.Second)); !ok {
		t.Fatal("another reason held back")
	}
	if ok, n := l.allow("bad", t0.Add(11*time.Second)); !ok || n != 5 {
		t.Fatalf("after the period: %v, suppressed %d, want true 5", ok, n)
	}
	l.allow("bad", t0.Add(12*time.Second))
	l.allow("bad", t0.Add(13*time.Second))
	if got := l.flush(t0.Add(15 * time.Second)); len(got) != 0 {
		t.Fatalf("flushed within the period: %v", got)
	}
	if got := l.flush(t0.Add(25 * time.Second)); got["bad"] != 2 || len(got) != 1 {
		t.Fatalf("flush after the period: %v, want bad: 2", got)
	}
}

// Forged messages log one warning, not one per message.
func TestInvalidMessagesLogRateLimited(t *testing.T) {
	peers := startPeers(t, 1, false)
	victim := peers[0]
	_, send := rogue(t, victim)
	alice, _ := GenerateKey()
	var forged []*core.Message
	for i := 0; i < invalidAllowance; i++ { // one more, and the peer is penalized
		m := signedMessage(t, alice, uint64(i+1), "x")
		m.Payload = []byte("altered")
		forged = append(forged, m)
	}
	send(frameOf(forged...))
	waitFor(t, 5*time.Second, "the invalid messages", func() bool { return victim.Stats().Invalid == invalidAllowance })
	var m dto.Metric
	victim.m.logSuppressed.WithLabelValues("invalid_message").Write(&m)
	if got := m.GetCounter().GetValue(); got != invalidAllowance-1 {
		t.Fatalf("%v warnings suppressed of %d, want all but one", got, invalidAllowance)
	}
}
