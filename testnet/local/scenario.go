package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as "1.5s", "200ms" (or a number of
// seconds) in scenario files.
type Duration time.Duration

// D returns the duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func parseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return Duration(f * float64(time.Second)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (write e.g. 1.5s or 200ms)", s)
	}
	return Duration(v), nil
}

// UnmarshalJSON accepts "1.5s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	v, err := parseDuration(s)
	if err != nil {
		// The decoder fills in the field's name for this error type.
		return &json.UnmarshalTypeError{Value: "\"" + s + "\" (not a duration: write e.g. 1.5s or 200ms)", Type: reflect.TypeFor[Duration]()}
	}
	*d = v
	return nil
}

// MarshalJSON writes the duration as a string ("1.5s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalYAML accepts "1.5s" or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*d = v
	return nil
}

// Peers is a set of peer indexes, written as a list of numbers or as a
// string of numbers and ranges: "0-9,15".
type Peers []int

func parsePeers(s string) (Peers, error) {
	var out Peers
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("%q is not a peer index or range (write e.g. \"0-9,15\")", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a peer range (write e.g. \"0-9\")", part)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

// UnmarshalJSON accepts [1,2,3] or "0-9,15".
func (p *Peers) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := parsePeers(s)
		*p = v
		return err
	}
	var l []int
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("peers must be a list of indexes or a string like \"0-9,15\"")
	}
	*p = l
	return nil
}

// UnmarshalYAML accepts [1,2,3], a single number or "0-9,15".
func (p *Peers) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := parsePeers(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		*p = v
		return nil
	case yaml.SequenceNode:
		var l []int
		if err := n.Decode(&l); err != nil {
			return err
		}
		*p = l
		return nil
	}
	return fmt.Errorf("line %d: peers must be a list of indexes or a string like \"0-9,15\"", n.Line)
}

// Scenario describes one testnet run. Times ("at", "heal", ...) count from
// the scenario clock's start: the moment every peer has been started and
// the group has converged (or join_timeout passed).
type Scenario struct {
	// Name labels the report.
	Name string `json:"name,omitempty" yaml:"name"`
	// Peers is the number of peers (N).
	Peers int `json:"peers" yaml:"peers"`
	// Duration is how long the scenario clock runs.
	Duration Duration `json:"duration" yaml:"duration"`
	// Profile is the membership/gossip profile: lan (default), wan or local.
	Profile string `json:"profile,omitempty" yaml:"profile"`
	// Tick overrides the profile's state-machine tick (e.g. 50ms).
	Tick Duration `json:"tick,omitempty" yaml:"tick"`
	// Seed makes identities, payloads and loss decisions reproducible.
	Seed uint64 `json:"seed,omitempty" yaml:"seed"`
	// JoinTimeout bounds the wait for every peer to see every other alive
	// before the scenario clock starts (default 30s).
	JoinTimeout Duration `json:"join_timeout,omitempty" yaml:"join_timeout"`
	// Publish is the workload.
	Publish Publish `json:"publish" yaml:"publish"`
	// Faults are injected where frames cross the transport adapter.
	Faults Faults `json:"faults" yaml:"faults"`
	// DataDir, if set, gives every peer a data directory of its own,
	// DataDir/peer-N (p2p.WithDataDir): delivery watermarks and recent
	// messages survive a crash and restart, and each delivery waits for its
	// commit. Empty: every peer keeps its state in memory.
	DataDir string `json:"data_dir,omitempty" yaml:"data_dir"`
}

// Publish is the workload: which peers publish, how often, how much.
type Publish struct {
	// Publishers lists the publishing peers (default: peer 0).
	Publishers Peers `json:"publishers,omitempty" yaml:"publishers"`
	// Rate is messages per second per publisher.
	Rate float64 `json:"rate" yaml:"rate"`
	// Size is the payload size in bytes (at least 16; default 256).
	Size int `json:"size,omitempty" yaml:"size"`
	// Topic to publish on (default "testnet").
	Topic string `json:"topic,omitempty" yaml:"topic"`
	// Start is when publishing starts (default 0).
	Start Duration `json:"start,omitempty" yaml:"start"`
	// Drain is how long before the end publishing stops, so that the last
	// messages have time to spread (default 3s, at most a third of the
	// duration).
	Drain Duration `json:"drain,omitempty" yaml:"drain"`
}

// Faults are the injected faults.
type Faults struct {
	// Loss is the fraction of frames dropped on every link (0..1).
	Loss float64 `json:"loss,omitempty" yaml:"loss"`
	// Delay is added to every frame, with uniform Jitter on top.
	Delay  Duration `json:"delay,omitempty" yaml:"delay"`
	Jitter Duration `json:"jitter,omitempty" yaml:"jitter"`
	// Links override loss and delay on links between peer sets.
	Links []Link `json:"links,omitempty" yaml:"links"`
	// Crashes kill peers abruptly (no leave), optionally restarting them.
	Crashes []Crash `json:"crashes,omitempty" yaml:"crashes"`
	// Partitions split the group into groups that cannot reach each other.
	Partitions []Partition `json:"partitions,omitempty" yaml:"partitions"`
	// Slow peers: every frame to or from them is delayed.
	Slow []Slow `json:"slow,omitempty" yaml:"slow"`
	// ReliableState spares frames carrying a membership state exchange
	// (join and periodic push-pull: records 0x48, 0x4b, 0x4c) or a
	// fallback probe or its ack (records 0x49, 0x4a) from loss and delay
	// (partitions still cut them). It mirrors memberlist, whose push-pull
	// and fallback ping run over TCP while its probes and gossip use UDP.
	ReliableState bool `json:"reliable_state,omitempty" yaml:"reliable_state"`
}

// Link sets loss and delay on the links from peers in From to peers in To
// (both directions when Both is set), between At and Until.
type Link struct {
	From   Peers    `json:"from" yaml:"from"`
	To     Peers    `json:"to" yaml:"to"`
	Both   bool     `json:"both,omitempty" yaml:"both"`
	Loss   float64  `json:"loss,omitempty" yaml:"loss"`
	Delay  Duration `json:"delay,omitempty" yaml:"delay"`
	Jitter Duration `json:"jitter,omitempty" yaml:"jitter"`
	At     Duration `json:"at,omitempty" yaml:"at"`
	Until  Duration `json:"until,omitempty" yaml:"until"` // 0: to the end
}

// Crash kills Peer at At, without a leave; with Restart > At it starts
// again (same identity, fresh state) at Restart.
type Crash struct {
	Peer    int      `json:"peer" yaml:"peer"`
	At      Duration `json:"at" yaml:"at"`
	Restart Duration `json:"restart,omitempty" yaml:"restart"`
}

// Partition splits the peers into Groups at At and heals at Heal (0: never).
// Peers not listed form one more group.
type Partition struct {
	Groups []Peers  `json:"groups" yaml:"groups"`
	At     Duration `json:"at" yaml:"at"`
	Heal   Duration `json:"heal,omitempty" yaml:"heal"`
}

// Slow delays every frame to and from Peer by Delay (plus Jitter) between
// At and Until (0: to the end).
type Slow struct {
	Peer   int      `json:"peer" yaml:"peer"`
	Delay  Duration `json:"delay" yaml:"delay"`
	Jitter Duration `json:"jitter,omitempty" yaml:"jitter"`
	At     Duration `json:"at,omitempty" yaml:"at"`
	Until  Duration `json:"until,omitempty" yaml:"until"`
}

// MaxPeers bounds a scenario (one process holds every peer by default).
const MaxPeers = 1000

// LoadScenario reads a scenario file: YAML (.yaml, .yml) or JSON (.json).
// Unknown keys are errors that name the key.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sc *Scenario
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		sc, err = ParseJSON(b)
	case ".yaml", ".yml":
		sc, err = ParseYAML(b)
	default:
		return nil, fmt.Errorf("%s: unknown scenario format (use .yaml, .yml or .json)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// ParseJSON parses and validates a JSON scenario.
func ParseJSON(b []byte) (*Scenario, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			typ := te.Type.String()
			if te.Type == reflect.TypeFor[Duration]() {
				return nil, fmt.Errorf("field %q: %s", te.Field, te.Value)
			}
			return nil, fmt.Errorf("field %q: %s is not a valid %s", te.Field, te.Value, typ)
		}
		if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return nil, fmt.Errorf("unknown field %s", msg)
		}
		return nil, err
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// ParseYAML parses and validates a YAML scenario.
func ParseYAML(b []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var sc Scenario
	if err := dec.Decode(&sc); err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n  ")
		msg = strings.ReplaceAll(msg, "\n  ", "; ")
		// yaml says "field foo not found in type local.Faults".
		msg = strings.ReplaceAll(msg, " not found in type local.", " is unknown in ")
		return nil, errors.New(nameYAMLField(b, msg))
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return &sc, nil
}

// nameYAMLField turns "line 3: ..." into "field duration (line 3): ..."
// by reading the key on that line of the source.
func nameYAMLField(src []byte, msg string) string {
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return msg
	}
	num, tail, ok := strings.Cut(rest, ": ")
	ln, err := strconv.Atoi(num)
	if !ok || err != nil || strings.HasPrefix(tail, "field ") {
		return msg
	}
	lines := strings.Split(string(src), "\n")
	if ln < 1 || ln > len(lines) {
		return msg
	}
	key, _, found := strings.Cut(strings.TrimSpace(lines[ln-1]), ":")
	key = strings.TrimSpace(strings.TrimPrefix(key, "- "))
	if !found || key == "" || strings.ContainsAny(key, " {[") {
		return msg
	}
	return fmt.Sprintf("field %s (line %d): %s", key, ln, tail)
}

// Validate fills in defaults and checks every field; the error names the
// offending field (e.g. "faults.loss: 1.5 is above 1").
func (sc *Scenario) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if sc.Peers < 2 || sc.Peers > MaxPeers {
		bad("peers", "%d is outside 2..%d", sc.Peers, MaxPeers)
	}
	if sc.Duration <= 0 {
		bad("duration", "must be positive")
	}
	if sc.Profile == "" {
		sc.Profile = "lan"
	}
	switch sc.Profile {
	case "lan", "wan", "local":
	default:
		bad("profile", "%q is not lan, wan or local", sc.Profile)
	}
	if sc.Tick < 0 || (sc.Tick > 0 && sc.Tick.D() < time.Millisecond) {
		bad("tick", "must be at least 1ms")
	}
	if sc.JoinTimeout < 0 {
		bad("join_timeout", "must not be negative")
	}
	if sc.JoinTimeout == 0 {
		sc.JoinTimeout = Duration(30 * time.Second)
	}
	if sc.Seed == 0 {
		sc.Seed = 1
	}
	n := sc.Peers
	peerOK := func(field string, i int) {
		if i < 0 || (n >= 2 && i >= n) {
			bad(field, "peer %d is outside 0..%d", i, n-1)
		}
	}
	peersOK := func(field string, ps Peers) {
		for _, i := range ps {
			peerOK(field, i)
		}
	}
	notNeg := func(field string, d Duration) {
		if d < 0 {
			bad(field, "must not be negative")
		}
	}
	frac := func(field string, v float64) {
		switch {
		case v < 0:
			bad(field, "%v is negative", v)
		case v > 1:
			bad(field, "%v is above 1", v)
		case v != v:
			bad(field, "is not a number")
		}
	}
	p := &sc.Publish
	if len(p.Publishers) == 0 {
		p.Publishers = Peers{0}
	}
	peersOK("publish.publishers", p.Publishers)
	if p.Rate < 0 || p.Rate != p.Rate {
		bad("publish.rate", "%v is negative", p.Rate)
	}
	if p.Rate > 10000 {
		bad("publish.rate", "%v is above 10000 per second", p.Rate)
	}
	if p.Size == 0 {
		p.Size = 256
	}
	if p.Size < 16 || p.Size > 1<<20 {
		bad("publish.size", "%d is outside 16..1048576 bytes", p.Size)
	}
	if p.Topic == "" {
		p.Topic = "testnet"
	}
	notNeg("publish.start", p.Start)
	notNeg("publish.drain", p.Drain)
	if p.Drain == 0 {
		p.Drain = Duration(min(3*time.Second, sc.Duration.D()/3))
	}
	if sc.Duration > 0 && p.Start+p.Drain >= sc.Duration {
		bad("publish.start", "start + drain (%v) leave no time to publish in a %v run", (p.Start + p.Drain).D(), sc.Duration.D())
	}
	f := &sc.Faults
	frac("faults.loss", f.Loss)
	notNeg("faults.delay", f.Delay)
	notNeg("faults.jitter", f.Jitter)
	for i, l := range f.Links {
		k := fmt.Sprintf("faults.links[%d]", i)
		if len(l.From) == 0 || len(l.To) == 0 {
			bad(k, "needs from and to")
		}
		peersOK(k+".from", l.From)
		peersOK(k+".to", l.To)
		frac(k+".loss", l.Loss)
		notNeg(k+".delay", l.Delay)
		notNeg(k+".jitter", l.Jitter)
		notNeg(k+".at", l.At)
		if l.Until != 0 && l.Until <= l.At {
			bad(k+".until", "must be after at")
		}
	}
	crashed := map[int]bool{}
	for i, c := range f.Crashes {
		k := fmt.Sprintf("faults.crashes[%d]", i)
		peerOK(k+".peer", c.Peer)
		notNeg(k+".at", c.At)
		if c.Restart != 0 && c.Restart <= c.At {
			bad(k+".restart", "must be after at")
		}
		if c.At >= sc.Duration && sc.Duration > 0 {
			bad(k+".at", "%v is not before the end of the run", c.At.D())
		}
		crashed[c.Peer] = true
	}
	// Crashes of one peer must not overlap.
	byPeer := map[int][]Crash{}
	for _, c := range f.Crashes {
		byPeer[c.Peer] = append(byPeer[c.Peer], c)
	}
	for pi, cs := range byPeer {
		sort.Slice(cs, func(a, b int) bool { return cs[a].At < cs[b].At })
		for j := 1; j < len(cs); j++ {
			prev := cs[j-1]
			if prev.Restart == 0 || cs[j].At <= prev.Restart {
				bad("faults.crashes", "peer %d crashes at %v while already down", pi, cs[j].At.D())
			}
		}
	}
	if len(crashed) >= n && n > 0 {
		bad("faults.crashes", "every peer crashes")
	}
	for i, pt := range f.Partitions {
		k := fmt.Sprintf("faults.partitions[%d]", i)
		if len(pt.Groups) == 0 {
			bad(k+".groups", "needs at least one group")
		}
		seen := map[int]bool{}
		for j, g := range pt.Groups {
			gk := fmt.Sprintf("%s.groups[%d]", k, j)
			if len(g) == 0 {
				bad(gk, "is empty")
			}
			peersOK(gk, g)
			for _, x := range g {
				if seen[x] {
					bad(gk, "peer %d is in two groups", x)
				}
				seen[x] = true
			}
		}
		notNeg(k+".at", pt.At)
		if pt.Heal != 0 && pt.Heal <= pt.At {
			bad(k+".heal", "must be after at")
		}
	}
	for i, s := range f.Slow {
		k := fmt.Sprintf("faults.slow[%d]", i)
		peerOK(k+".peer", s.Peer)
		if s.Delay <= 0 {
			bad(k+".delay", "must be positive")
		}
		notNeg(k+".jitter", s.Jitter)
		notNeg(k+".at", s.At)
		if s.Until != 0 && s.Until <= s.At {
			bad(k+".until", "must be after at")
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// Messages returns how many messages the scenario publishes.
func (sc *Scenario) Messages() int {
	p := sc.Publish
	span := (sc.Duration - p.Start - p.Drain).D().Seconds()
	return int(span*p.Rate) * len(p.Publishers)
}
