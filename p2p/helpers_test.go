package p2p

import (
	"context"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine"
	"github.com/grapevine-p2p/grapevine/core"
)

// invalidAllowance is how many invalid messages a peer may send before the
// next penalizes it, under the default score (each weighs 1, so the
// threshold's worth is allowed; they come within well under a half-life).
const invalidAllowance = 16 // DefaultScoreConfig: Threshold over the weight of OffenceInvalidMessage (TestInvalidAllowance)

// startPeers starts n peers on 127.0.0.1 (TCP only, no DHT unless dht):
// peer 0 is the bootstrap, the others join through it.
func startPeers(t testing.TB, n int, dht bool, opts ...Option) []*Peer {
	t.Helper()
	ctx := context.Background()
	base := []Option{
		WithListenAddrs("/ip4/127.0.0.1/tcp/0"),
		WithDHT(dht),
		WithProfile(ProfileLocal),
		WithNotice(func(string) {}),
		WithLeaveGrace(300 * time.Millisecond),
	}
	peers := make([]*Peer, 0, n)
	first, err := New(ctx, append(append([]Option{}, base...), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	peers = append(peers, first)
	boot := first.Addrs()[0].String()
	for i := 1; i < n; i++ {
		// Members arrive a little apart, as in practice; it also spreads
		// the connection handshakes when the machine is busy.
		time.Sleep(30 * time.Millisecond)
		o := append(append([]Option{}, base...), opts...)
		if dht {
			o = append(o, WithBootstrap(boot))
		} else {
			o = append(o, WithSeeds(boot))
		}
		p, err := New(ctx, o...)
		if err != nil {
			t.Fatal(err)
		}
		peers = append(peers, p)
	}
	t.Cleanup(func() {
		for _, p := range peers {
			p.Close()
		}
	})
	return peers
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForDiag is waitFor that, on timeout, logs each live peer's view.
func waitForDiag(t testing.TB, d time.Duration, what string, peers []*Peer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			for i, p := range peers {
				select {
				case <-p.done:
					continue
				default:
				}
				states := map[string]int{}
				for _, m := range p.Members() {
					states[m.State]++
				}
				st := p.Stats()
				t.Logf("peer %d: %v queue drops %d, suspicions %d, probes failed %d", i, states, st.QueueDropped,
					st.Membership.Suspicions, st.Membership.ProbesFailed)
			}
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func alive(p *Peer) int {
	n := 0
	for _, m := range p.Members() {
		if m.State == StateAlive {
			n++
		}
	}
	return n
}

func TestInvalidAllowance(t *testing.T) {
	c := grapevine.DefaultScoreConfig()
	if got := int(c.Threshold / c.Weights[core.OffenceInvalidMessage]); got != invalidAllowance {
		t.Fatalf("the default score allows %d invalid messages, the tests assume %d", got, invalidAllowance)
	}
}
