package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"
)

// Options control a run (not the scenario).
type Options struct {
	// Procs runs every peer as a separate `peer testnet worker` process of
	// the program PeerBinary (default: this executable).
	Procs      bool
	PeerBinary string
	// Progress receives the live progress line (nil: none). On a terminal
	// the line is redrawn in place; otherwise a line is printed every 5 s.
	Progress io.Writer
	// Log receives notes (join incomplete, a restart that failed).
	Log io.Writer
}

// handle is one peer slot's current instance, in-process or a process.
type handle interface {
	Addr() string
	Crash()
	Stop()
}

// Run runs the scenario and returns the report computed from what the peers
// observed. ctx cancellation ends the run early; the report then covers the
// time that ran.
func Run(ctx context.Context, sc *Scenario, opt Options) (*Report, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	n := sc.Peers
	_, index := peerIDs(sc.Seed, n)
	col := newCollector(n)
	in := NewInjector(sc.Faults, n, sc.Seed)

	var launch func(i, inst int, seeds []string) (handle, error)
	var procs *procGroup
	if opt.Procs {
		var err error
		procs, err = newProcGroup(sc, opt, col)
		if err != nil {
			return nil, err
		}
		defer procs.close()
		launch = procs.launch
	} else {
		launch = func(i, inst int, seeds []string) (handle, error) {
			return startMember(sc, i, inst, in, index, seeds, col.add)
		}
	}

	handles := make([]handle, n)
	insts := make([]int, n)
	var hmu sync.Mutex
	stopAll := func() {
		hmu.Lock()
		defer hmu.Unlock()
		var wg sync.WaitGroup
		for i, h := range handles {
			if h == nil {
				continue
			}
			wg.Add(1)
			go func(h handle) { defer wg.Done(); h.Stop() }(h)
			handles[i] = nil
		}
		wg.Wait()
	}
	defer stopAll()

	host := HostInfo{CPUs: runtime.NumCPU(), LoadStart: loadAvg()}
	cpu0 := cpuSeconds()
	begin := time.Now()
	for i := 0; i < n; i++ {
		var seeds []string
		if i > 0 {
			seeds = append(seeds, handles[0].Addr())
			if i > 1 {
				seeds = append(seeds, handles[(i-1)/2+1].Addr())
			}
		}
		h, err := launch(i, 0, seeds)
		if err != nil {
			return nil, err
		}
		handles[i] = h
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	startedIn := time.Since(begin)

	prog := newProgress(opt.Progress, sc, in, col, procs)
	stopProg := prog.run()
	joinT := time.NewTimer(sc.JoinTimeout.D())
	select {
	case <-col.joinDone:
	case <-joinT.C:
		fmt.Fprintf(opt.Log, "join incomplete after %v: starting the scenario anyway\n", sc.JoinTimeout.D())
	case <-ctx.Done():
		stopProg()
		return nil, ctx.Err()
	}
	joinT.Stop()

	t0 := time.Now()
	in.Start(t0)
	col.add(Record{Kind: RecClock, T: t0.UnixNano()})
	if procs != nil {
		procs.clock(t0)
	}
	prog.setClock(t0)

	type action struct {
		at  time.Duration
		do  func()
		ord int
	}
	var acts []action
	for _, c := range sc.Faults.Crashes {
		acts = append(acts, action{at: c.At.D(), ord: 1, do: func() {
			hmu.Lock()
			h := handles[c.Peer]
			handles[c.Peer] = nil
			hmu.Unlock()
			if h != nil {
				h.Crash()
			}
		}})
		if c.Restart > 0 && c.Restart < sc.Duration {
			acts = append(acts, action{at: c.Restart.D(), ord: 2, do: func() {
				hmu.Lock()
				var seeds []string
				for j, h := range handles {
					if h != nil && j != c.Peer {
						seeds = append(seeds, h.Addr())
						if len(seeds) == 2 {
							break
						}
					}
				}
				insts[c.Peer]++
				inst := insts[c.Peer]
				hmu.Unlock()
				h, err := launch(c.Peer, inst, seeds)
				if err != nil {
					fmt.Fprintf(opt.Log, "restart of peer %d failed: %v\n", c.Peer, err)
					return
				}
				hmu.Lock()
				handles[c.Peer] = h
				hmu.Unlock()
			}})
		}
	}
	for i, p := range sc.Faults.Partitions {
		acts = append(acts, action{at: p.At.D(), do: func() {
			col.add(Record{Kind: RecFault, T: time.Now().UnixNano(), Ev: "partition", Subj: i})
		}})
		if p.Heal > 0 {
			acts = append(acts, action{at: p.Heal.D(), do: func() {
				col.add(Record{Kind: RecFault, T: time.Now().UnixNano(), Ev: "heal", Subj: i})
			}})
		}
	}
	sort.SliceStable(acts, func(a, b int) bool {
		if acts[a].at != acts[b].at {
			return acts[a].at < acts[b].at
		}
		return acts[a].ord < acts[b].ord
	})
	end := t0.Add(sc.Duration.D())
	var actWG sync.WaitGroup
	interrupted := false
	timer := time.NewTimer(0)
	<-timer.C
loop:
	for _, a := range acts {
		if a.at >= sc.Duration.D() {
			break
		}
		timer.Reset(time.Until(t0.Add(a.at)))
		select {
		case <-timer.C:
		case <-ctx.Done():
			interrupted = true
			break loop
		}
		// Restarts take a moment; do not hold the schedule for them.
		actWG.Add(1)
		go func() { defer actWG.Done(); a.do() }()
	}
	if !interrupted {
		timer.Reset(time.Until(end))
		select {
		case <-timer.C:
		case <-ctx.Done():
			interrupted = true
		}
	}
	actWG.Wait()
	endT := time.Now()
	col.add(Record{Kind: RecEnd, T: endT.UnixNano()})
	stopProg()
	stopAll()
	if procs != nil {
		procs.close()
	} else {
		col.add(Record{Kind: RecInjected, T: endT.UnixNano(), Peer: -1, Frames: in.Frames.Load(), Bytes: in.Dropped.Load()})
	}
	rep := Analyze(sc, col.records())
	rep.StartupSeconds = startedIn.Seconds()
	host.LoadEnd = loadAvg()
	host.CPUSeconds = cpuSeconds() - cpu0
	rep.Host = host
	rep.Interrupted = interrupted
	rep.Mode = "in-process"
	if opt.Procs {
		rep.Mode = "processes"
	}
	if interrupted {
		return rep, errors.Join(ctx.Err(), errInterrupted)
	}
	return rep, nil
}

var errInterrupted = errors.New("interrupted: the report covers the time that ran")

// IsInterrupted reports whether err says the run was cut short (the report
// is still valid for the time that ran).
func IsInterrupted(err error) bool { return errors.Is(err, errInterrupted) }

// progress draws the live line.
type progress struct {
	w     io.Writer
	tty   bool
	sc    *Scenario
	in    *Injector
	col   *collector
	procs *procGroup
	phase string
	t0    time.Time
	start time.Time
	lastF uint64
	lastD uint64
	width int
	mu    sync.Mutex
}

func newProgress(w io.Writer, sc *Scenario, in *Injector, col *collector, procs *procGroup) *progress {
	p := &progress{w: w, sc: sc, in: in, col: col, procs: procs, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) setClock(t0 time.Time) {
	p.mu.Lock()
	p.t0 = t0
	p.mu.Unlock()
}

func (p *progress) injected() (frames, dropped uint64) {
	if p.procs != nil {
		return p.procs.injected()
	}
	return p.in.Frames.Load(), p.in.Dropped.Load()
}

func (p *progress) line() string {
	l := p.col.snapshot()
	f, d := p.injected()
	loss := 0.0
	if f > p.lastF {
		loss = float64(d-p.lastD) / float64(f-p.lastF)
	}
	p.lastF, p.lastD = f, d
	p.mu.Lock()
	t0 := p.t0
	p.mu.Unlock()
	var clock string
	if t0.IsZero() {
		clock = fmt.Sprintf("joining %4.1fs", time.Since(p.start).Seconds())
	} else {
		clock = fmt.Sprintf("%5.1fs/%v", time.Since(t0).Seconds(), p.sc.Duration.D())
	}
	return fmt.Sprintf("%s | peers up %d/%d | view alive min %d avg %.1f, suspect %d, dead %d | delivered %d of %d published | loss %4.1f%%",
		clock, l.running, p.sc.Peers, l.viewMin, l.viewMean, l.suspect, l.dead, l.delivered, l.published, 100*loss)
}

// run starts drawing and returns a function that stops and clears it.
func (p *progress) run() func() {
	if p.w == nil {
		return func() {}
	}
	every := time.Second
	if !p.tty {
		every = 5 * time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s := p.line()
				if p.tty {
					pad := ""
					if len(s) < p.width {
						pad = strings.Repeat(" ", p.width-len(s))
					}
					p.width = len(s)
					fmt.Fprintf(p.w, "\r%s%s", s, pad)
				} else {
					fmt.Fprintln(p.w, s)
				}
			}
		}
	}()
	return func() {
		select {
		case <-done:
			return
		default:
		}
		close(done)
		wg.Wait()
		if p.tty && p.width > 0 {
			fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		}
	}
}

// loadAvg returns the 1-minute load average (Linux), or 0.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, _ := strconv.ParseFloat(f, 64)
	return v
}

// cpuSeconds returns the user+system CPU time this process and its
// finished children (--procs workers) have used.
func cpuSeconds() float64 {
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	total := 0.0
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			total += tv(ru.Utime) + tv(ru.Stime)
		}
	}
	return total
}
