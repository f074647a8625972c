package p2p

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"
)

// BenchmarkDurableLatency measures what a data directory costs: four peers
// on 127.0.0.1 (one publisher, three receivers; every peer with a data
// directory in "datadir" and "acked", none in "memory"; in "acked" the
// receivers subscribe WithAcks and acknowledge each message on receipt,
// which adds the floors' commits); the publisher sends 200
// messages of 256 bytes at 20 a second. It reports the receivers'
// publish→delivery latency (p50, p90, from Message.Latency: one host, one
// clock) and the bytes all peers sent per message. Run it with
// -benchtime=1x (each iteration is one 10 s run); docs/benchmarks/durable.md
// has the command and the numbers.
func BenchmarkDurableLatency(b *testing.B) {
	for _, mode := range []string{"memory", "datadir", "acked"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				var opts []Option
				peers := make([]*Peer, 0, 4)
				for i := 0; i < 4; i++ {
					o := append([]Option{}, opts...)
					if mode != "memory" {
						o = append(o, WithDataDir(b.TempDir()))
					}
					if i > 0 {
						o = append(o, WithSeeds(peers[0].Addrs()[0].String()))
					}
					o = append(o, WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithDHT(false), WithProfile(ProfileLocal),
						WithNotice(func(string) {}), WithLeaveGrace(100*time.Millisecond))
					p, err := New(context.Background(), o...)
					if err != nil {
						b.Fatal(err)
					}
					peers = append(peers, p)
				}
				subs := make([]*Subscription, 4)
				var subOpts []SubscribeOption
				if mode == "acked" {
					subOpts = append(subOpts, WithAcks())
				}
				for i, p := range peers {
					subs[i], _ = p.Subscribe("t", subOpts...)
				}
				waitFor(b, 15*time.Second, "membership", func() bool {
					for _, p := range peers {
						if alive(p) != 4 {
							return false
						}
					}
					return true
				})
				var before uint64
				for _, p := range peers {
					before += p.Stats().BytesSent
				}
				const m = 200
				lat := make(chan time.Duration, 3*m)
				done := make(chan struct{})
				for _, s := range subs[1:] {
					go func() {
						for n := 0; n < m; n++ {
							msg, err := s.Next(context.Background())
							if err != nil {
								return
							}
							lat <- msg.Latency
							msg.Ack()
						}
						done <- struct{}{}
					}()
				}
				b.ResetTimer()
				payload := make([]byte, 256)
				tk := time.NewTicker(50 * time.Millisecond)
				for i := 0; i < m; i++ {
					<-tk.C
					binary.BigEndian.PutUint64(payload, uint64(i))
					if err := peers[0].Publish(context.Background(), "t", payload); err != nil {
						b.Fatal(err)
					}
				}
				tk.Stop()
				deadline := time.After(30 * time.Second)
				for range 3 {
					select {
					case <-done:
					case <-deadline:
						b.Fatal("receivers did not get every message")
					}
				}
				b.StopTimer()
				var after uint64
				for _, p := range peers {
					after += p.Stats().BytesSent
				}
				close(lat)
				var ls []time.Duration
				for l := range lat {
					ls = append(ls, l)
				}
				slices.Sort(ls)
				b.ReportMetric(float64(ls[len(ls)/2])/1e6, "p50-ms")
				b.ReportMetric(float64(ls[len(ls)*9/10])/1e6, "p90-ms")
				b.ReportMetric(float64(after-before)/m, "wire-B/msg")
				for _, p := range peers {
					p.Close()
				}
			}
		})
	}
}
