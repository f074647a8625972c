package p2p

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// deliveryLog records what one peer's subscription delivered, per origin.
type deliveryLog struct {
	mu  sync.Mutex
	got map[peer.ID][]uint64
	wg  sync.WaitGroup
}

func newDeliveryLog() *deliveryLog { return &deliveryLog{got: map[peer.ID][]uint64{}} }

// follow records every message of s until its channel closes.
func (l *deliveryLog) follow(s *Subscription) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for m := range s.Messages() {
			l.mu.Lock()
			l.got[m.From] = append(l.got[m.From], m.Seq)
			l.mu.Unlock()
		}
	}()
}

func (l *deliveryLog) count(from peer.ID) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.got[from])
}

func (l *deliveryLog) seqs(from peer.ID) []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]uint64(nil), l.got[from]...)
}

// checkExactly fails unless got is want in order: nothing lost, nothing
// twice, per-origin order.
func checkExactly(t *testing.T, what string, got, want []uint64) {
	t.Helper()
	seen := map[uint64]int{}
	for _, s := range got {
		seen[s]++
	}
	dup, lost := 0, 0
	for _, n := range seen {
		dup += n - 1
	}
	for _, s := range want {
		if seen[s] == 0 {
			lost++
		}
	}
	inOrder := true
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			inOrder = false
		}
	}
	if dup != 0 || lost != 0 || len(got) != len(want) || !inOrder {
		t.Errorf("%s: delivered %d of %d: %d duplicates, %d lost, in order %v", what, len(got), len(want), dup, lost, inOrder)
	}
}

// publisher publishes on topic t every interval until stop is closed and
// returns the sequence numbers it published.
func publisher(p *Peer, interval time.Duration, stop <-chan struct{}) <-chan []uint64 {
	out := make(chan []uint64, 1)
	go func() {
		var seqs []uint64
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				out <- seqs
				return
			case <-tk.C:
			}
			k, err := p.PublishKey(context.Background(), "t", []byte(fmt.Sprint("m", i)))
			if err != nil {
				out <- seqs
				return
			}
			seqs = append(seqs, k.Seq)
		}
	}()
	return out
}

// TestDurableRestart: a peer with a data directory is killed (no graceful
// anything) while three others publish 20 messages a second, and restarted
// with the same key and directory two seconds later. Over its two lives it
// delivers every message of every origin exactly once and in order; its
// own numbering continues above everything it used before the crash, and
// no peer delivers any of its messages twice.
func TestDurableRestart(t *testing.T) {
	pubs := startPeers(t, 3, false)
	boot := pubs[0].Addrs()[0].String()
	start := restartable(t, boot)
	r := start()
	logs := make([]*deliveryLog, 4)
	for i := range logs {
		logs[i] = newDeliveryLog()
	}
	for i, p := range append(append([]*Peer{}, pubs...), r) {
		s, err := p.Subscribe("t")
		if err != nil {
			t.Fatal(err)
		}
		logs[i].follow(s)
	}
	all := append(append([]*Peer{}, pubs...), r)
	waitFor(t, 15*time.Second, "membership", func() bool {
		for _, p := range all {
			if alive(p) != 4 {
				return false
			}
		}
		return true
	})
	stop := make(chan struct{})
	var outs []<-chan []uint64
	for _, p := range pubs {
		outs = append(outs, publisher(p, 50*time.Millisecond, stop))
	}
	rStop := make(chan struct{})
	rOut := publisher(r, 50*time.Millisecond, rStop)
	time.Sleep(2 * time.Second)
	close(rStop)
	r.Kill()
	before := <-rOut
	time.Sleep(2 * time.Second)
	r = start()
	t.Cleanup(func() { r.Close() })
	s, err := r.Subscribe("t")
	if err != nil {
		t.Fatal(err)
	}
	logs[3].follow(s)
	if st := r.DurableStats(); st.RestoredOrigins != 3 || st.RestoredMessages == 0 {
		t.Errorf("restored %+v, want 3 origins and some messages", st)
	}
	rStop = make(chan struct{})
	rOut = publisher(r, 50*time.Millisecond, rStop)
	time.Sleep(2 * time.Second)
	close(stop)
	close(rStop)
	after := <-rOut
	var published [][]uint64
	for _, o := range outs {
		published = append(published, <-o)
	}
	if len(before) == 0 || len(after) == 0 || after[0] <= before[len(before)-1] {
		t.Fatalf("restarted peer's numbering: before %d messages ending at %v, after starting at %v", len(before), before[len(before)-1:], after[:min(1, len(after))])
	}
	waitFor(t, 15*time.Second, "the restarted peer to catch up", func() bool {
		for i, p := range pubs {
			if logs[3].count(p.ID()) < len(published[i]) {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond) // anything extra would show up now
	for i, p := range pubs {
		checkExactly(t, fmt.Sprintf("restarted peer, origin %d", i), logs[3].seqs(p.ID()), published[i])
	}
	for i := range pubs {
		waitFor(t, 10*time.Second, "the restarted peer's new messages everywhere", func() bool {
			seen := map[uint64]bool{}
			for _, s := range logs[i].seqs(r.ID()) {
				seen[s] = true
			}
			for _, s := range after {
				if !seen[s] {
					return false
				}
			}
			return true
		})
		got := logs[i].seqs(r.ID())
		seen := map[uint64]bool{}
		for j, s := range got {
			if seen[s] || j > 0 && s <= got[j-1] {
				t.Errorf("peer %d delivered the restarted peer's %d twice or out of order", i, s)
			}
			seen[s] = true
		}
	}
	t.Logf("restarted peer: %+v, engine FIFO lost %d", r.DurableStats(), r.Stats().Engine.FIFOLost)
}

// TestHistory: a newcomer with the default history receives nothing
// published before it joined; one with HistoryLast(100) receives exactly
// the last 100 per topic (all of a topic with fewer), oldest first, then
// what is published after it joined.
func TestHistory(t *testing.T) {
	peers := startPeers(t, 2, false)
	old := peers[1]
	subA, _ := old.Subscribe("a")
	subB, _ := old.Subscribe("b")
	oldLog := newDeliveryLog()
	oldLog.follow(subA)
	oldLog.follow(subB)
	waitFor(t, 10*time.Second, "membership", func() bool { return alive(peers[0]) == 2 && alive(peers[1]) == 2 })
	var before []uint64
	for i := 0; i < 190; i++ {
		topic := "a"
		if i%5 == 4 {
			topic = "b" // 38 on b, 152 on a
		}
		k, err := peers[0].PublishKey(context.Background(), topic, []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, k.Seq)
	}
	waitFor(t, 10*time.Second, "the history to spread", func() bool { return oldLog.count(peers[0].ID()) == 190 })
	boot := peers[0].Addrs()[0].String()
	type newcomer struct {
		p    *Peer
		a, b *deliveryLog
	}
	join := func(h History) newcomer {
		p, err := New(context.Background(), WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false),
			WithProfile(ProfileLocal), WithNotice(func(string) {}), WithSeeds(boot), WithHistory(h))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		n := newcomer{p: p, a: newDeliveryLog(), b: newDeliveryLog()}
		sa, _ := p.Subscribe("a")
		sb, _ := p.Subscribe("b")
		n.a.follow(sa)
		n.b.follow(sb)
		return n
	}
	none, last := join(HistoryNone()), join(HistoryLast(100))
	waitFor(t, 10*time.Second, "newcomers joined", func() bool { return alive(none.p) == 4 && alive(last.p) == 4 })
	var after []uint64
	for i := 0; i < 5; i++ {
		k, err := peers[0].PublishKey(context.Background(), "a", []byte(fmt.Sprint("new", i)))
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, k.Seq)
	}
	var histA, histB []uint64
	for i, s := range before {
		if i%5 == 4 {
			histB = append(histB, s)
		} else {
			histA = append(histA, s)
		}
	}
	from := peers[0].ID()
	waitFor(t, 15*time.Second, "deliveries", func() bool {
		return none.a.count(from) >= 5 && last.a.count(from) >= 105 && last.b.count(from) >= 38
	})
	time.Sleep(time.Second) // anything extra would show up now
	checkExactly(t, "default history, topic a", none.a.seqs(from), after)
	checkExactly(t, "default history, topic b", none.b.seqs(from), nil)
	checkExactly(t, "last 100, topic a", last.a.seqs(from), append(append([]uint64{}, histA[len(histA)-100:]...), after...))
	checkExactly(t, "last 100, topic b", last.b.seqs(from), histB)
	if st := none.p.DurableStats(); st.HistoryDropped == 0 {
		t.Errorf("default history withheld nothing: %+v", st)
	}
}

// TestDurableGroupRestart: ten members with data directories. Five stop
// (gracefully) and miss 20 messages; then the other five stop too, and the
// whole group restarts from its directories. The five that missed the
// messages get exactly those from the others' restored stores, nobody gets
// anything twice, and the group works on.
func TestDurableGroupRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("20 peer starts")
	}
	const n = 10
	keys := make([]crypto.PrivKey, n)
	dirs := make([]string, n)
	for i := range keys {
		keys[i], _ = GenerateKey()
		dirs[i] = t.TempDir()
	}
	peers := make([]*Peer, n)
	logs := make([]*deliveryLog, n)
	start := func(i int, seed string) {
		opts := []Option{WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false), WithProfile(ProfileLocal),
			WithNotice(func(string) {}), WithLeaveGrace(300 * time.Millisecond), WithIdentity(keys[i]), WithDataDir(dirs[i])}
		if seed != "" {
			opts = append(opts, WithSeeds(seed))
		}
		p, err := New(context.Background(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		s, err := p.Subscribe("t")
		if err != nil {
			t.Fatal(err)
		}
		peers[i] = p
		logs[i] = newDeliveryLog()
		logs[i].follow(s)
	}
	startAll := func() {
		start(0, "")
		for i := 1; i < n; i++ {
			time.Sleep(30 * time.Millisecond)
			start(i, peers[0].Addrs()[0].String())
		}
		waitFor(t, 30*time.Second, "membership", func() bool {
			for _, p := range peers {
				if alive(p) != n {
					return false
				}
			}
			return true
		})
	}
	t.Cleanup(func() {
		for _, p := range peers {
			p.Close()
		}
	})
	publish := func(k int) []uint64 {
		var seqs []uint64
		for i := 0; i < k; i++ {
			key, err := peers[0].PublishKey(context.Background(), "t", []byte(fmt.Sprint(i)))
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, key.Seq)
			time.Sleep(10 * time.Millisecond)
		}
		return seqs
	}
	startAll()
	id0 := peers[0].ID()
	publish(20)
	for i := 1; i < n; i++ {
		waitFor(t, 10*time.Second, "first messages", func() bool { return logs[i].count(peers[0].ID()) == 20 })
	}
	for i := 5; i < n; i++ {
		peers[i].Close()
	}
	second := publish(20)
	for i := 1; i < 5; i++ {
		waitFor(t, 10*time.Second, "second messages", func() bool { return logs[i].count(peers[0].ID()) == 40 })
	}
	for i := 0; i < 5; i++ {
		peers[i].Close()
	}
	startAll()
	for i := 5; i < n; i++ {
		waitFor(t, 15*time.Second, "the missed messages after the group restart", func() bool { return logs[i].count(id0) >= 20 })
	}
	third, err := peers[3].PublishKey(context.Background(), "t", []byte("after"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if i != 3 {
			waitFor(t, 10*time.Second, "a message after the group restart", func() bool { return logs[i].count(peers[3].ID()) == 1 })
		}
	}
	time.Sleep(time.Second) // anything extra would show up now
	for i := 0; i < n; i++ {
		want := []uint64(nil)
		if i >= 5 {
			want = second
		}
		checkExactly(t, fmt.Sprintf("peer %d after the group restart", i), logs[i].seqs(id0), want)
		if i != 3 {
			checkExactly(t, fmt.Sprintf("peer %d, the new message", i), logs[i].seqs(peers[3].ID()), []uint64{third.Seq})
		}
	}
}

// TestDurableSequenceNumbers: a peer killed after publishing across a
// reservation block restarts above every number it used, with a gap of at
// most one block; after a clean stop it continues without a gap; a second
// peer cannot open a directory in use.
func TestDurableSequenceNumbers(t *testing.T) {
	dir := t.TempDir()
	sk, _ := GenerateKey()
	start := func() (*Peer, error) {
		return New(context.Background(), WithIdentity(sk), WithDataDir(dir), WithListenAddrs("/ip4/127.0.0.1/tcp/0"),
			WithDHT(false), WithProfile(ProfileLocal), WithNotice(func(string) {}), WithLeaveGrace(10*time.Millisecond))
	}
	publish := func(p *Peer) uint64 {
		k, err := p.PublishKey(context.Background(), "t", []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		return k.Seq
	}
	p, err := start()
	if err != nil {
		t.Fatal(err)
	}
	first := publish(p)
	last := first
	for i := 0; i < seqBlock; i++ {
		last = publish(p)
	}
	if last != first+seqBlock {
		t.Fatalf("numbering not consecutive: %d then %d after %d", first, last, seqBlock)
	}
	p.Kill()
	if p, err = start(); err != nil {
		t.Fatal(err)
	}
	afterKill := publish(p)
	if afterKill <= last || afterKill > last+seqBlock+1 {
		t.Fatalf("after kill -9 published %d; last before %d: want above it by at most one block", afterKill, last)
	}
	if _, err := start(); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second peer on the same directory: %v, want an in-use error", err)
	}
	p.Close()
	if p, err = start(); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if s := publish(p); s != afterKill+1 {
		t.Fatalf("after a clean stop published %d, want %d", s, afterKill+1)
	}
	if st := p.DurableStats(); st.Stored == 0 || st.RestoredMessages == 0 {
		t.Fatalf("own messages not kept: %+v", st)
	}
}

// restartable returns a function that starts, each time it is called, a
// peer with one key and one data directory that joins through boot: the
// same member across restarts.
func restartable(t *testing.T, boot string) func() *Peer {
	t.Helper()
	sk, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return func() *Peer {
		t.Helper()
		p, err := New(context.Background(), WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false),
			WithProfile(ProfileLocal), WithNotice(func(string) {}), WithSeeds(boot),
			WithIdentity(sk), WithDataDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}
