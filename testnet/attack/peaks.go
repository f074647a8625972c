package attack

import (
	"runtime"
	"sync/atomic"
	"time"
)

// peaks samples the process's heap and goroutine count every period from
// start until stop, keeping the highest of each: an attack's cost is its
// peak, not what is left once the attack ends.
type peaks struct {
	heap0, heap atomic.Uint64
	g0          int
	g           atomic.Int64
	stopc, done chan struct{}
}

// samplePeaks collects garbage, records the starting point and starts
// sampling.
func samplePeaks(period time.Duration) *peaks {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p := &peaks{g0: runtime.NumGoroutine(), stopc: make(chan struct{}), done: make(chan struct{})}
	p.heap0.Store(ms.HeapAlloc)
	go func() {
		defer close(p.done)
		tk := time.NewTicker(period)
		defer tk.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > p.heap.Load() {
				p.heap.Store(ms.HeapAlloc)
			}
			if g := int64(runtime.NumGoroutine()); g > p.g.Load() {
				p.g.Store(g)
			}
			select {
			case <-p.stopc:
				return
			case <-tk.C:
			}
		}
	}()
	return p
}

// stop ends the sampling and returns the heap's and the goroutines' peak
// growth over the starting point.
func (p *peaks) stop() (heap uint64, goroutines int) {
	close(p.stopc)
	<-p.done
	if h, h0 := p.heap.Load(), p.heap0.Load(); h > h0 {
		heap = h - h0
	}
	return heap, int(p.g.Load()) - p.g0
}
