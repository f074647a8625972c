package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WorkerArgs are the arguments (after the program name) that start one
// --procs worker: `peer testnet worker ...`.
var WorkerArgs = []string{"testnet", "worker"}

// procGroup runs every peer as a separate process (`peer testnet worker`)
// that reports its records as JSON lines on stdout and takes commands
// (clock, crash, stop) on stdin.
type procGroup struct {
	sc    *Scenario
	bin   string
	dir   string
	file  string
	col   *collector
	log   io.Writer
	mu    sync.Mutex
	procs []*proc
	t0    time.Time
	inj   map[[2]int][2]uint64 // latest injector counters per (peer, instance)
	once  sync.Once
}

type proc struct {
	g       *procGroup
	idx     int
	inst    int
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	addr    string
	started chan struct{}
	exited  chan struct{}
	stderr  *tailBuffer
	mu      sync.Mutex
	dead    bool
}

func newProcGroup(sc *Scenario, opt Options, col *collector) (*procGroup, error) {
	bin := opt.PeerBinary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding the peer program for --procs: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "grapevine-testnet-")
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(sc)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	file := filepath.Join(dir, "scenario.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &procGroup{sc: sc, bin: bin, dir: dir, file: file, col: col, log: opt.Log, inj: map[[2]int][2]uint64{}}, nil
}

// tailBuffer keeps the last few KiB a worker wrote to stderr.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

func (g *procGroup) launch(i, inst int, seeds []string) (handle, error) {
	args := append(append([]string(nil), WorkerArgs...), "--scenario", g.file, "--index", strconv.Itoa(i),
		"--inst", strconv.Itoa(inst), "--seeds", strings.Join(seeds, ","))
	cmd := exec.Command(g.bin, args...)
	p := &proc{g: g, idx: i, inst: inst, cmd: cmd, started: make(chan struct{}), exited: make(chan struct{}), stderr: &tailBuffer{}}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting peer %d (%s): %w", i, g.bin, err)
	}
	go p.read(out)
	select {
	case <-p.started:
	case <-p.exited:
		return nil, fmt.Errorf("peer %d exited at start: %s", i, p.stderr.String())
	case <-time.After(30 * time.Second):
		p.kill()
		return nil, fmt.Errorf("peer %d did not start within 30s: %s", i, p.stderr.String())
	}
	g.mu.Lock()
	g.procs = append(g.procs, p)
	t0 := g.t0
	g.mu.Unlock()
	if !t0.IsZero() {
		p.send(fmt.Sprintf("clock %d", t0.UnixNano()))
	}
	return p, nil
}

func (p *proc) read(out io.Reader) {
	defer close(p.exited)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	startedOnce := sync.Once{}
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue
		}
		if r.Kind == RecInjected {
			p.g.mu.Lock()
			p.g.inj[[2]int{p.idx, p.inst}] = [2]uint64{r.Frames, r.Bytes}
			p.g.mu.Unlock()
			continue
		}
		if r.Kind == RecStart {
			p.addr = r.Addr
			p.g.col.add(r)
			startedOnce.Do(func() { close(p.started) })
			continue
		}
		p.g.col.add(r)
	}
	p.cmd.Wait()
}

func (p *proc) send(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dead {
		io.WriteString(p.stdin, line+"\n")
	}
}

func (p *proc) kill() {
	p.mu.Lock()
	p.dead = true
	p.mu.Unlock()
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
	}
}

func (p *proc) Addr() string { return p.addr }

// Crash makes the worker record its counters and the crash, then exit at
// once (the kernel closes its sockets; nothing is announced).
func (p *proc) Crash() {
	p.send("crash")
	p.wait(5 * time.Second)
}

// Stop makes the worker record its final counters and exit.
func (p *proc) Stop() {
	p.send("stop")
	p.wait(10 * time.Second)
}

func (p *proc) wait(d time.Duration) {
	select {
	case <-p.exited:
	case <-time.After(d):
		p.kill()
		<-p.exited
	}
	p.mu.Lock()
	p.dead = true
	p.mu.Unlock()
}

func (g *procGroup) clock(t0 time.Time) {
	g.mu.Lock()
	g.t0 = t0
	ps := append([]*proc(nil), g.procs...)
	g.mu.Unlock()
	for _, p := range ps {
		p.send(fmt.Sprintf("clock %d", t0.UnixNano()))
	}
}

func (g *procGroup) injected() (frames, dropped uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, v := range g.inj {
		frames += v[0]
		dropped += v[1]
	}
	return
}

// close stops what still runs and hands the injector totals to the
// collector (once).
func (g *procGroup) close() {
	g.once.Do(func() {
		g.mu.Lock()
		ps := append([]*proc(nil), g.procs...)
		g.mu.Unlock()
		var wg sync.WaitGroup
		for _, p := range ps {
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop() }()
		}
		wg.Wait()
		f, d := g.injected()
		g.col.add(Record{Kind: RecInjected, T: time.Now().UnixNano(), Peer: -1, Frames: f, Bytes: d})
		os.RemoveAll(g.dir)
	})
}

// RunWorker runs one peer of a --procs testnet: it writes its records as
// JSON lines to out and obeys the commands on in: "clock <unix ns>" starts
// the scenario clock, "crash" exits abruptly after recording the crash,
// "stop" records the final counters and returns.
func RunWorker(ctx context.Context, sc *Scenario, idx, inst int, seeds []string, in io.Reader, out io.Writer) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	if idx < 0 || idx >= sc.Peers {
		return fmt.Errorf("index %d is outside 0..%d", idx, sc.Peers-1)
	}
	_, index := peerIDs(sc.Seed, sc.Peers)
	inj := NewInjector(sc.Faults, sc.Peers, sc.Seed+uint64(idx)*0x9e3779b97f4a7c15+uint64(inst))
	w := bufio.NewWriter(out)
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	emit := func(r Record) {
		mu.Lock()
		enc.Encode(r)
		w.Flush()
		mu.Unlock()
	}
	m, err := startMember(sc, idx, inst, inj, index, seeds, emit)
	if err != nil {
		return err
	}
	injected := func() {
		emit(Record{Kind: RecInjected, T: time.Now().UnixNano(), Peer: idx, Inst: inst, Frames: inj.Frames.Load(), Bytes: inj.Dropped.Load()})
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				injected()
			case <-done:
				return
			}
		}
	}()
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(in)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			m.Stop()
			injected()
			return ctx.Err()
		case l, ok := <-lines:
			if !ok {
				// The parent is gone.
				m.Stop()
				return errors.New("parent closed stdin")
			}
			cmd, arg, _ := strings.Cut(l, " ")
			switch cmd {
			case "clock":
				ns, err := strconv.ParseInt(arg, 10, 64)
				if err == nil {
					inj.Start(time.Unix(0, ns))
				}
			case "crash":
				injected()
				emit(m.stats())
				emit(Record{Kind: RecCrash, T: time.Now().UnixNano(), Peer: idx, Inst: inst})
				os.Exit(3)
			case "stop":
				m.Stop()
				injected()
				return nil
			}
		}
	}
}
