package membership

import (
	"fmt"
	"strings"
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
)

// dueWatch runs a cluster (harness_test.go) the way the harness does, and
// checks NextDue against what each member does: after every Tick and
// every input (a frame stepped, a method call) it records d = NextDue()
// and the member's tick; a later Tick of that member, with no input since,
// that produces output (a frame handed to the Transport, an event, a call
// of the Signer, Verifier, Admit or Penalizer) before the due tick fails
// the test.
type dueWatch struct {
	t    *testing.T
	name string
	c    *cluster

	inTick []bool
	outs   [][]string // outputs of the member's tick in progress
	at     []uint64   // the member's tick when d was computed
	d      []int
	off    bool // do not call NextDue (purity check)

	ticks, quiet int // member ticks checked; of those, predicted quiet
	dSum         int // sum of d after ticks (capped at 1000)
}

// watchTransport reports the frames a member sends.
type watchTransport struct {
	w     *dueWatch
	i     int
	inner core.Transport
}

func (t watchTransport) Send(to core.NodeID, frame []byte) {
	if t.w.inTick[t.i] {
		var types []string
		if f, err := core.DecodeFrame(frame, core.DefaultLimits()); err == nil {
			for _, r := range f.Records {
				types = append(types, fmt.Sprintf("%#x", r.Type))
			}
		}
		t.w.note(t.i, fmt.Sprintf("frame to %s [%s]", to, strings.Join(types, " ")))
	}
	t.inner.Send(to, frame)
}

func (w *dueWatch) note(i int, what string) {
	if w.inTick[i] {
		w.outs[i] = append(w.outs[i], what)
	}
}

// newDueWatch makes a cluster of n members configured by mod, with every
// output and hook of member i observed.
func newDueWatch(t *testing.T, name string, n int, seed uint64, mod func(i int, cfg *Config)) *dueWatch {
	w := &dueWatch{t: t, name: name, inTick: make([]bool, n), outs: make([][]string, n), at: make([]uint64, n), d: make([]int, n)}
	w.c = newCluster(t, n, seed, func(i int, cfg *Config) {
		if mod != nil {
			mod(i, cfg)
		}
		cfg.Transport = watchTransport{w: w, i: i, inner: cfg.Transport}
		if ev := cfg.Events; ev != nil {
			cfg.Events = EventFunc(func(e Event) {
				w.note(i, fmt.Sprintf("event %v of %s", e.Kind, e.Member.ID))
				ev.HandleEvent(e)
			})
		}
		if s := cfg.Signer; s != nil {
			cfg.Signer = SignerFunc(func(msg []byte) ([]byte, error) {
				w.note(i, "Signer call")
				return s.SignMembership(msg)
			})
		}
		if v := cfg.Verifier; v != nil {
			cfg.Verifier = VerifierFunc(func(member core.NodeID, msg, sig []byte) error {
				w.note(i, "Verifier call")
				return v.VerifyMembership(member, msg, sig)
			})
		}
		if a := cfg.Admit; a != nil {
			cfg.Admit = func(id core.NodeID, meta []byte) error {
				w.note(i, "Admit call")
				return a(id, meta)
			}
		}
		pen := cfg.Penalizer
		cfg.Penalizer = core.PenalizerFunc(func(from core.NodeID, o core.Offence) {
			w.note(i, fmt.Sprintf("Penalizer call (%v)", o))
			if pen != nil {
				pen.Penalize(from, o)
			}
		})
	})
	w.inputAll()
	return w
}

// input records NextDue for member i after an input or a tick.
func (w *dueWatch) input(i int) {
	if w.off {
		return
	}
	m := w.c.nodes[i]
	w.at[i], w.d[i] = m.Ticks(), m.NextDue()
	if w.d[i] < 1 {
		w.t.Fatalf("%s: member %d: NextDue() = %d", w.name, i, w.d[i])
	}
}

// inputAll records NextDue for every member (after setup steps run with
// the harness's own functions, which gave them input).
func (w *dueWatch) inputAll() {
	for i := range w.c.nodes {
		w.input(i)
	}
}

// tick ticks member i and checks its output against its last NextDue.
func (w *dueWatch) tick(i int) {
	m := w.c.nodes[i]
	w.inTick[i], w.outs[i] = true, w.outs[i][:0]
	m.Tick()
	w.inTick[i] = false
	if w.off {
		return
	}
	now, due := m.Ticks(), w.at[i]+uint64(w.d[i])
	w.ticks++
	if now < due {
		w.quiet++
		if len(w.outs[i]) > 0 {
			w.t.Fatalf("%s: member %d (%s) acted at tick %d (cluster tick %d) with no input since NextDue() = %d at its tick %d (due at tick %d): %s",
				w.name, i, m.ID(), now, w.c.now, w.d[i], w.at[i], due, strings.Join(w.outs[i], "; "))
		}
	}
	w.input(i)
	w.dSum += min(w.d[i], 1000)
}

func (w *dueWatch) step(p packet) {
	w.c.step(p)
	w.input(p.to)
}

// deliver is cluster.deliver with NextDue recorded after every frame.
func (w *dueWatch) deliver() {
	c := w.c
	for rounds := 0; len(c.queue) > 0 && rounds < 100; rounds++ {
		q := c.queue
		c.queue = nil
		for _, p := range q {
			if c.down[p.to] || c.down[p.from] {
				continue
			}
			if c.cut != nil && c.cut(p.from, p.to) {
				continue
			}
			if c.loss > 0 && c.rng.Float64() < c.loss {
				continue
			}
			if d := c.slow[p.to]; d > 0 {
				c.delayed = append(c.delayed, delayedPacket{packet: p, at: c.now + d})
				continue
			}
			w.step(p)
		}
	}
}

// run is cluster.run with every tick checked; before calls, if set, runs
// at the start of each tick (method calls, counted as input).
func (w *dueWatch) run(ticks int, before func()) {
	c := w.c
	for k := 0; k < ticks; k++ {
		c.now++
		if before != nil {
			before()
		}
		if len(c.delayed) > 0 {
			keep := c.delayed[:0]
			for _, d := range c.delayed {
				if d.at <= c.now {
					if !c.down[d.to] {
						w.step(d.packet)
					}
				} else {
					keep = append(keep, d)
				}
			}
			c.delayed = keep
		}
		for i := range c.nodes {
			if !c.down[i] {
				w.tick(i)
			}
		}
		w.deliver()
	}
}

// dueScenario is one life of a group: staggered joins under loss, other
// layers' frames carrying piggybacked updates, a metadata change, a state
// request, crashes with a member that runs behind (and says so) and an
// unreachable report, a crashed member that comes back, a departure, and
// a quiet end.
func dueScenario(w *dueWatch, loss float64, crashes []int) {
	c := w.c
	n := len(c.nodes)
	c.loss = loss
	// Member 4 sends member 5 a frame of another layer every 7 ticks.
	piggyback := func() {
		if c.now%7 != 0 || c.down[4] {
			return
		}
		f := c.nodes[4].Piggyback(nodeID(5), core.NewFrame(nil), 1000)
		w.input(4)
		if len(f) > len(core.NewFrame(nil)) {
			c.queue = append(c.queue, packet{from: 4, to: 5, frame: f})
		}
	}
	late := n - 3
	for i := 1; i < late; i++ {
		c.nodes[i].Join([]core.NodeID{nodeID(0)})
		w.input(i)
	}
	w.deliver()
	w.run(150, piggyback)
	for i := late; i < n; i++ {
		c.nodes[i].Join([]core.NodeID{nodeID(1 + i%3)})
		w.input(i)
	}
	w.deliver()
	w.run(400, piggyback)
	if err := c.nodes[2].SetMeta([]byte("v2")); err != nil {
		w.t.Fatal(err)
	}
	w.input(2)
	c.nodes[1].AskState(nodeID(2), 0)
	w.input(1)
	for _, k := range crashes {
		c.down[k] = true
	}
	c.nodes[0].ReportUnreachable(nodeID(crashes[0]))
	w.input(0)
	// A member that runs behind while the crashes are found: its frames
	// wait, and it says so (its verdicts wait too).
	slow := n / 2
	lag := max(3, c.nodes[slow].Config().ProbeTimeout/2+1)
	c.slow[slow] = lag
	w.run(200, func() {
		c.nodes[slow].ReportLag(lag)
		w.input(slow)
		piggyback()
	})
	delete(c.slow, slow)
	w.run(500, piggyback)
	c.down[crashes[0]] = false // back, with the state it had
	w.run(300, piggyback)
	c.nodes[3].Leave()
	w.input(3)
	w.run(300, piggyback)
	c.loss = 0
	w.run(400, piggyback)
}

// p2pLike configures member i of n as package p2p does (MembershipProfile
// plus its identity hooks): the LAN profile's options (local accusations,
// batched, asked-for and direct verdicts, answers to accusers, alive
// chains, heard probes), reliable links, a Signer and Verifier, Admit and
// an overlay (a ring stands in for HyParView).
func p2pLike(i, n int, cfg *Config) {
	authenticate(cfg)
	cfg.ReliableLinks = true
	cfg.Admit = func(core.NodeID, []byte) error { return nil }
	cfg.Neighbors = ringNeighbors{i: i, n: n}
}

// withProfile replaces cfg by profile p, keeping what the harness set.
func withProfile(cfg *Config, p Config) {
	p.ID, p.Seed, p.Transport, p.Events = cfg.ID, cfg.Seed, cfg.Transport, cfg.Events
	*cfg = p
}

type dueConfig struct {
	name    string
	n       int
	loss    float64
	crashes []int
	mod     func(i, n int, cfg *Config)
}

var dueConfigs = []dueConfig{
	{name: "lan", n: 12, loss: 0.05, crashes: []int{5}},
	{name: "p2p-lan", n: 16, loss: 0.05, crashes: []int{6, 11}, mod: p2pLike},
	{name: "p2p-local", n: 16, loss: 0.05, crashes: []int{9}, mod: func(i, n int, cfg *Config) {
		withProfile(cfg, DefaultLocalConfig())
		p2pLike(i, n, cfg)
	}},
	{name: "p2p-wan", n: 14, loss: 0.03, crashes: []int{4}, mod: func(i, n int, cfg *Config) {
		withProfile(cfg, DefaultWANConfig())
		p2pLike(i, n, cfg)
	}},
	{name: "swim-no-gossip", n: 12, loss: 0.1, crashes: []int{7}, mod: func(i, n int, cfg *Config) {
		cfg.Lifeguard, cfg.Repair, cfg.ProbeSuspects, cfg.FallbackProbe = false, false, false, false
		cfg.GossipInterval, cfg.DigestSync, cfg.ViewSums = 0, false, false
	}},
	{name: "p2p-no-gossip", n: 16, loss: 0.05, crashes: []int{6, 7}, mod: func(i, n int, cfg *Config) {
		p2pLike(i, n, cfg)
		cfg.GossipInterval = 0
		cfg.NewMemberGrace = 0
	}},
	// Without reminders (whose past-due ticks, for suspects that are not
	// neighbours, make NextDue 1) the asks for verdicts show.
	{name: "p2p-no-repair", n: 20, loss: 0.05, crashes: []int{6, 7, 13}, mod: func(i, n int, cfg *Config) {
		p2pLike(i, n, cfg)
		cfg.Repair = false
		cfg.NewMemberGrace = 0
	}},
	{name: "sampled", n: 24, loss: 0.05, crashes: []int{10}, mod: func(i, n int, cfg *Config) {
		cfg.Neighbors = ringNeighbors{i: i, n: n}
		cfg.MemberSample = 8
		cfg.ReliableLinks = true
	}},
}

// TestNextDueNeverLate: in every configuration, no member acts in a tick
// before the one its last NextDue named.
func TestNextDueNeverLate(t *testing.T) {
	for _, dc := range dueConfigs {
		t.Run(dc.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 2; seed++ {
				w := newDueWatch(t, fmt.Sprintf("%s seed %d", dc.name, seed), dc.n, seed, func(i int, cfg *Config) {
					if dc.mod != nil {
						dc.mod(i, dc.n, cfg)
					}
				})
				dueScenario(w, dc.loss, dc.crashes)
				if w.c.count(EventFail, "") == 0 {
					t.Errorf("%s: no member declared a crash: the scenario misses expiries", w.name)
				}
				var st Stats
				for _, m := range w.c.nodes {
					s := m.Stats()
					st.Declared += s.Declared
					st.Reminders += s.Reminders
					st.VerdictsAsked += s.VerdictsAsked
					st.NacksSent += s.NacksSent
					st.PingReqsSent += s.PingReqsSent
					st.Reconnects += s.Reconnects
					st.JoinSyncs += s.JoinSyncs
					st.VerdictsHeld += s.VerdictsHeld
					st.ProbesHeard += s.ProbesHeard
					st.VerdictBatches += s.VerdictBatches
					st.SampleNeighborAsks += s.SampleNeighborAsks
					st.ProbesInconclusive += s.ProbesInconclusive
				}
				t.Logf("%s: %d member ticks, %.0f%% predicted quiet, mean NextDue %.2f; declared %d, reminders %d, verdict asks %d, nacks %d, ping-reqs %d, reconnects %d, join syncs %d, verdicts held %d, inconclusive %d, probes heard %d, batches %d, neighbour asks %d",
					w.name, w.ticks, 100*float64(w.quiet)/float64(w.ticks), float64(w.dSum)/float64(w.ticks),
					st.Declared, st.Reminders, st.VerdictsAsked, st.NacksSent, st.PingReqsSent, st.Reconnects, st.JoinSyncs,
					st.VerdictsHeld, st.ProbesInconclusive, st.ProbesHeard, st.VerdictBatches, st.SampleNeighborAsks)
			}
		})
	}
}

// TestNextDuePure: a run that asks NextDue after every tick and input
// sends, decides and counts exactly what one that never asks does.
func TestNextDuePure(t *testing.T) {
	for _, dc := range dueConfigs[:3] {
		trace := func(off bool) string {
			w := newDueWatch(t, dc.name, dc.n, 3, func(i int, cfg *Config) {
				if dc.mod != nil {
					dc.mod(i, dc.n, cfg)
				}
			})
			w.off = off
			dueScenario(w, dc.loss, dc.crashes)
			var b strings.Builder
			fmt.Fprintf(&b, "sent %d events %d\n", w.c.sent, len(w.c.events))
			for _, m := range w.c.nodes {
				fmt.Fprintf(&b, "%+v %v\n", m.Stats(), m.AllMembers())
			}
			return b.String()
		}
		if a, b := trace(false), trace(true); a != b {
			t.Errorf("%s: NextDue changed the run", dc.name)
		}
	}
}

// TestNextDueAllocs: NextDue allocates nothing, with suspicions, relays
// and queued updates pending.
func TestNextDueAllocs(t *testing.T) {
	w := newDueWatch(t, "allocs", 16, 4, func(i int, cfg *Config) { p2pLike(i, 16, cfg) })
	w.c.joinAll()
	w.c.runUntil(3000, "convergence", w.c.converged)
	w.c.loss = 0.3
	w.c.down[5] = true
	busy := 0
	for k := 0; k < 200; k++ {
		w.c.run(1)
		for i, m := range w.c.nodes {
			if w.c.down[i] {
				continue
			}
			if len(m.suspects) > 0 || len(m.relays) > 0 || m.queue.len() > 0 {
				busy++
			}
			if a := testing.AllocsPerRun(5, func() { m.NextDue() }); a != 0 {
				t.Fatalf("NextDue allocates %v times", a)
			}
		}
	}
	if busy == 0 {
		t.Fatal("nothing was pending: the test checks nothing")
	}
}

// TestNextDueIdle: in a settled, idle group (no loss, no suspicion,
// nothing queued) a member may sleep through most ticks: NextDue after a
// tick averages several ticks (about half a probe period), and only a
// small fraction of ticks are due.
func TestNextDueIdle(t *testing.T) {
	for _, tc := range []struct {
		name           string
		mod            func(i, n int, cfg *Config)
		minMean, maxWk float64
	}{
		{"lan", nil, 4, 0.3},         // measured 4.92, 10.6 %
		{"p2p-lan", p2pLike, 4, 0.3}, // measured 4.94, 10.4 %
		{"p2p-wan", func(i, n int, cfg *Config) {
			withProfile(cfg, DefaultWANConfig())
			p2pLike(i, n, cfg)
		}, 18, 0.1}, // measured 23.66, 2.5 %
	} {
		const n = 16
		w := newDueWatch(t, tc.name, n, 7, func(i int, cfg *Config) {
			if tc.mod != nil {
				tc.mod(i, n, cfg)
			}
		})
		c := w.c
		c.joinAll()
		c.runUntil(3000, "convergence", c.converged)
		c.runUntil(3000, "queues drained", func() bool {
			for _, m := range c.nodes {
				if m.Pending() > 0 || len(m.suspects) > 0 {
					return false
				}
			}
			return true
		})
		w.inputAll()
		w.ticks, w.quiet, w.dSum = 0, 0, 0
		w.run(600, nil)
		// An owner that sleeps until the due tick still runs the ticks
		// not predicted quiet on time (and wakes for inputs: in an idle
		// group the acks of its probes and others' pings).
		mean, wakeFrac := float64(w.dSum)/float64(w.ticks), float64(w.ticks-w.quiet)/float64(w.ticks)
		t.Logf("%s: idle mean NextDue after a tick %.2f ticks; %.1f%% of ticks due (probe period %d)",
			tc.name, mean, 100*wakeFrac, c.nodes[0].Config().ProbeInterval)
		if mean < tc.minMean {
			t.Errorf("%s: idle mean NextDue %.2f, want at least %v", tc.name, mean, tc.minMean)
		}
		if wakeFrac > tc.maxWk {
			t.Errorf("%s: due wake-ups on %.1f%% of ticks, want at most %.0f%%", tc.name, 100*wakeFrac, 100*tc.maxWk)
		}
	}
}
