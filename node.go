package grapevine

import (
	"errors"
	"fmt"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
	"github.com/grapevine-p2p/grapevine/membership/overlay"
)

// Config configures a Node: one gossip engine and one memberlist for one
// node, sharing its identity, transport and frames. Start from DefaultConfig.
type Config struct {
	// ID is this node's identity and address. Required.
	ID core.NodeID
	// Transport carries encoded frames to peers. Required. It must not call
	// back into the Node (queue frames instead).
	Transport core.Transport
	// App receives delivered messages. Optional.
	App core.Application
	// Events receives membership events. Optional.
	Events membership.EventHandler
	// Seed seeds both layers' randomness (each mixes in the ID and its own
	// name, so their streams differ) unless Gossip.Rand or Membership.Rand
	// is set.
	Seed uint64

	// Gossip configures the engine. ID, Transport, App, Sampler, Piggyback
	// and Seed are filled in by NewNode. Gossip.RoundTicks sets how many
	// node ticks make one gossip round.
	Gossip core.Config
	// Membership configures the memberlist. ID, Transport, Events and Seed
	// are filled in by NewNode; its profile fixes what a tick means
	// (Membership.Tick).
	Membership membership.Config
	// Overlay, when set, runs a HyParView overlay beside the two layers and
	// confines both to its neighbours, so a node holds a bounded number of
	// connections whatever the group size (see node_overlay.go). ID,
	// Transport, Seed and SizeEstimate are filled in by NewNode; Accept,
	// OnUp and OnDown are kept and chained. Start from
	// overlay.DefaultConfig. Nil: every member talks to every member.
	Overlay *overlay.Config
	// Guard, when set, makes the Node check what it hears as any peer may
	// be hostile (guard.go): it becomes the engine's Validator and
	// OriginGate and both layers' Penalizer, which must then be unset.
	// Nil: every peer is trusted, apart from what the layers check
	// themselves.
	Guard *GuardConfig
}

// DefaultConfig returns the configuration for a LAN: core.DefaultConfig for
// gossip, one gossip round every 2 ticks, and membership.DefaultLANConfig
// (100 ms ticks, 1 s protocol period). A gossip round of 200 ms keeps the
// pull repair quick while eager push carries new messages at network speed;
// the memberlist's updates also ride on every gossip frame. ID and Transport
// must still be set.
func DefaultConfig() Config {
	g := core.DefaultConfig()
	g.RoundTicks = 2
	return Config{Gossip: g, Membership: membership.DefaultLANConfig()}
}

// Node composes a core.Engine with a membership.Memberlist: the memberlist
// is the engine's PeerSampler (gossip targets are live members) and
// Piggybacker (gossip frames carry membership updates for free). Step
// decodes a frame once and hands it to both. Node is a pure state machine
// like its parts: it is not safe for concurrent use, and the same inputs in
// the same order give the same outputs.
type Node struct {
	engine *core.Engine
	ml     *membership.Memberlist
	ov     *overlay.Overlay // nil without Config.Overlay
	guard  *Guard           // nil without Config.Guard
	limits core.Limits
	stats  FrameStats
	// pen hears of frames that do not decode (OffenceMalformed): the Node
	// decodes each frame once for every layer, so the engine never sees
	// them. The gossip engine's Penalizer, or nil.
	pen core.Penalizer
	// frame is decoded into for each Step (core.DecodeFrameInto: no layer
	// keeps a frame's slices; a Transport must not step a frame from
	// within Send, core.Transport, so Steps never overlap).
	frame core.Frame
}

// FrameStats counts the frames a Node stepped.
type FrameStats struct {
	FramesIn     uint64
	BytesIn      uint64
	DecodeErrors uint64 // frames that did not decode (dropped whole)
	RecordErrors uint64 // frames with a membership record that did not decode (the rest was used)
}

// Stats gathers a Node's counters.
type Stats struct {
	Frames     FrameStats
	Gossip     core.Stats
	Membership membership.Stats
	Overlay    overlay.Stats // zero without Config.Overlay
}

// NewNode validates cfg and returns a node that knows only itself; call
// Join to enter a group.
func NewNode(cfg Config) (*Node, error) {
	if cfg.ID == "" || cfg.Transport == nil {
		return nil, errors.New("grapevine: Config.ID and Config.Transport are required")
	}
	nd := &Node{pen: cfg.Gossip.Penalizer}
	mc := cfg.Membership
	if cfg.Guard != nil {
		if cfg.Gossip.Validator != nil || cfg.Gossip.Penalizer != nil || mc.Penalizer != nil {
			return nil, errors.New("grapevine: with Config.Guard, the Gossip.Validator and the layers' Penalizers are the guard's")
		}
		g, err := newGuard(*cfg.Guard, cfg.ID)
		if err != nil {
			return nil, err
		}
		nd.guard, nd.pen, mc.Penalizer = g, g, g
	}
	mc.ID, mc.Transport, mc.Events = cfg.ID, cfg.Transport, cfg.Events
	if mc.Rand == nil {
		mc.Seed = cfg.Seed
	}
	var peers *overlayPeers
	if cfg.Overlay != nil {
		peers = &overlayPeers{}
		mc.Neighbors = peers
		mc.Events = nd.overlayEvents(cfg.Events)
	}
	ml, err := membership.New(mc)
	if err != nil {
		return nil, err
	}
	gc := cfg.Gossip
	gc.ID, gc.Transport, gc.App, gc.Sampler, gc.Piggyback = cfg.ID, cfg.Transport, cfg.App, ml, ml
	if nd.guard != nil {
		gc.Validator, gc.Penalizer = nd.guard, nd.guard
		nd.guard.ml = ml
	}
	if peers != nil {
		peers.ml = ml
		if peers.ov, err = newOverlay(&cfg, peers); err != nil {
			return nil, err
		}
		gc.Sampler = peers
	}
	if gc.Rand == nil {
		gc.Seed = cfg.Seed
	}
	e, err := core.New(gc)
	if err != nil {
		return nil, err
	}
	nd.engine, nd.ml, nd.ov, nd.limits = e, ml, peers.overlay(), gc.Limits
	if nd.guard != nil {
		nd.guard.holdTicks = max(1, e.Config().HoldUnknownTicks)
	}
	return nd, nil
}

// ID returns this node's ID.
func (n *Node) ID() core.NodeID { return n.ml.ID() }

// Engine returns the gossip engine (for its finer-grained accessors).
func (n *Node) Engine() *core.Engine { return n.engine }

// Guard returns the guard, nil without Config.Guard.
func (n *Node) Guard() *Guard { return n.guard }

// Membership returns the memberlist.
func (n *Node) Membership() *membership.Memberlist { return n.ml }

// Tick advances both layers by one tick; the engine runs a gossip round every
// Gossip.RoundTicks ticks.
func (n *Node) Tick() {
	n.ml.Tick()
	if n.ov != nil {
		n.ov.Tick()
	}
	n.engine.Tick()
}

// NextDue reports how many ticks may pass before the node next acts on its
// own: if no input arrives (no Step, Publish or other call), the next
// NextDue()-1 calls of Tick send no frame, deliver nothing and emit no
// event; 1 means the next Tick may act. The answer may be early, never
// late. A driver may sleep through such quiet ticks and run them back to
// back before the node's next input (p2p/tick_schedule.go): the node's
// state is then as if every tick had run on time.
func (n *Node) NextDue() int {
	d := min(n.ml.NextDue(), n.engine.NextDue())
	if n.ov != nil {
		d = min(d, n.ov.NextDue())
	}
	return d
}

// ReportLag tells the layers that this node ran behind real time by ticks
// ticks (a frame waited that long before Step, or Tick came that late):
// failure verdicts wait while they may rest on frames not read yet
// (membership/lag.go, membership/overlay/lag.go).
func (n *Node) ReportLag(ticks int) {
	n.ml.ReportLag(ticks)
	if n.ov != nil {
		n.ov.ReportLag(ticks)
	}
}

// Step processes one frame received from peer from: it is decoded once, its
// membership records go to the memberlist, the rest to the engine. A frame
// that does not decode is dropped and its error returned; a membership
// record that does not decode is skipped (and its error returned) while the
// rest of the frame is still used.
func (n *Node) Step(from core.NodeID, raw []byte) error {
	n.stats.FramesIn++
	n.stats.BytesIn += uint64(len(raw))
	f := &n.frame
	if err := core.DecodeFrameInto(f, raw, n.limits); err != nil {
		n.stats.DecodeErrors++
		if n.pen != nil {
			n.pen.Penalize(from, core.OffenceMalformed)
		}
		return fmt.Errorf("grapevine: frame from %q: %w", from, err)
	}
	merr := n.ml.Step(from, f)
	if n.ov != nil {
		if oerr := n.ov.StepFrame(from, f); oerr != nil && merr == nil {
			merr = oerr
		}
	}
	n.engine.StepFrame(from, f)
	if merr != nil {
		n.stats.RecordErrors++
		return fmt.Errorf("grapevine: frame from %q: %w", from, merr)
	}
	return nil
}

// Publish originates a message (see core.Engine.Publish; options such as
// core.WithPriority and core.WithTimestamp are passed through).
func (n *Node) Publish(topic string, payload []byte, opts ...core.PublishOption) (*core.Message, error) {
	return n.engine.Publish(topic, payload, opts...)
}

// Has reports whether this node has seen the message with key k.
func (n *Node) Has(k core.MsgKey) bool { return n.engine.Has(k) }

// Join starts joining the group through seeds (see membership.Memberlist.Join).
func (n *Node) Join(seeds []core.NodeID) {
	n.ml.Join(seeds)
	if n.ov != nil && len(seeds) > 0 {
		n.ov.Join(seeds...)
	}
}

// Leave announces a graceful leave (see membership.Memberlist.Leave). Keep
// ticking until Pending returns 0 so the announcement spreads.
func (n *Node) Leave() {
	n.ml.Leave()
	if n.ov != nil {
		n.ov.Leave()
	}
}

// Pending returns the number of membership updates still queued.
func (n *Node) Pending() int { return n.ml.Pending() }

// SetMeta replaces this node's membership metadata.
func (n *Node) SetMeta(meta []byte) error { return n.ml.SetMeta(meta) }

// Members returns the live members, this node included, sorted by ID.
func (n *Node) Members() []membership.Member { return n.ml.Members() }

// Stats returns the counters of the node and both layers.
func (n *Node) Stats() Stats {
	st := Stats{Frames: n.stats, Gossip: n.engine.Stats(), Membership: n.ml.Stats()}
	if n.ov != nil {
		st.Overlay = n.ov.Stats()
	}
	return st
}
