package sim

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// chatter sends one frame to a random peer on every tick and counts what it
// receives, per sender.
type chatter struct {
	ep   *Endpoint
	got  map[int]int
	recv int
}

func (c *chatter) Tick() {
	n := c.ep.Network()
	to := n.Rand().IntN(n.Len())
	c.ep.SendTo(to, []byte{byte(c.ep.Index()), 1, 2, 3})
}

func (c *chatter) Receive(from int, frame []byte) {
	c.recv++
	if c.got != nil {
		c.got[from]++
	}
}

func newChatter(t *testing.T, cfg Config) (*Network, []*chatter) {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]*chatter, cfg.Nodes)
	for i := range cs {
		cs[i] = &chatter{ep: n.Endpoint(i), got: map[int]int{}}
		n.SetHandler(i, cs[i])
	}
	return n, cs
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{{Nodes: 0}, {Nodes: 2, Loss: 1.5}, {Nodes: 2, Loss: math.NaN()}, {Nodes: 2, TickInterval: -1}, {Nodes: 2, TickPhase: 9}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

func TestDeterminism(t *testing.T) {
	run := func(seed uint64) ([]Counters, []int) {
		n, cs := newChatter(t, Config{Nodes: 50, Seed: seed, TickInterval: 100 * time.Millisecond,
			TickPhase: RandomPhase, Latency: LogNormal{Median: 20 * time.Millisecond, Sigma: 0.8}, Loss: 0.2})
		n.CrashFractionAt(time.Second, 0.1, nil)
		n.PartitionAt(2*time.Second, []int{0, 1, 2, 3, 4})
		n.HealAt(3 * time.Second)
		n.Run(5 * time.Second)
		var cnt []Counters
		var recv []int
		for i := range cs {
			cnt = append(cnt, n.Counters(i))
			recv = append(recv, cs[i].recv)
		}
		return cnt, recv
	}
	c1, r1 := run(7)
	c2, r2 := run(7)
	if !reflect.DeepEqual(c1, c2) || !reflect.DeepEqual(r1, r2) {
		t.Fatal("same seed gave different runs")
	}
	c3, _ := run(8)
	if reflect.DeepEqual(c1, c3) {
		t.Fatal("different seeds gave identical runs")
	}
}

func TestGossipDeterminism(t *testing.T) {
	run := func() *SpreadResult {
		r, err := Spread(SpreadConfig{N: 2000, Seed: 3, Engine: core.DefaultConfig(), Loss: 0.1,
			Latency: Uniform{Min: time.Millisecond, Max: 80 * time.Millisecond}, RandomPhase: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(), run()
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed gave different spreads:\n%+v\n%+v", a, b)
	}
}

func TestLossRate(t *testing.T) {
	for _, p := range []float64{0, 0.2, 0.5} {
		n, _ := newChatter(t, Config{Nodes: 100, Seed: 1, TickInterval: time.Second, Latency: Fixed(time.Millisecond), Loss: p})
		n.Run(100*time.Second + 500*time.Millisecond)
		tot := n.Total()
		got := float64(tot.DroppedLoss) / float64(tot.FramesSent)
		// 10,000 frames: the standard deviation of the rate is below 0.005.
		if math.Abs(got-p) > 0.02 {
			t.Errorf("loss %v: observed %.4f over %d frames", p, got, tot.FramesSent)
		}
		if tot.FramesRecv+tot.DroppedLoss != tot.FramesSent {
			t.Errorf("loss %v: %d received + %d lost != %d sent", p, tot.FramesRecv, tot.DroppedLoss, tot.FramesSent)
		}
	}
}

func TestNodeAndLinkLoss(t *testing.T) {
	n, cs := newChatter(t, Config{Nodes: 10, Seed: 1, TickInterval: time.Second})
	n.SetNodeLoss(3, 1)    // node 3 is cut off both ways
	n.SetLinkLoss(1, 2, 1) // 1 -> 2 is dead, 2 -> 1 is not
	for i := 0; i < 2000; i++ {
		n.Endpoint(1).SendTo(2, []byte{1})
		n.Endpoint(2).SendTo(1, []byte{2})
		n.Endpoint(3).SendTo(4, []byte{3})
		n.Endpoint(5).SendTo(3, []byte{3})
	}
	n.Run(time.Millisecond)
	if cs[2].got[1] != 0 || cs[1].got[2] != 2000 || cs[4].got[3] != 0 || cs[3].got[5] != 0 {
		t.Fatalf("got 1->2 %d, 2->1 %d, 3->4 %d, 5->3 %d", cs[2].got[1], cs[1].got[2], cs[4].got[3], cs[3].got[5])
	}
}

func TestLatencyModels(t *testing.T) {
	n, _ := New(Config{Nodes: 2, Seed: 1})
	r := n.Rand()
	for _, tc := range []struct {
		l        Latency
		mean     time.Duration
		min, max time.Duration
	}{
		{Fixed(10 * time.Millisecond), 10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond},
		{Uniform{10 * time.Millisecond, 30 * time.Millisecond}, 20 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond},
		{Normal{Mean: 50 * time.Millisecond, StdDev: 5 * time.Millisecond}, 50 * time.Millisecond, 0, time.Second},
		{LogNormal{Median: 10 * time.Millisecond, Sigma: 0.5, Min: 5 * time.Millisecond}, 5*time.Millisecond + time.Duration(10e6*math.Exp(0.125)), 5 * time.Millisecond, 10 * time.Second},
	} {
		var sum time.Duration
		const k = 20000
		for i := 0; i < k; i++ {
			d := tc.l.Delay(r, 0, 1)
			if d < tc.min || d > tc.max {
				t.Fatalf("%v: draw %v outside [%v, %v]", tc.l, d, tc.min, tc.max)
			}
			sum += d
		}
		mean := sum / k
		if math.Abs(float64(mean-tc.mean)) > 0.02*float64(tc.mean) {
			t.Errorf("%v: mean %v, want %v", tc.l, mean, tc.mean)
		}
	}
	for _, s := range []string{"10ms", "uniform:1ms-5ms", "normal:20ms,3ms", "lognormal:10ms,0.5", "lognormal:10ms,0.5,2ms", "fixed:3ms"} {
		if _, err := ParseLatency(s); err != nil {
			t.Errorf("ParseLatency(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "abc", "-1ms", "uniform:5ms", "uniform:5ms-1ms", "normal:1ms", "lognormal:x,1", "weibull:1ms"} {
		if _, err := ParseLatency(s); err == nil {
			t.Errorf("ParseLatency(%q) accepted", s)
		}
	}
}

func TestCrashStopsNode(t *testing.T) {
	n, cs := newChatter(t, Config{Nodes: 20, Seed: 2, TickInterval: 100 * time.Millisecond, Latency: Fixed(time.Millisecond)})
	n.Run(time.Second)
	n.Crash(5)
	before := n.Counters(5)
	recvBefore := cs[5].recv
	timerFired := false
	n.Endpoint(5).After(time.Millisecond, func() { timerFired = true })
	n.Endpoint(5).SendTo(6, []byte{1}) // ignored: the node is down
	n.Run(3 * time.Second)
	after := n.Counters(5)
	if after.FramesSent != before.FramesSent || cs[5].recv != recvBefore || timerFired {
		t.Fatalf("crashed node still active: sent %d -> %d, recv %d -> %d, timer %v",
			before.FramesSent, after.FramesSent, recvBefore, cs[5].recv, timerFired)
	}
	var toCrashed uint64
	for i := 0; i < n.Len(); i++ {
		toCrashed += n.Counters(i).DroppedCrash
	}
	if toCrashed == 0 {
		t.Fatal("no frames to the crashed node were dropped")
	}
	n.Recover(5)
	n.Run(4 * time.Second)
	if n.Counters(5).FramesSent == after.FramesSent || cs[5].recv == recvBefore {
		t.Fatal("recovered node inactive")
	}
}

func TestCrashFraction(t *testing.T) {
	n, _ := New(Config{Nodes: 1000, Seed: 4})
	c := n.CrashFraction(0.3, 0, 1)
	if len(c) != 300 {
		t.Fatalf("crashed %d, want 300", len(c))
	}
	down := 0
	for i := 0; i < n.Len(); i++ {
		if !n.Up(i) {
			down++
		}
	}
	if down != 300 || !n.Up(0) || !n.Up(1) {
		t.Fatalf("down %d; 0 up %v; 1 up %v", down, n.Up(0), n.Up(1))
	}
}

func TestPartitionAndHeal(t *testing.T) {
	n, cs := newChatter(t, Config{Nodes: 2, Seed: 1, TickInterval: time.Second, Latency: Fixed(10 * time.Millisecond)})
	for i := range cs {
		cs[i].ep = n.Endpoint(i)
	}
	a, b := n.Endpoint(0), n.Endpoint(1)
	n.Partition([]int{0})
	a.SendTo(1, []byte{1})
	b.SendTo(0, []byte{1})
	n.RunFor(100 * time.Millisecond)
	if cs[0].got[1] != 0 || cs[1].got[0] != 0 {
		t.Fatal("frames crossed a partition")
	}
	if n.Counters(0).DroppedPartition != 1 || n.Counters(1).DroppedPartition != 1 {
		t.Fatalf("partition drops %d, %d", n.Counters(0).DroppedPartition, n.Counters(1).DroppedPartition)
	}
	// A frame in flight when the partition forms is lost on arrival.
	n.Heal()
	a.SendTo(1, []byte{1})
	n.Partition([]int{1})
	n.RunFor(100 * time.Millisecond)
	if cs[1].got[0] != 0 {
		t.Fatal("in-flight frame crossed a new partition")
	}
	n.Heal()
	a.SendTo(1, []byte{1})
	b.SendTo(0, []byte{1})
	n.RunFor(100 * time.Millisecond)
	if cs[0].got[1] != 1 || cs[1].got[0] != 1 {
		t.Fatal("heal did not restore traffic")
	}
	// Scheduled partition: ticks keep both sides sending; nothing crosses
	// between 10 s and 20 s (frames sent at 20 s arrive after the heal).
	var crossed int
	n.Tap = func(e Event) {
		if e.Kind == EvDeliver && e.At > 10*time.Second+10*time.Millisecond && e.At < 20*time.Second && e.From != e.To {
			crossed++
		}
	}
	n.PartitionAt(10*time.Second, []int{0}, []int{1})
	n.HealAt(20 * time.Second)
	n.Run(30 * time.Second)
	if crossed != 0 {
		t.Fatalf("%d frames crossed the scheduled partition", crossed)
	}
	if n.Connected(0, 1) != true {
		t.Fatal("not healed")
	}
}

func TestIDs(t *testing.T) {
	for _, i := range []int{0, 1, 9, 10, 999999, MaxNodes - 1} {
		if j, ok := Index(ID(i)); !ok || j != i {
			t.Errorf("Index(ID(%d)) = %d, %v", i, j, ok)
		}
	}
	for _, s := range []core.NodeID{"", "01", "-1", "1a", "12345678901", "1073741824"} {
		if _, ok := Index(s); ok {
			t.Errorf("Index(%q) accepted", s)
		}
	}
	// Frames to unknown IDs are counted and dropped.
	n, _ := New(Config{Nodes: 3})
	var drops int
	n.Tap = func(e Event) {
		if e.Kind == EvDropBadAddress {
			drops++
		}
	}
	n.Endpoint(0).Send("nobody", []byte{1})
	n.Endpoint(0).Send("3", []byte{1})
	if drops != 2 || n.Counters(0).FramesSent != 2 {
		t.Fatalf("drops %d, sent %d", drops, n.Counters(0).FramesSent)
	}
}

func TestRunUntilAndTimers(t *testing.T) {
	n, _ := New(Config{Nodes: 3})
	var order []int
	n.At(3*time.Second, func() { order = append(order, 3) })
	n.At(time.Second, func() { order = append(order, 1) })
	n.At(time.Second, func() { order = append(order, 2) }) // same instant: scheduling order
	n.Endpoint(1).After(2*time.Second, func() { order = append(order, 9) })
	ok := n.RunUntil(func() bool { return len(order) == 3 }, time.Minute)
	if !ok || !reflect.DeepEqual(order, []int{1, 2, 9}) || n.Now() != 2*time.Second {
		t.Fatalf("order %v, ok %v, now %v", order, ok, n.Now())
	}
	n.Run(time.Minute)
	if n.Now() != time.Minute || len(order) != 4 {
		t.Fatalf("now %v, order %v", n.Now(), order)
	}
}

func TestGossipUnderLoss(t *testing.T) {
	r, err := Spread(SpreadConfig{N: 1000, Seed: 1, Engine: core.DefaultConfig(), Loss: 0.2,
		Latency: Uniform{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Residue != 0 || r.Rounds100 < 0 {
		t.Fatalf("push-pull under 20%% loss left %d of %d unreached", r.Residue, r.Live)
	}
	if r.Net.DroppedLoss == 0 {
		t.Fatal("no frames were lost")
	}
}

func TestGossipCrashedHalf(t *testing.T) {
	r, err := Spread(SpreadConfig{N: 1000, Seed: 1, Engine: core.DefaultConfig(), Crash: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if r.Live != 500 || r.Residue != 0 {
		t.Fatalf("live %d, residue %d", r.Live, r.Residue)
	}
}

func TestSynchronousModel(t *testing.T) {
	// In the round-synchronous push model with fanout 1 the informed set
	// at most doubles per round.
	r, err := Spread(SpreadConfig{N: 2048, Seed: 5, Engine: KarpConfig(core.Push), Synchronous: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(r.Curve); i++ {
		if r.Curve[i] > 2*r.Curve[i-1] {
			t.Fatalf("round %d: %d > 2·%d: pushes of one round were forwarded within it", i, r.Curve[i], r.Curve[i-1])
		}
	}
	// Push-pull: at most triples (each informed node pushes to one and
	// answers the pulls it receives, about one per round).
	r, err = Spread(SpreadConfig{N: 2048, Seed: 5, Engine: KarpConfig(core.PushPull), Synchronous: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Curve[1] > 4 {
		t.Fatalf("push-pull round 1 reached %d", r.Curve[1])
	}
}

func TestWalkRecords(t *testing.T) {
	f := core.NewFrame(nil)
	f = core.AppendRecord(f, core.RecMessage, []byte("abc"))
	f = core.AppendRecord(f, core.RecDigest, []byte("d"))
	f = core.AppendRecord(f, 0x41, make([]byte, 300))
	pull, push, ok := splitDigest(f)
	if !ok || len(pull)+len(push) != len(f)+1 || !hasDigest(pull) || hasDigest(push) {
		t.Fatalf("split %v: %d + %d vs %d", ok, len(pull), len(push), len(f))
	}
	for _, bad := range [][]byte{nil, {2}, {1, 1}, {1, 1, 5, 0}, {1, 1, 0x80}} {
		if walkRecords(bad, func(uint8, []byte) {}) {
			t.Errorf("walkRecords(%x) accepted", bad)
		}
	}
}

type tickCounter struct {
	ticks []time.Duration
	n     *Network
}

func (c *tickCounter) Tick()               { c.ticks = append(c.ticks, c.n.Now()) }
func (c *tickCounter) Receive(int, []byte) {}

func TestTickSchedules(t *testing.T) {
	for _, ph := range []Phase{Aligned, RandomPhase} {
		n, _ := New(Config{Nodes: 3, Seed: 1, TickInterval: time.Second, TickPhase: ph})
		cs := make([]*tickCounter, 3)
		for i := range cs {
			cs[i] = &tickCounter{n: n}
		}
		n.SetTickInterval(2, 250*time.Millisecond)
		for i := range cs {
			n.SetHandler(i, cs[i])
		}
		n.Run(10*time.Second - 1)
		if len(cs[0].ticks) < 9 || len(cs[0].ticks) > 10 || len(cs[2].ticks) < 39 || len(cs[2].ticks) > 40 {
			t.Fatalf("%v: %d and %d ticks", ph, len(cs[0].ticks), len(cs[2].ticks))
		}
		if ph == Aligned && (cs[0].ticks[0] != time.Second || cs[1].ticks[3] != 4*time.Second) {
			t.Fatalf("aligned ticks at %v", cs[0].ticks)
		}
		n.SetTickInterval(0, 0) // stop
		n.SetTickInterval(1, 500*time.Millisecond)
		k0, k1 := len(cs[0].ticks), len(cs[1].ticks)
		n.RunFor(10 * time.Second)
		if len(cs[0].ticks) > k0+1 || len(cs[1].ticks) < k1+19 {
			t.Fatalf("%v: after changes %d -> %d and %d -> %d ticks", ph, k0, len(cs[0].ticks), k1, len(cs[1].ticks))
		}
		n.Crash(2)
		k2 := len(cs[2].ticks)
		n.RunFor(10 * time.Second)
		if len(cs[2].ticks) != k2 {
			t.Fatal("crashed node ticked")
		}
	}
}
