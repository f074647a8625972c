package attack

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/p2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Protocol attacks (issue 12) on real libp2p hosts: an honest group of
// p2p.Peers and one hostile member, itself a p2p.Peer (so it joined the
// group and is believed like any member), whose host also writes
// hand-made frames, built with the encoders of core and membership and
// signed with its own key, to every honest member. Each run measures
// what the threat model promises: no honest member declared dead, every
// honest message delivered once, bounded heap, and the attacker
// penalized (or not) and when.

// ProtoKind is one protocol attack.
type ProtoKind string

// The protocol attacks.
const (
	Quiet       ProtoKind = "quiet"        // the hostile member does nothing: the baseline of the other rows
	ForgedDead  ProtoKind = "forged-dead"  // suspect and dead records about every honest member, signed by the attacker at the member's real incarnation
	IncOverflow ProtoKind = "inc-overflow" // dead{X, 2^64−1} (and just below) about every honest member
	Sybil       ProtoKind = "sybil"        // one host claims several accusers: suspect/dead records naming other members as accusers
	Replay      ProtoKind = "replay"       // genuine messages recorded by the attacker re-sent, within and after the seen window
	CrossGroup  ProtoKind = "cross-group"  // genuine messages of the publisher's identity recorded in another group, re-sent into this one
	OriginFlood ProtoKind = "origin-flood" // validly signed messages from thousands of invented origins
	KeyBomb     ProtoKind = "ihave-bomb"   // IHAVE records of more keys than Limits.MaxKeys (1-byte keys)
	RelayFill   ProtoKind = "relay-fill"   // 256 ping-reqs per frame with nackAfter 2^64−1
	PublishSpam ProtoKind = "publish-spam" // the attacker publishes genuine messages at 10× the honest rate
	InvalidSig  ProtoKind = "invalid-sig"  // messages of honest origins whose signatures verify for nobody, 64 every 50 ms
)

// ProtoKinds lists the protocol attacks in the order of the report (Quiet,
// the baseline, is not one).
var ProtoKinds = []ProtoKind{ForgedDead, IncOverflow, Sybil, Replay, CrossGroup, OriginFlood, KeyBomb, RelayFill, InvalidSig, PublishSpam}

// ProtoConfig is one protocol-attack run.
type ProtoConfig struct {
	Kind     ProtoKind
	Honest   int           // honest peers (at least 3: peer 1 publishes, peer 2 publishes a burst for Replay)
	Duration time.Duration // of the attack, while peer 1 publishes
	Rate     int           // messages per second peer 1 publishes (the attacker publishes 10× that for PublishSpam)
	Size     int           // bytes per message
	Origins  int           // invented origins for OriginFlood
	Group    string
	// SpamLimit is the per-origin publish rate limit the honest peers run
	// with (p2p.WithPublishRateLimit, messages per second, a burst of one
	// second's worth; 0: p2p's default of 200 a second with bursts of
	// 1,000; negative: none).
	SpamLimit float64
	// OriginBudget, if positive, is the honest peers' per-peer budget of
	// new origins (core.Config.NewOriginBurst, refilled by a hundredth of
	// it a round; off by default, see core/origin_budget.go).
	OriginBudget int
}

// ProtoResult is what a run measured over the honest peers.
type ProtoResult struct {
	ProtoConfig
	DeclaredDead    int // failure events about honest members, over all honest peers
	Suspected       int // suspicion events about honest members (refuted ones included)
	Expected        int // honest deliveries expected: each honest message at each honest peer but its origin
	Delivered       int // of those, delivered
	Duplicates      int // deliveries of a message (any origin) already delivered at that peer
	AttackerMsgs    int // deliveries of messages the attacker published, invented or replayed (first copies)
	P99             time.Duration
	HeapGrowth      uint64        // peak HeapAlloc during the attack minus HeapAlloc before (whole process: every peer and the attacker; HeapPerPeer)
	Penalizing      int           // honest peers that penalized the attacker
	PenaltyAfter    time.Duration // attack start to the first honest peer's penalty of the attacker (0: none)
	HonestPenalized int           // honest peers penalized by another honest peer (must be 0)
	Penalties       map[string]uint64
	// UnknownOriginMax is the most unknown-origin offences one honest peer
	// charged (each is one sender and origin whose message expired although
	// the sender's state came back without the origin; the guard charges
	// one per pair in 6 s, however many of the pair's messages expired).
	UnknownOriginMax uint64
	// Holds sums the honest peers' counters of messages held for an
	// unknown origin (OriginFlood's defence): an expired message is an
	// offence of its sender only if the sender's own state came back
	// during the hold (UnknownOriginMax, Penalties).
	Holds    p2p.OriginHoldStats
	Attacker string // what the attacker did (frames, records, messages)
}

// HeapPerPeer is the heap growth per honest peer: the whole process's
// growth divided by the honest peers. The attacker's own member is in the
// process too (it receives what they relay), so this over-estimates the
// average honest peer; the honest peers do the same work, so it stands for
// each.
func (r ProtoResult) HeapPerPeer() uint64 { return r.HeapGrowth / uint64(max(r.Honest, 1)) }

func (r ProtoResult) penalty() string {
	if r.Penalizing == 0 {
		return "no"
	}
	return fmt.Sprintf("yes, %d/%d after %v", r.Penalizing, r.Honest, r.PenaltyAfter.Round(time.Millisecond))
}

func (r ProtoResult) String() string {
	var pen []string
	for k, v := range r.Penalties {
		pen = append(pen, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(pen)
	holds := ""
	if h := r.Holds; h.Held > 0 {
		holds = fmt.Sprintf(", held %d (released %d, expired %d; unknown-origin offences at most %d by one peer), state asks %d answered %d",
			h.Held, h.Released, h.Expired, r.UnknownOriginMax, h.Asks.Asked, h.Asks.Answered)
	}
	return fmt.Sprintf("%-12s: dead %d (suspected %d), delivered %d/%d, duplicates %d, p99 %v, heap +%.1f MiB (%.1f per honest peer), penalized %s, honest penalized %d, penalties {%s}%s, attacker: %s (its messages delivered %d)",
		r.Kind, r.DeclaredDead, r.Suspected, r.Delivered, r.Expected, r.Duplicates, r.P99.Round(100*time.Microsecond),
		float64(r.HeapGrowth)/(1<<20), float64(r.HeapPerPeer())/(1<<20), r.penalty(), r.HonestPenalized, strings.Join(pen, " "), holds, r.Attacker, r.AttackerMsgs)
}

// delivery is one honest peer's view of the run.
type delivery struct {
	mu     sync.Mutex
	seen   map[core.MsgKey]int
	lat    map[core.MsgKey]time.Duration
	dups   int
	dead   int
	susp   int
	others int // first deliveries of non-honest origins
}

// RunProtocol runs one protocol attack.
func RunProtocol(cfg ProtoConfig) (ProtoResult, error) {
	cfg.Honest = max(cfg.Honest, 3)
	if cfg.Group == "" {
		cfg.Group = "attack-" + string(cfg.Kind)
	}
	if cfg.Origins == 0 {
		cfg.Origins = 2000
	}
	if cfg.Kind == Replay {
		// Past the seen window (replayWindow + replaySkew) while the
		// replays go on.
		cfg.Duration = max(cfg.Duration, 3500*time.Millisecond)
	}
	res := ProtoResult{ProtoConfig: cfg, Penalties: map[string]uint64{}}
	ctx := context.Background()
	base := []p2p.Option{p2p.WithGroup(cfg.Group), p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0"), p2p.WithDHT(false),
		p2p.WithProfile(p2p.ProfileLocal), p2p.WithNotice(func(string) {}), p2p.WithLeaveGrace(300 * time.Millisecond)}
	honestOpts := slices.Clone(base)
	if cfg.Kind == Replay {
		// A seen window short enough to pass in a run: seen-state and the
		// store forgotten after 1.5 s idle, and the replay window 2 s
		// (seen-state then lasts at least window + skew, 2.25 s).
		honestOpts = append(honestOpts, p2p.WithReplayWindow(replayWindow, replaySkew),
			p2p.WithEngineConfig(func(c *core.Config) { c.SeenTTL, c.StoreTTL = 15, 15 }))
	}
	if b := cfg.OriginBudget; b > 0 {
		honestOpts = append(honestOpts, p2p.WithEngineConfig(func(c *core.Config) {
			c.NewOriginBurst, c.NewOriginsPerRound = b, max(1, b/100)
		}))
	}
	switch {
	case cfg.SpamLimit > 0:
		honestOpts = append(honestOpts, p2p.WithPublishRateLimit(cfg.SpamLimit, max(1, int(cfg.SpamLimit))))
	case cfg.SpamLimit < 0:
		honestOpts = append(honestOpts, p2p.WithPublishRateLimit(0, 0))
	}

	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	start := func(opts ...p2p.Option) (*p2p.Peer, error) {
		p, err := p2p.New(ctx, opts...)
		if err != nil {
			return nil, err
		}
		closers = append(closers, func() { p.Close() })
		return p, nil
	}

	// The honest group; peer 1 publishes with a key the cross-group attack
	// also uses in another group.
	pubKey, _ := p2p.GenerateKey()
	var honest []*p2p.Peer
	first, err := start(honestOpts...)
	if err != nil {
		return res, err
	}
	honest = append(honest, first)
	seed := first.Addrs()[0].String()
	for i := 1; i < cfg.Honest; i++ {
		opts := append(slices.Clone(honestOpts), p2p.WithSeeds(seed))
		if i == 1 {
			opts = append(opts, p2p.WithIdentity(pubKey))
		}
		p, err := start(opts...)
		if err != nil {
			return res, err
		}
		honest = append(honest, p)
	}

	// The hostile member.
	atkKey, _ := p2p.GenerateKey()
	atk, err := start(append(slices.Clone(base), p2p.WithSeeds(seed), p2p.WithIdentity(atkKey))...)
	if err != nil {
		return res, err
	}
	h := &hostile{kind: cfg.Kind, self: atk, key: atkKey, group: cfg.Group, honest: honest}
	switch cfg.Kind {
	case Replay:
		h.rec = record(atk)
	case CrossGroup:
		// Group B: the publisher's identity and a recording member. What
		// the recorder captures is genuine, signed for group B.
		gb := cfg.Group + "-b"
		pb, err := start(p2p.WithGroup(gb), p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0"), p2p.WithDHT(false),
			p2p.WithProfile(p2p.ProfileLocal), p2p.WithNotice(func(string) {}), p2p.WithIdentity(pubKey))
		if err != nil {
			return res, err
		}
		rb, err := start(p2p.WithGroup(gb), p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0"), p2p.WithDHT(false),
			p2p.WithProfile(p2p.ProfileLocal), p2p.WithNotice(func(string) {}), p2p.WithSeeds(pb.Addrs()[0].String()))
		if err != nil {
			return res, err
		}
		h.rec = record(rb)
		if err := waitAlive([]*p2p.Peer{pb, rb}, 2, 20*time.Second); err != nil {
			return res, err
		}
		for i := 0; i < 64; i++ {
			pb.Publish(ctx, "t", make([]byte, cfg.Size))
		}
		deadline := time.Now().Add(5 * time.Second)
		for h.rec.count() < 64 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if h.rec.count() == 0 {
			return res, fmt.Errorf("cross-group: nothing recorded in group %s", gb)
		}
	case OriginFlood:
		if err := h.inventOrigins(cfg.Origins, cfg.Size); err != nil {
			return res, err
		}
	}
	if err := waitAlive(honest, cfg.Honest+1, 20*time.Second); err != nil {
		return res, err
	}

	// Every honest peer subscribes and reports its view.
	views := make([]*delivery, len(honest))
	honestIDs := map[peer.ID]bool{}
	for _, p := range honest {
		honestIDs[p.ID()] = true
	}
	var wg sync.WaitGroup
	for i, p := range honest {
		v := &delivery{seen: map[core.MsgKey]int{}, lat: map[core.MsgKey]time.Duration{}}
		views[i] = v
		sub, err := p.Subscribe("t")
		if err != nil {
			return res, err
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for m := range sub.Messages() {
				if m.Local {
					continue
				}
				k := core.MsgKey{Origin: p2p.NodeID(m.From), Seq: m.Seq}
				v.mu.Lock()
				v.seen[k]++
				if v.seen[k] > 1 {
					v.dups++
				} else if honestIDs[m.From] {
					v.lat[k] = m.Latency
				} else {
					v.others++
				}
				v.mu.Unlock()
			}
		}()
		events := p.Events()
		go func() {
			defer wg.Done()
			for ev := range events {
				if !honestIDs[ev.Member.ID] {
					continue
				}
				v.mu.Lock()
				switch ev.Kind {
				case p2p.EventFail:
					v.dead++
				case p2p.EventSuspect:
					v.susp++
				}
				v.mu.Unlock()
			}
		}()
	}
	// Close the honest peers (ending the loops above) before the deferred
	// closers run, and wait for the loops.
	closeHonest := sync.OnceFunc(func() {
		for _, p := range honest {
			p.Close()
		}
		wg.Wait()
	})
	defer closeHonest()

	// Measure from here.
	pk := samplePeaks(50 * time.Millisecond)

	// Penalties: who penalizes the attacker, and when.
	t0 := time.Now()
	penalizedAt := make([]atomic.Int64, len(honest)) // time.Duration since t0
	stopPoll := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			for i, p := range honest {
				if penalizedAt[i].Load() == 0 && p.Penalized(atk.ID()) {
					penalizedAt[i].Store(int64(time.Since(t0)))
				}
			}
			select {
			case <-stopPoll:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	actx, stopAttack := context.WithCancel(ctx)
	attacked := make(chan struct{})
	go func() {
		defer close(attacked)
		h.run(actx, cfg)
	}()

	// Publish: peer 1 at Rate for Duration; for Replay peer 2 also
	// publishes a burst at the start and then falls silent, so that its
	// seen-state is forgotten while the attacker replays the burst.
	type sent struct {
		from *p2p.Peer
		seq  uint64
	}
	var sentMu sync.Mutex
	var msgs []sent
	publish := func(p *p2p.Peer) {
		k, err := p.PublishKey(ctx, "t", make([]byte, cfg.Size))
		if err == nil {
			sentMu.Lock()
			msgs = append(msgs, sent{p, k.Seq})
			sentMu.Unlock()
		}
	}
	if cfg.Kind == Replay {
		for i := 0; i < 32; i++ {
			publish(honest[2])
		}
	}
	every := time.Second / time.Duration(max(cfg.Rate, 1))
	for end := t0.Add(cfg.Duration); time.Now().Before(end); {
		publish(honest[1])
		time.Sleep(every)
	}
	// An attack the honest peers penalize goes on until one of them has
	// (at most 10 s more), so that a short run on a slow machine still
	// shows whether the defence works; PenaltyAfter says when.
	if ExpectPenalty(cfg) {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			n := 0
			for i := range penalizedAt {
				if penalizedAt[i].Load() > 0 {
					n++
				}
			}
			if n > 0 {
				break
			}
		}
	}
	stopAttack()
	<-attacked
	res.Attacker = h.summary()

	missing := func() int {
		n := 0
		for i, v := range views {
			v.mu.Lock()
			for _, s := range msgs {
				if s.from != honest[i] && v.seen[core.MsgKey{Origin: p2p.NodeID(s.from.ID()), Seq: s.seq}] == 0 {
					n++
				}
			}
			v.mu.Unlock()
		}
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && missing() > 0; {
		time.Sleep(50 * time.Millisecond)
	}
	// Late duplicates and verdicts would show up now.
	time.Sleep(200 * time.Millisecond)
	close(stopPoll)
	<-polled
	for i, p := range honest {
		pen := p.Penalties()
		for k, v := range pen {
			res.Penalties[k] += v
		}
		res.UnknownOriginMax = max(res.UnknownOriginMax, pen[core.OffenceUnknownOrigin.String()])
		hs := p.OriginHoldStats()
		res.Holds.Held += hs.Held
		res.Holds.Released += hs.Released
		res.Holds.Expired += hs.Expired
		res.Holds.Dropped += hs.Dropped
		res.Holds.Unproven += hs.Unproven
		res.Holds.Asks.Asked += hs.Asks.Asked
		res.Holds.Asks.Answered += hs.Asks.Answered
		res.Holds.Asks.Limited += hs.Asks.Limited
		for j, q := range honest {
			if i != j && p.Penalized(q.ID()) {
				res.HonestPenalized++
			}
		}
		if d := time.Duration(penalizedAt[i].Load()); d > 0 {
			res.Penalizing++
			if res.PenaltyAfter == 0 || d < res.PenaltyAfter {
				res.PenaltyAfter = d
			}
		}
	}
	res.Expected = len(msgs) * (cfg.Honest - 1)
	res.Delivered = res.Expected - missing()
	res.HeapGrowth, _ = pk.stop()
	// Counted before the honest peers close: their leaving is not a
	// failure, but a slow close may be seen as one.
	var lat []time.Duration
	for _, v := range views {
		v.mu.Lock()
		res.DeclaredDead += v.dead
		res.Suspected += v.susp
		res.Duplicates += v.dups
		res.AttackerMsgs += v.others
		for _, l := range v.lat {
			lat = append(lat, l)
		}
		v.mu.Unlock()
	}
	closeHonest()
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return res, nil
}

// ExpectPenalty reports whether the honest peers of a run are expected to
// penalize the attacker: for every attack but the quiet baseline, and for
// publish spam unless the run turned the publish rate limit off. (The
// origin flood is penalized by default: its origins are not members,
// p2p/origins.go.)
func ExpectPenalty(cfg ProtoConfig) bool {
	switch cfg.Kind {
	case Quiet:
		return false
	case PublishSpam:
		return cfg.SpamLimit >= 0
	}
	return true
}

// Replay window of the honest peers in the Replay attack.
const (
	replayWindow = 2 * time.Second
	replaySkew   = 250 * time.Millisecond
)

// hostile is the attacker: a member (self) and the frames it sends.
type hostile struct {
	kind   ProtoKind
	self   *p2p.Peer
	key    crypto.PrivKey
	group  string
	honest []*p2p.Peer
	rec    *recorder
	flood  [][]byte // OriginFlood: frames of messages from invented origins

	frames, records, failed atomic.Int64
}

func (h *hostile) summary() string {
	return fmt.Sprintf("%d frames, %d records/messages, %d writes failed", h.frames.Load(), h.records.Load(), h.failed.Load())
}
