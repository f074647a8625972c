package main

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// Running simulations in parallel within a memory budget: a simulation of n
// members holds n² member entries, so the big ones wait for memory.

// memAvailable returns the system's available memory in bytes (MemAvailable
// in /proc/meminfo), or +Inf if it cannot be read.
func memAvailable() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return math.Inf(1)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemAvailable:" {
			var kb float64
			if _, err := fmt.Sscan(f[1], &kb); err == nil {
				return kb * 1024
			}
		}
	}
	return math.Inf(1)
}

// parallel runs jobs with at most o.jobs at a time.
func parallel(o *options, jobs []func()) {
	sized := make([]job, len(jobs))
	for i, j := range jobs {
		sized[i] = job{run: j}
	}
	parallelMem(o, sized)
}

// job is one simulation and the population whose member tables dominate
// its memory (0: small).
type job struct {
	n   int
	run func()
	cpu time.Duration // filled in: CPU time of the process while it ran (shared with concurrent jobs)
}

// memFor estimates the heap of a simulation of n members: n² member table
// entries of about 110 bytes (measured with -trace: 110 B per entry at
// n = 1,000 and 2,000) plus frames in flight and slack.
func memFor(n int) float64 { return float64(n)*float64(n)*115 + 100e6 }

// parallelMem runs jobs with at most o.jobs at a time and, beyond the first
// running job, only while their estimated heaps fit in o.memGB together.
func parallelMem(o *options, jobs []job) {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	running, used := 0, 0.0
	budget := o.memGB * 1e9
	var wg sync.WaitGroup
	for i := range jobs {
		j := &jobs[i]
		need := memFor(j.n)
		mu.Lock()
		for running >= max(o.jobs, 1) || (running > 0 && used+need > budget) {
			cond.Wait()
		}
		// The machine is shared: a big simulation also waits until the
		// system has the memory for it (others' runs come and go).
		if need > 2e9 {
			debug.FreeOSMemory() // return the heaps of finished simulations first
		}
		for need > 2e9 && memAvailable() < need+1e9 {
			mu.Unlock()
			fmt.Fprintf(os.Stderr, "swimexp: waiting for %.1f GB of free memory (%.1f GB available)\n", (need+1e9)/1e9, memAvailable()/1e9)
			time.Sleep(30 * time.Second)
			debug.FreeOSMemory()
			mu.Lock()
		}
		running++
		used += need
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c0 := cpuTime()
			j.run()
			j.cpu = cpuTime() - c0
			mu.Lock()
			running--
			used -= need
			cond.Broadcast()
			mu.Unlock()
		}()
	}
	wg.Wait()
}
