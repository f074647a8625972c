package sim

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// BenchmarkSpread measures one message spreading by push-pull (the default
// engine configuration) through n nodes: wall time per spread, and the
// process's peak RSS (getrusage max RSS, which includes everything the
// benchmark process did before).
func BenchmarkSpread(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000, 1000000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			if n >= 1000000 && testing.Short() {
				b.Skip("short")
			}
			benchSpread(b, SpreadConfig{N: n, Engine: core.DefaultConfig()})
		})
	}
}

// BenchmarkSpreadKarp is the same with the Karp et al. round model
// (fanout 1, no eager push, round-synchronous).
func BenchmarkSpreadKarp(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000, 1000000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			if n >= 1000000 && testing.Short() {
				b.Skip("short")
			}
			benchSpread(b, SpreadConfig{N: n, Engine: KarpConfig(core.PushPull), Synchronous: true})
		})
	}
}

func benchSpread(b *testing.B, cfg SpreadConfig) {
	b.ReportAllocs()
	var r *SpreadResult
	for i := 0; i < b.N; i++ {
		cfg.Seed = uint64(i + 1)
		var err error
		r, err = Spread(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if r.Residue != 0 {
			b.Fatalf("residue %d", r.Residue)
		}
	}
	b.ReportMetric(float64(r.Rounds100), "rounds")
	b.ReportMetric(r.BytesPerNode(), "B/node")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxRSS-MiB")
	}
	runtime.GC()
}

// BenchmarkIdleMemory reports the live heap per node of an idle gossip
// population (engines built, a few rounds of pull requests, no message),
// and after one message has reached everyone.
func BenchmarkIdleMemory(b *testing.B) {
	const n = 100000
	for i := 0; i < b.N; i++ {
		var ms0, ms1, ms2 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		net, err := New(Config{Nodes: n, Seed: 1, TickInterval: time.Second, Latency: Fixed(10 * time.Millisecond)})
		if err != nil {
			b.Fatal(err)
		}
		g, err := NewGossip(net, GossipConfig{Engine: core.DefaultConfig()})
		if err != nil {
			b.Fatal(err)
		}
		net.Run(3*time.Second + 500*time.Millisecond)
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		if _, err := g.Publish(0, "t", make([]byte, 64), 0); err != nil {
			b.Fatal(err)
		}
		net.Run(8 * time.Second)
		runtime.GC()
		runtime.ReadMemStats(&ms2)
		b.ReportMetric(float64(ms1.HeapAlloc-ms0.HeapAlloc)/n, "idle-B/node")
		b.ReportMetric(float64(ms2.HeapAlloc-ms0.HeapAlloc)/n, "informed-B/node")
		runtime.KeepAlive(g)
	}
}
