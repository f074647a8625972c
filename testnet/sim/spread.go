package sim

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// SpreadConfig describes one experiment: a single message published at time
// 0 by one node and gossiped through N nodes.
type SpreadConfig struct {
	N    int
	Seed uint64
	// Round is the tick interval (the gossip round length); default 1 s.
	Round time.Duration
	// Latency is the link latency model; default Fixed(Round/100).
	Latency Latency
	// Loss is the global frame loss rate.
	Loss float64
	// Crash is the fraction of nodes (never the origin) crashed at time 0,
	// before the message is published.
	Crash float64
	// Engine is the engine template (see GossipConfig.Engine).
	Engine core.Config
	// Synchronous selects the round-synchronous model (see GossipConfig).
	Synchronous bool
	// RandomPhase ticks nodes at random offsets instead of aligned rounds
	// (incompatible with Synchronous).
	RandomPhase bool
	// Payload is the message size in bytes (default 64).
	Payload int
	// MaxRounds bounds the run (default 200 rounds).
	MaxRounds int
	// UntilQuiet keeps running after everyone is reached, until no live
	// node is still pushing the message (its push rounds are used up), so
	// that traffic counts the whole dissemination and not just the part
	// before the last delivery. Pull requests go on for ever and do not
	// count as activity. MaxRounds still bounds the run. Off: the run ends
	// when every live node has the message.
	UntilQuiet bool
	// Progress, if set, is called after every round with the number of
	// live nodes reached so far and the number of live nodes.
	Progress func(round, reached, live int)
}

// SpreadResult is what one spread measured.
type SpreadResult struct {
	N, Live int // population and live (not crashed) nodes
	Origin  int
	// Curve[r] is the number of live nodes holding the message at the end
	// of round r (Curve[0] = 1: the origin at publish). Round r starts with
	// the nodes' r-th tick at virtual time r·Round and lasts until the
	// next; a node that receives the message at time t counts from round
	// ⌊t/Round⌋ on.
	Curve []int
	// Rounds and Time to reach 50 %, 99 % and 100 % of the live nodes; -1
	// (and 0) if never reached.
	Rounds50, Rounds99, Rounds100 int
	Time50, Time99, Time100       time.Duration
	// Residue is the number of live nodes never reached.
	Residue int
	// Duration is the virtual time simulated; Rounds the rounds run.
	Duration time.Duration
	Rounds   int
	// Net sums the network counters of all nodes over the run; Engine the
	// engines' counters.
	Net    Counters
	Engine core.Stats
	// Events is the number of simulator events processed.
	Events uint64
}

// FramesPerNode and BytesPerNode are what a node sent on average over the
// run (lost frames included).
func (r *SpreadResult) FramesPerNode() float64 { return float64(r.Net.FramesSent) / float64(r.N) }

// BytesPerNode returns the average bytes sent per node.
func (r *SpreadResult) BytesPerNode() float64 { return float64(r.Net.BytesSent) / float64(r.N) }

// MessagesPerNode returns the message bodies sent per node on average.
func (r *SpreadResult) MessagesPerNode() float64 {
	return float64(r.Engine.MessagesSent) / float64(r.N)
}

// ResidueFraction is Residue over the live nodes.
func (r *SpreadResult) ResidueFraction() float64 { return float64(r.Residue) / float64(r.Live) }

// Spread runs one message through cfg.N gossiping nodes.
func Spread(cfg SpreadConfig) (*SpreadResult, error) {
	if cfg.Round <= 0 {
		cfg.Round = time.Second
	}
	if cfg.Latency == nil {
		cfg.Latency = Fixed(cfg.Round / 100)
	}
	if cfg.Payload <= 0 {
		cfg.Payload = 64
	}
	if cfg.MaxRounds <= 0 {
		cfg.MaxRounds = 200
	}
	if cfg.N < 2 {
		return nil, fmt.Errorf("%w: a spread needs at least 2 nodes", ErrBadConfig)
	}
	phase := Aligned
	if cfg.RandomPhase {
		phase = RandomPhase
	}
	net, err := New(Config{Nodes: cfg.N, Seed: cfg.Seed, TickInterval: cfg.Round, TickPhase: phase,
		Latency: cfg.Latency, Loss: cfg.Loss})
	if err != nil {
		return nil, err
	}
	origin := net.Rand().IntN(cfg.N)
	var crashed []int
	if cfg.Crash > 0 {
		crashed = net.CrashFraction(cfg.Crash, origin)
	}
	res := &SpreadResult{N: cfg.N, Live: cfg.N - len(crashed), Origin: origin}
	when := make([]int64, cfg.N) // delivery time + 1; 0: not delivered
	reached := 0
	onDeliver := func(node int, _ *core.Message, at time.Duration) {
		if when[node] == 0 && net.Up(node) {
			when[node] = int64(at) + 1
			reached++
		}
	}
	g, err := NewGossip(net, GossipConfig{Engine: cfg.Engine, Synchronous: cfg.Synchronous, OnDeliver: onDeliver})
	if err != nil {
		return nil, err
	}
	if _, err := g.Publish(origin, "spread", make([]byte, cfg.Payload), 0); err != nil {
		return nil, err
	}
	for r := 1; r <= cfg.MaxRounds; r++ {
		// Run round r (its tick at r·Round) to just before round r+1.
		net.Run(time.Duration(r+1)*cfg.Round - 1)
		res.Rounds = r
		if cfg.Progress != nil {
			cfg.Progress(r, reached, res.Live)
		}
		if reached == res.Live && (!cfg.UntilQuiet || !g.pushing()) {
			break
		}
		if cfg.Engine.Mode == core.Push && cfg.UntilQuiet && !g.pushing() && net.Pending() <= 1 {
			break // push-only and nobody pushes: nothing can reach anyone any more
		}
	}
	// Frames still in flight at the end are not waited for.
	res.Duration = net.Now()
	res.Events = net.Processed()
	res.Net = net.Total()
	res.Engine = g.Stats()
	res.Residue = res.Live - reached

	times := make([]int64, 0, reached)
	for _, w := range when {
		if w != 0 {
			times = append(times, w-1)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	res.Curve = make([]int, res.Rounds+1)
	k := 0
	for r := 0; r <= res.Rounds; r++ {
		lim := int64(time.Duration(r+1) * cfg.Round)
		for k < len(times) && times[k] < lim {
			k++
		}
		res.Curve[r] = k
	}
	at := func(frac float64) (int, time.Duration) {
		need := int(math.Ceil(frac * float64(res.Live)))
		if need < 1 {
			need = 1
		}
		if need > len(times) {
			return -1, 0
		}
		t := time.Duration(times[need-1])
		return int(t / cfg.Round), t
	}
	res.Rounds50, res.Time50 = at(0.5)
	res.Rounds99, res.Time99 = at(0.99)
	res.Rounds100, res.Time100 = at(1)
	return res, nil
}

// pushing reports whether any live node still has a message to push.
func (g *Gossip) pushing() bool {
	for i, nd := range g.nodes {
		if nd != nil && g.net.up[i] && nd.eng.Hot() > 0 {
			return true
		}
	}
	return false
}

// KarpConfig returns an engine configuration for the textbook round model
// of mode: fanout 1, targets drawn independently, no eager push, one pull
// request per round, and pushing for as long as a run lasts (Rounds 10^6),
// so that rounds-to-everyone measures the protocol rather than a push
// budget. Run it with SpreadConfig.Synchronous.
func KarpConfig(mode core.Mode) core.Config {
	c := core.DefaultConfig()
	c.Mode = mode
	c.Fanout = 1
	c.PullFanout = 1
	c.EagerPush = false
	c.DistinctTargets = false
	c.Rounds = 1_000_000
	return c
}
