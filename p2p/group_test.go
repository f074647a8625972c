package p2p

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// Process-wide background workers of libp2p's dependencies that
		// outlive any one host by design.
		goleak.IgnoreTopFunction("github.com/ipfs/go-log/v2/writer.(*MirrorWriter).logRoutine"),
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	)
}

// TestGroup20 is the in-process test: 20 hosts with real libp2p
// connections on 127.0.0.1 join through one bootstrap peer (DHT on); every
// host receives every one of 100 messages from 3 origins; then 3 hosts are
// killed abruptly, every survivor's membership marks them failed, and the
// survivors keep delivering.
func TestGroup20(t *testing.T) {
	if testing.Short() {
		t.Skip("20 hosts")
	}
	const n = 20
	peers := startPeers(t, n, true, WithProfile(ProfileLAN))
	subs := make([]*Subscription, n)
	for i, p := range peers {
		s, err := p.Subscribe("chat")
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	waitForDiag(t, 120*time.Second, "every peer to see 20 alive members", peers, func() bool {
		for _, p := range peers {
			if alive(p) != n {
				return false
			}
		}
		return true
	})

	origins := []int{1, 7, 13}
	publish := func(round, count int, from []int) {
		for i := 0; i < count; i++ {
			o := from[i%len(from)]
			if err := peers[o].Publish(context.Background(), "chat", []byte(fmt.Sprintf("r%d-%d", round, i))); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	expect := func(idx []int, count int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for _, i := range idx {
			got := map[string]bool{}
			for len(got) < count {
				m, err := subs[i].Next(ctx)
				if err != nil {
					t.Fatalf("peer %d received %d of %d messages: %v", i, len(got), count, err)
				}
				if got[string(m.Data)] {
					t.Fatalf("peer %d: %q delivered twice", i, m.Data)
				}
				got[string(m.Data)] = true
			}
		}
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	publish(1, 100, origins)
	expect(all, 100)

	killed := []int{4, 9, 16}
	for _, k := range killed {
		peers[k].Kill()
	}
	var survivors []int
	for i := range peers {
		if i != 4 && i != 9 && i != 16 {
			survivors = append(survivors, i)
		}
	}
	waitForDiag(t, 120*time.Second, "every survivor to mark the 3 killed hosts failed", peers, func() bool {
		for _, i := range survivors {
			st := map[string]string{}
			for _, m := range peers[i].Members() {
				st[m.ID.String()] = m.State
			}
			for _, k := range killed {
				if st[peers[k].ID().String()] != StateDead {
					return false
				}
			}
		}
		return true
	})
	publish(2, 50, origins)
	expect(survivors, 50)
	for _, i := range survivors {
		if st := peers[i].Stats(); st.Invalid != 0 {
			t.Errorf("peer %d: %d invalid messages", i, st.Invalid)
		}
	}
}
