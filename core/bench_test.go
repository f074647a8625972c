package core

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// popSampler samples from a population shared by every node: nothing per node
// grows with n.
type popSampler struct {
	ids  []NodeID
	self int
	rng  *rand.Rand
}

func (s *popSampler) Sample(dst []NodeID, k int) []NodeID {
	for i := 0; i < k; i++ {
		j := s.rng.IntN(len(s.ids) - 1)
		if j >= s.self {
			j++
		}
		dst = append(dst, s.ids[j])
	}
	return dst
}

func (s *popSampler) Size() int { return len(s.ids) }

type benchNet struct {
	nodes []*Engine
	idx   map[NodeID]int32
	queue []benchMsg
}

type benchMsg struct {
	from, to int32
	frame    []byte
}

type benchTr struct {
	n    *benchNet
	from int32
}

func (t *benchTr) Send(to NodeID, f []byte) {
	t.n.queue = append(t.n.queue, benchMsg{t.from, int32(binary.BigEndian.Uint32([]byte(to))), f})
}

// BenchmarkSpread measures one message spreading through n engines with
// push-pull (zero latency, synchronous rounds): time and heap per node.
func BenchmarkSpread100k(b *testing.B) { benchSpread(b, 100_000) }

func benchSpread(b *testing.B, n int) {
	for it := 0; it < b.N; it++ {
		net := &benchNet{}
		ids := make([]NodeID, n)
		for i := range ids {
			var buf [4]byte
			binary.BigEndian.PutUint32(buf[:], uint32(i))
			ids[i] = NodeID(buf[:])
		}
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		net.nodes = make([]*Engine, n)
		for i := range ids {
			rng := rand.New(rand.NewPCG(1, uint64(i)))
			c := DefaultConfig()
			c.ID, c.Rand = ids[i], rng
			c.Sampler = &popSampler{ids: ids, self: i, rng: rng}
			c.Transport = &benchTr{net, int32(i)}
			c.Fanout, c.EagerPush = 1, false
			e, err := New(c)
			if err != nil {
				b.Fatal(err)
			}
			net.nodes[i] = e
		}
		if _, err := net.nodes[0].Publish("t", make([]byte, 256)); err != nil {
			b.Fatal(err)
		}
		k := MsgKey{ids[0], 1}
		rounds := 0
		for {
			rounds++
			for _, e := range net.nodes {
				e.Tick()
			}
			for len(net.queue) > 0 {
				q := net.queue
				net.queue = nil
				for _, m := range q {
					_ = net.nodes[m.to].Step(ids[m.from], m.frame)
				}
			}
			have := 0
			for _, e := range net.nodes {
				if e.Has(k) {
					have++
				}
			}
			if have == n || rounds > 100 {
				break
			}
		}
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(rounds), "rounds")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heapB/node")
		runtime.KeepAlive(net)
	}
}

// BenchmarkPullAnswer: answering one pull request against a full store
// (10,000 messages from 100 origins), when the requester lacks a few.
func BenchmarkPullAnswer(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := DefaultConfig()
	c.ID = "me"
	c.Sampler = &StaticSampler{Peers: []NodeID{"peer"}, Rand: rng}
	c.Transport = transportFunc(func(NodeID, []byte) {})
	c.Mode = Pull
	e, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	d := &Digest{}
	for o := 0; o < 100; o++ {
		origin := NodeID(fmt.Sprintf("origin-%03d-%s", o, strings.Repeat("x", 28)))
		for s := uint64(1); s <= 100; s++ {
			m := &Message{Origin: origin, Seq: s, Payload: []byte("p")}
			if err := e.Step("peer", EncodeFrame(&Frame{Messages: []*Message{m}})); err != nil {
				b.Fatal(err)
			}
		}
		e.Tick() // a new round: the per-peer inbound bound resets
		de := DigestEntry{Origin: origin, Contiguous: 100}
		if o%10 == 0 {
			de.Contiguous, de.Above = 97, []uint64{99}
		}
		d.Entries = append(d.Entries, de)
	}
	if n, _ := e.Stored(); n != 10000 {
		b.Fatalf("stored %d", n)
	}
	frame := EncodeFrame(&Frame{Digest: d})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.Step("peer", frame); err != nil {
			b.Fatal(err)
		}
	}
}
