package main

import (
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/testnet/sim"
)

// traceOpts configure -trace: one simulation whose every frame and event is
// hashed, for bit-for-bit comparisons of the simulator and the memberlist
// before and after a change that must not alter behaviour (memory and
// speed work), and for profiling one configuration.
type traceOpts struct {
	on      bool
	n       int
	seed    uint64
	loss    float64
	dur     time.Duration
	lg      bool
	hash    bool
	crashes int
	cpuProf string
	memProf string
}

func traceFlags(t *traceOpts) {
	flag.BoolVar(&t.on, "trace", false, "run one simulation (-trace-*) and print a digest of every frame and event, its CPU time and peak heap; nothing else")
	flag.IntVar(&t.n, "trace-n", 1000, "-trace: members")
	flag.Uint64Var(&t.seed, "trace-seed", 1, "-trace: seed")
	flag.Float64Var(&t.loss, "trace-loss", 0.1, "-trace: packet loss rate")
	flag.DurationVar(&t.dur, "trace-dur", time.Minute, "-trace: simulated time")
	flag.BoolVar(&t.lg, "trace-lifeguard", true, "-trace: Lifeguard and repair on")
	flag.BoolVar(&t.hash, "trace-hash", true, "-trace: hash every frame (off: profile the simulation alone)")
	flag.IntVar(&t.crashes, "trace-crashes", 2, "-trace: members crashed during the run (at evenly spaced times)")
	flag.StringVar(&t.cpuProf, "cpuprofile", "", "-trace: write a CPU profile")
	flag.StringVar(&t.memProf, "memprofile", "", "-trace: write a heap profile after the run (live objects)")
}

func runTrace(t *traceOpts) {
	if t.cpuProf != "" {
		f, err := os.Create(t.cpuProf)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	cpu0 := cpuTime()
	// h hashes everything; hb all but the counters, so that a new counter
	// does not hide that frames, events and member tables are unchanged.
	h, hb := sha256.New(), sha256.New()
	both := io.MultiWriter(h, hb)
	var buf [64]byte
	var hook func(int, core.NodeID, []byte)
	if t.hash {
		hook = func(from int, to core.NodeID, frame []byte) {
			b := binary.AppendVarint(buf[:0], int64(from))
			b = wire.AppendString(b, string(to))
			b = wire.AppendBytes(b, frame)
			both.Write(b)
		}
	}
	w := newWorld(worldConfig{N: t.n, Seed: t.seed, Loss: t.loss, Member: lifeguard(t.lg), SendHook: hook})
	bootCPU := cpuTime() - cpu0
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	bootHeap := ms.HeapAlloc
	frames := uint64(0)
	if t.hash {
		// The network keeps frames until delivery, so hashing the sender's
		// slice at send time sees exactly what was sent.
		w.net.Tap = func(e sim.Event) {
			b := binary.AppendUvarint(buf[:0], uint64(e.Kind))
			b = binary.AppendVarint(b, int64(e.At))
			b = binary.AppendVarint(b, int64(e.From))
			b = binary.AppendVarint(b, int64(e.To))
			b = binary.AppendVarint(b, int64(e.Size))
			both.Write(b)
			frames++
		}
	}
	events := map[membership.EventKind]int{}
	w.onEvent = func(obs int, e membership.Event) {
		events[e.Kind]++
		b := binary.AppendUvarint(buf[:0], uint64(e.Kind))
		b = binary.AppendVarint(b, int64(obs))
		b = binary.AppendVarint(b, int64(w.net.Now()))
		b = binary.AppendUvarint(b, e.Member.Incarnation)
		both.Write(b)
		both.Write([]byte(e.Member.ID))
		both.Write([]byte(e.From))
	}
	for c := 0; c < t.crashes; c++ {
		at := t.dur * time.Duration(c+1) / time.Duration(t.crashes+2)
		idx := int((uint64(c)*7919 + t.seed) % uint64(t.n))
		w.net.CrashAt(at, idx)
	}
	w.net.Run(t.dur)
	// Per-member state at the end.
	for _, nd := range w.nodes {
		st := nd.ml.Stats()
		b := fmt.Appendf(nil, "%+v|%d|%d|%d", st, nd.ml.Size(), nd.ml.Incarnation(), nd.ml.Health())
		h.Write(b)
		hb.Write(fmt.Appendf(nil, "%d|%d|%d", nd.ml.Size(), nd.ml.Incarnation(), nd.ml.Health()))
		for _, m := range nd.ml.AllMembers() {
			both.Write(fmt.Appendf(nil, "%s/%d/%d/%d;", m.ID, m.State, m.Incarnation, m.Since))
		}
	}
	tot := w.net.Total()
	both.Write(fmt.Appendf(nil, "%+v", tot))
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms)
	if t.memProf != "" {
		f, err := os.Create(t.memProf)
		if err != nil {
			fail(err)
		}
		runtime.GC()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			fail(err)
		}
		f.Close()
	}
	fmt.Printf("trace n=%d seed=%d loss=%.2f dur=%s lifeguard=%v crashes=%d\n", t.n, t.seed, t.loss, t.dur, t.lg, t.crashes)
	fmt.Printf("digest %x\n", h.Sum(nil))
	fmt.Printf("behaviour digest %x (frames, events, member tables; not the counters)\n", hb.Sum(nil))
	fmt.Printf("frames sent %d, bytes sent %d, events %v, frame events hashed %d\n", tot.FramesSent, tot.BytesSent, events, frames)
	fmt.Printf("cpu %.1fs (boot %.1fs), wall %.1fs, heap after boot %.0f MB (%.0f B per member entry), peak RSS %.0f MB\n",
		cpu.Seconds(), bootCPU.Seconds(), time.Since(start).Seconds(), float64(bootHeap)/1e6,
		float64(bootHeap)/float64(t.n)/float64(t.n), float64(peakRSS())/1e6)
	runtime.KeepAlive(w)
}
