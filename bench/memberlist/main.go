// Command memberlist measures Grapevine's SWIM membership (LAN profile, real
// libp2p peers on loopback, run by testnet/local) beside
// hashicorp/memberlist v0.7.0 (DefaultLANConfig, same 1 s probe interval)
// in one run: join convergence, crash → first failure event and → last
// survivor's event, and false "failed" declarations about live members over
// a window at a given injected loss.
//
// Loss: memberlist's UDP packets (probes, acks, gossip) are dropped in a
// wrapper around its NetTransport; its TCP push-pull and join are left
// intact, as in the reference measurements. Grapevine's frames are dropped
// where they leave the transport adapter (testnet/local's injector); for
// the same treatment, frames carrying a full-state exchange (Grapevine's
// join and push-pull, memberlist's TCP push-pull) or a fallback probe and
// its ack (memberlist's fallback TCP ping) are spared (system "grapevine"),
// or not (system "grapevine-all-lossy").
//
//	cd bench && go run ./memberlist -n 20,50 -loss 0,0.1,0.3 -window 5m
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grapevine-p2p/grapevine/testnet/local"
	"github.com/hashicorp/memberlist"
)

func main() {
	ns := flag.String("n", "20,50", "group sizes")
	losses := flag.String("loss", "0,0.1,0.3", "injected loss fractions")
	window := flag.Duration("window", 5*time.Minute, "observation window per cell (false positives are counted over it)")
	gap := flag.Duration("crash-every", 15*time.Second, "time between crashes inside a window")
	systems := flag.String("systems", "grapevine,memberlist", "systems to run: grapevine (state exchanges and fallback probes spared from loss, as memberlist's TCP push-pull and TCP ping), grapevine-all-lossy, memberlist (SuspicionMult 4), memberlist-multK (SuspicionMult K: Grapevine's LAN profile uses 1.5, memberlist takes integers, so memberlist-mult1 and memberlist-mult2 bracket it)")
	seed := flag.Uint64("seed", 1, "seed")
	flag.Parse()
	var cells []cell
	for _, ns := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(ns))
		if err != nil || n < 5 {
			log.Fatalf("-n: %q is not a group size of at least 5", ns)
		}
		for _, ls := range strings.Split(*losses, ",") {
			l, err := strconv.ParseFloat(strings.TrimSpace(ls), 64)
			if err != nil || l < 0 || l >= 1 {
				log.Fatalf("-loss: %q is not a fraction in [0,1)", ls)
			}
			for _, sys := range strings.Split(*systems, ",") {
				c := cell{System: strings.TrimSpace(sys), N: n, Loss: l, Window: *window, Gap: *gap, Seed: *seed}
				fmt.Fprintf(os.Stderr, "== %s N=%d loss=%.0f%% window %v\n", c.System, n, 100*l, *window)
				var err error
				switch c.System {
				case "grapevine":
					err = runGrapevine(&c, true)
				case "grapevine-all-lossy":
					err = runGrapevine(&c, false)
				case "memberlist":
					err = runMemberlist(&c, 0)
				default:
					if k, ok := strings.CutPrefix(c.System, "memberlist-mult"); ok {
						mult, perr := strconv.Atoi(k)
						if perr != nil || mult < 1 {
							log.Fatalf("-systems: %q: want memberlist-multK with an integer K >= 1", c.System)
						}
						err = runMemberlist(&c, mult)
						break
					}
					log.Fatalf("-systems: unknown system %q", c.System)
				}
				if err != nil {
					log.Fatalf("%s N=%d loss=%v: %v", c.System, n, l, err)
				}
				c.LoadEnd = loadAvg()
				fmt.Fprintf(os.Stderr, "   %s\n", c.summary())
				cells = append(cells, c)
			}
		}
	}
	printTables(os.Stdout, cells, *window)
}

// cell is one (system, N, loss) measurement.
type cell struct {
	System string
	N      int
	Loss   float64
	Window time.Duration
	Gap    time.Duration
	Seed   uint64

	Join           float64   // seconds from the last member's start to every member seeing every other; NaN: never
	First, All     []float64 // per crash, seconds; All only for crashes every survivor detected
	Crashes        int
	Undetected     int // crashes some survivor never declared failed within the window
	FalsePositives int
	JoinFP         int // Grapevine: false "fail" events before the window (while joining)
	ObservedLoss   float64
	Load, LoadEnd  float64 // 1-minute load average at the cell's start and end
}

func (c *cell) summary() string {
	return fmt.Sprintf("join %.2fs, %d crashes: first %s, all %s, %d not seen by all; %d false positives (%d more while joining); loss observed %.1f%%, load %.1f",
		c.Join, c.Crashes, stat(c.First), stat(c.All), c.Undetected, c.FalsePositives, c.JoinFP, 100*c.ObservedLoss, c.Load)
}

// loadRange is the cell's load average at its start and end.
func (c *cell) loadRange() string {
	return fmt.Sprintf("%.1f → %.1f", c.Load, c.LoadEnd)
}

// schedule returns the crash times and victims: every Gap from 5 s while
// at least 15 s of the window remain, at most N/4 crashes, victims from the
// top index down (index 0 is the seed).
func (c *cell) schedule() (at []time.Duration, victims []int) {
	for t, v := 5*time.Second, c.N-1; t <= c.Window-15*time.Second && len(at) < c.N/4; t, v = t+c.Gap, v-1 {
		at = append(at, t)
		victims = append(victims, v)
	}
	return
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, _ := strconv.ParseFloat(f, 64)
	return v
}

// runGrapevine runs the cell on testnet/local. With reliableState the
// full-state exchanges (join, push-pull) and fallback probes are spared
// from loss, as memberlist's go over TCP; otherwise every frame is equally
// lossy.
func runGrapevine(c *cell, reliableState bool) error {
	sc := &local.Scenario{
		Name:        fmt.Sprintf("swim-%d-%.0f", c.N, 100*c.Loss),
		Peers:       c.N,
		Duration:    local.Duration(c.Window),
		Profile:     "lan",
		Seed:        c.Seed,
		JoinTimeout: local.Duration(90 * time.Second),
		Faults:      local.Faults{Loss: c.Loss, ReliableState: reliableState},
	}
	at, victims := c.schedule()
	for i := range at {
		sc.Faults.Crashes = append(sc.Faults.Crashes, local.Crash{Peer: victims[i], At: local.Duration(at[i])})
	}
	c.Load = loadAvg()
	rep, err := local.Run(context.Background(), sc, local.Options{})
	if err != nil {
		return err
	}
	c.Join = math.NaN()
	if rep.JoinAfterLast != nil {
		c.Join = *rep.JoinAfterLast
	}
	for _, cr := range rep.Crashes {
		c.Crashes++
		if cr.First != nil {
			c.First = append(c.First, *cr.First)
		}
		if cr.Last != nil {
			c.All = append(c.All, *cr.Last)
		} else {
			c.Undetected++
		}
	}
	c.FalsePositives = rep.FalsePositives
	c.JoinFP = rep.JoiningFalsePositives
	c.ObservedLoss = rep.ObservedLoss
	return nil
}

// lossyTransport drops the given fraction of memberlist's UDP packets.
type lossyTransport struct {
	*memberlist.NetTransport
	loss    float64
	mu      sync.Mutex
	rng     *rand.Rand
	packets *atomic.Uint64
	dropped *atomic.Uint64
}

func (t *lossyTransport) drop() bool {
	t.packets.Add(1)
	if t.loss == 0 {
		return false
	}
	t.mu.Lock()
	d := t.rng.Float64() < t.loss
	t.mu.Unlock()
	if d {
		t.dropped.Add(1)
	}
	return d
}

func (t *lossyTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.drop() {
		return time.Now(), nil
	}
	return t.NetTransport.WriteTo(b, addr)
}

func (t *lossyTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.drop() {
		return time.Now(), nil
	}
	return t.NetTransport.WriteToAddress(b, a)
}

// mlNode is one memberlist member and its view, kept from its events.
type mlNode struct {
	idx  int
	ml   *memberlist.Memberlist
	obs  *mlObserver
	dead atomic.Bool
}

type mlEvent struct {
	t         time.Time
	obs, subj int
	join      bool
}

type mlObserver struct {
	mu     sync.Mutex
	events []mlEvent
	views  []map[int]bool
	index  map[string]int
	down   []bool
}

type delegate struct {
	o   *mlObserver
	idx int
}

func (d delegate) record(n *memberlist.Node, join bool) {
	s, ok := d.o.index[n.Name]
	if !ok || s == d.idx {
		return
	}
	d.o.mu.Lock()
	defer d.o.mu.Unlock()
	if d.o.down[d.idx] {
		return
	}
	d.o.events = append(d.o.events, mlEvent{t: time.Now(), obs: d.idx, subj: s, join: join})
	if join {
		d.o.views[d.idx][s] = true
	} else {
		delete(d.o.views[d.idx], s)
	}
}

func (d delegate) NotifyJoin(n *memberlist.Node)   { d.record(n, true) }
func (d delegate) NotifyLeave(n *memberlist.Node)  { d.record(n, false) }
func (d delegate) NotifyUpdate(n *memberlist.Node) {}

// complete: every running member sees every other running member.
func (o *mlObserver) complete() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	up := 0
	for _, d := range o.down {
		if !d {
			up++
		}
	}
	for i, v := range o.views {
		if o.down[i] {
			continue
		}
		n := 0
		for s := range v {
			if !o.down[s] {
				n++
			}
		}
		if n != up-1 {
			return false
		}
	}
	return true
}

// runMemberlist runs the cell on memberlist's DefaultLANConfig, with
// SuspicionMult set to mult when positive (memberlist's default is 4;
// Grapevine's LAN profile uses 1.5, see membership/config.go).
func runMemberlist(c *cell, mult int) error {
	o := &mlObserver{views: make([]map[int]bool, c.N), index: map[string]int{}, down: make([]bool, c.N)}
	for i := range o.views {
		o.views[i] = map[int]bool{}
		o.index[fmt.Sprintf("m%03d", i)] = i
	}
	var packets, dropped atomic.Uint64
	nodes := make([]*mlNode, c.N)
	defer func() {
		for _, n := range nodes {
			if n != nil && !n.dead.Load() {
				n.ml.Shutdown()
			}
		}
	}()
	c.Load = loadAvg()
	var seed string
	var lastStart time.Time
	for i := 0; i < c.N; i++ {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, BindPort: 0,
			Logger: log.New(io.Discard, "", 0)})
		if err != nil {
			return err
		}
		cfg := memberlist.DefaultLANConfig()
		cfg.Name = fmt.Sprintf("m%03d", i)
		if mult > 0 {
			cfg.SuspicionMult = mult
		}
		cfg.Transport = &lossyTransport{NetTransport: nt, loss: c.Loss, rng: rand.New(rand.NewPCG(c.Seed, uint64(i))),
			packets: &packets, dropped: &dropped}
		cfg.Events = delegate{o: o, idx: i}
		cfg.LogOutput = io.Discard
		ml, err := memberlist.Create(cfg)
		if err != nil {
			nt.Shutdown()
			return err
		}
		nodes[i] = &mlNode{idx: i, ml: ml, obs: o}
		lastStart = time.Now()
		if i == 0 {
			seed = ml.LocalNode().Address()
			continue
		}
		if _, err := ml.Join([]string{seed}); err != nil {
			return fmt.Errorf("node %d joining: %w", i, err)
		}
	}
	c.Join = math.NaN()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if o.complete() {
			c.Join = time.Since(lastStart).Seconds()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	t0 := time.Now()
	p0, d0 := packets.Load(), dropped.Load()
	at, victims := c.schedule()
	crashT := make([]time.Time, len(at))
	for k := range at {
		time.Sleep(time.Until(t0.Add(at[k])))
		v := victims[k]
		o.mu.Lock()
		o.down[v] = true
		o.mu.Unlock()
		crashT[k] = time.Now()
		nodes[v].dead.Store(true)
		nodes[v].ml.Shutdown() // no Leave: abrupt
	}
	time.Sleep(time.Until(t0.Add(c.Window)))
	end := time.Now()
	if p := packets.Load() - p0; p > 0 {
		c.ObservedLoss = float64(dropped.Load()-d0) / float64(p)
	}
	o.mu.Lock()
	evs := append([]mlEvent(nil), o.events...)
	o.mu.Unlock()
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t.Before(evs[j].t) })
	victimAt := map[int]time.Time{}
	for k, v := range victims {
		victimAt[v] = crashT[k]
	}
	for k, v := range victims {
		tc := crashT[k]
		c.Crashes++
		first := time.Duration(-1)
		seen := map[int]time.Duration{}
		for _, e := range evs {
			if e.join || e.subj != v || e.t.Before(tc) || e.t.After(end) {
				continue
			}
			if _, ok := seen[e.obs]; !ok {
				seen[e.obs] = e.t.Sub(tc)
				if first < 0 {
					first = e.t.Sub(tc)
				}
			}
		}
		if first >= 0 {
			c.First = append(c.First, first.Seconds())
		}
		// Survivors: up at the crash and still up at the end, or until
		// they had detected it.
		all := time.Duration(0)
		ok := true
		for s := 0; s < c.N; s++ {
			if s == v {
				continue
			}
			if ts, crashed := victimAt[s]; crashed && ts.Before(tc) {
				continue // already down
			}
			d, got := seen[s]
			if !got {
				if ts, crashed := victimAt[s]; crashed && ts.After(tc) {
					continue // went down before detecting
				}
				ok = false
				break
			}
			all = max(all, d)
		}
		if ok {
			c.All = append(c.All, all.Seconds())
		} else {
			c.Undetected++
		}
	}
	// False positives: a leave (memberlist's failure notification; no
	// member leaves gracefully here) about a member that was running.
	for _, e := range evs {
		if e.join || e.t.Before(t0) || e.t.After(end) {
			continue
		}
		if ts, crashed := victimAt[e.subj]; crashed && !e.t.Before(ts) {
			continue
		}
		c.FalsePositives++
	}
	return nil
}

func stat(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	m, p50, p99 := summarize(xs)
	return fmt.Sprintf("%.2f/%.2f/%.2f", m, p50, p99)
}

func summarize(xs []float64) (mean, p50, p99 float64) {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	for _, x := range s {
		mean += x
	}
	mean /= float64(len(s))
	pick := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return mean, pick(0.5), pick(0.99)
}

func printTables(w io.Writer, cells []cell, window time.Duration) {
	fmt.Fprintf(w, "Window %v per cell; crash times in seconds (mean / p50 / p99 over the crashes of the cell).\n\n", window)
	fmt.Fprintln(w, "| system | N | loss | join: all see all (s) | crash → first event | crash → all survivors | crashes (not seen by all) | false positives | observed loss | load avg (start → end) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, c := range cells {
		join := "never"
		if !math.IsNaN(c.Join) {
			join = fmt.Sprintf("%.2f", c.Join)
		}
		fmt.Fprintf(w, "| %s | %d | %.0f %% | %s | %s | %s | %d (%d) | %d | %.1f %% | %s |\n", c.System, c.N, 100*c.Loss, join,
			stat(c.First), stat(c.All), c.Crashes, c.Undetected, c.FalsePositives, 100*c.ObservedLoss, c.loadRange())
	}
	// Ratios where both systems ran the same cell.
	type key struct {
		n    int
		loss float64
	}
	by := map[key]map[string]cell{}
	var keys []key
	for _, c := range cells {
		k := key{c.N, c.Loss}
		if by[k] == nil {
			by[k] = map[string]cell{}
			keys = append(keys, k)
		}
		by[k][c.System] = c
	}
	var mls []string // the memberlist variants that ran
	for _, c := range cells {
		if strings.HasPrefix(c.System, "memberlist") && !slices.Contains(mls, c.System) {
			mls = append(mls, c.System)
		}
	}
	fmt.Fprintln(w, "\n| N | loss | against | crash → all survivors, Grapevine / memberlist (mean) | goal ≤ 0.75 |")
	fmt.Fprintln(w, "|---:|---:|---|---:|---|")
	for _, k := range keys {
		for _, ml := range mls {
			g, okg := by[k]["grapevine"]
			m, okm := by[k][ml]
			if !okg || !okm || len(g.All) == 0 || len(m.All) == 0 {
				continue
			}
			gm, _, _ := summarize(g.All)
			mm, _, _ := summarize(m.All)
			r := gm / mm
			verdict := "met"
			if r > 0.75 {
				verdict = "not met"
			}
			fmt.Fprintf(w, "| %d | %.0f %% | %s | %.2f (%.2f s / %.2f s) | %s |\n", k.n, 100*k.loss, ml, r, gm, mm, verdict)
		}
	}
}
