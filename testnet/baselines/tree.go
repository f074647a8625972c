package baselines

import (
	"errors"
	"fmt"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// TreeConfig configures a node of the tree protocol.
type TreeConfig struct {
	ID   core.NodeID
	Root core.NodeID // the source, at the top of the tree
	// Group is the membership; the tree is the balanced Arity-ary tree over
	// the root followed by the other members in sorted order.
	Group     *Group
	Transport core.Transport
	App       core.Application

	// Arity is k, the number of children of an internal node.
	Arity int
	// HeartbeatTicks is the period of heartbeats from a node to its parent
	// and to each child; DeadTicks is how long without any frame from a
	// parent (or a child) before it is declared dead.
	HeartbeatTicks int
	DeadTicks      int
	// Resync makes a node that adopts an orphan send it every stored
	// message above the orphan's contiguous watermark, so a re-attached
	// subtree catches up on what it missed while cut off. Without it the
	// tree is plain best-effort forwarding.
	Resync bool
	// MaxStore bounds the messages kept for resync; MaxAbove the
	// out-of-order sequence numbers remembered.
	MaxStore int
	MaxAbove int
	Limits   core.Limits
}

// DefaultTreeConfig returns the defaults: a 4-ary tree, heartbeats every
// 20 ticks, a parent or child declared dead after 60 silent ticks (three
// missed heartbeats), resync on.
func DefaultTreeConfig() TreeConfig {
	return TreeConfig{Arity: 4, HeartbeatTicks: 20, DeadTicks: 60, Resync: true,
		MaxStore: 1024, MaxAbove: 4096, Limits: core.DefaultLimits()}
}

// Tree is one node of a spanning-tree multicast: the root sends each
// message to its children, and every node forwards what it newly receives
// to its own children. Repair of the tree after a crash is modelled by
// heartbeats: an orphan re-attaches to its nearest live ancestor.
type Tree struct {
	cfg     TreeConfig
	pos     int // position in the static tree order
	rootIdx int // group index of the root
	ticks   uint64
	nextSeq uint64

	parent     core.NodeID
	parentPos  int // static position of the current (or attempted) parent
	parentSeen uint64
	attaching  bool // an adoption request is outstanding

	children  []core.NodeID
	childSeen []uint64

	seen  seqSet
	store *store
	stats Stats
}

// NewTree validates cfg and returns a node attached to the static tree.
func NewTree(cfg TreeConfig) (*Tree, error) {
	var errs []error
	if cfg.ID == "" || cfg.Root == "" || cfg.Transport == nil || cfg.Group == nil {
		errs = append(errs, errors.New("ID, Root, Group and Transport are required"))
	} else if cfg.Group.Index(cfg.ID) < 0 || cfg.Group.Index(cfg.Root) < 0 {
		errs = append(errs, errors.New("ID and Root must be members of Group"))
	}
	if cfg.Arity < 1 || cfg.HeartbeatTicks < 1 || cfg.DeadTicks <= cfg.HeartbeatTicks {
		errs = append(errs, errors.New("Arity and HeartbeatTicks must be positive and DeadTicks above HeartbeatTicks"))
	}
	if cfg.MaxStore < 1 || cfg.MaxAbove < 1 {
		errs = append(errs, errors.New("MaxStore and MaxAbove must be positive"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("baselines: tree config: %w", errors.Join(errs...))
	}
	t := &Tree{cfg: cfg, rootIdx: cfg.Group.Index(cfg.Root), nextSeq: 1, store: newStore(cfg.MaxStore)}
	t.pos = t.posOf(cfg.ID)
	if t.pos > 0 {
		t.parentPos = (t.pos - 1) / cfg.Arity
		t.parent = t.memberAt(t.parentPos)
	}
	for c := t.pos*cfg.Arity + 1; c <= t.pos*cfg.Arity+cfg.Arity && c < cfg.Group.Len(); c++ {
		t.children = append(t.children, t.memberAt(c))
		t.childSeen = append(t.childSeen, 0)
	}
	return t, nil
}

// posOf maps a member to its position in the tree order (root first, then
// the others in sorted order).
func (t *Tree) posOf(id core.NodeID) int {
	g := t.cfg.Group.Index(id)
	switch {
	case g == t.rootIdx:
		return 0
	case g < t.rootIdx:
		return g + 1
	}
	return g
}

func (t *Tree) memberAt(pos int) core.NodeID {
	if pos == 0 {
		return t.cfg.Root
	}
	g := pos - 1
	if g >= t.rootIdx {
		g++
	}
	return t.cfg.Group.Member(g)
}

// TreePosition returns a member's position in the tree order of a group
// rooted at root: 0 is the root, the children of p are k·p+1 .. k·p+k.
func TreePosition(g *Group, root, id core.NodeID) int {
	t := Tree{cfg: TreeConfig{Group: g, Root: root}, rootIdx: g.Index(root)}
	return t.posOf(id)
}

// TreeMember is the inverse of TreePosition.
func TreeMember(g *Group, root core.NodeID, pos int) core.NodeID {
	t := Tree{cfg: TreeConfig{Group: g, Root: root}, rootIdx: g.Index(root)}
	return t.memberAt(pos)
}

// ID returns the node's ID.
func (t *Tree) ID() core.NodeID { return t.cfg.ID }

// Stats returns a copy of the counters.
func (t *Tree) Stats() Stats { return t.stats }

// Parent returns the current parent ("" for the root).
func (t *Tree) Parent() core.NodeID { return t.parent }

// Children returns the current children (do not modify).
func (t *Tree) Children() []core.NodeID { return t.children }

// Has reports whether the node has the message with key k.
func (t *Tree) Has(k core.MsgKey) bool {
	if k.Origin != t.cfg.Root {
		return false
	}
	if t.pos == 0 {
		return k.Seq >= 1 && k.Seq < t.nextSeq
	}
	return t.seen.has(k.Seq)
}

// Publish (root only) delivers a message locally and sends it to the
// children.
func (t *Tree) Publish(topic string, payload []byte) (*core.Message, error) {
	if t.pos != 0 {
		return nil, ErrNotSource
	}
	m := &core.Message{Origin: t.cfg.ID, Seq: t.nextSeq, Topic: topic, Payload: slices.Clone(payload)}
	t.nextSeq++
	t.seen.add(m.Seq, t.cfg.MaxAbove)
	t.stats.Published++
	t.stats.Delivered++
	if t.cfg.App != nil {
		t.cfg.App.Deliver(m)
	}
	if t.store.put(m) {
		t.stats.StoreEvicted++
	}
	t.forward(m, "")
	return m, nil
}

func (t *Tree) forward(m *core.Message, except core.NodeID) {
	frame := appendMessageFrame(m, 0)
	for _, c := range t.children {
		if c != except {
			t.send(c, frame)
			t.stats.MessagesSent++
		}
	}
}

func (t *Tree) send(to core.NodeID, frame []byte) {
	t.cfg.Transport.Send(to, frame)
	t.stats.FramesSent++
}

func (t *Tree) control(to core.NodeID, frame []byte) {
	t.send(to, frame)
	t.stats.ControlSent++
}

// Tick advances time: heartbeats, and failure detection of parent and
// children.
func (t *Tree) Tick() {
	t.ticks++
	hb := uint64(t.cfg.HeartbeatTicks)
	if t.ticks%hb == uint64(t.pos)%hb {
		if t.parent != "" {
			t.control(t.parent, AppendHeartbeatRecord(core.NewFrame(nil), FromChild))
		}
		if len(t.children) > 0 {
			f := AppendHeartbeatRecord(core.NewFrame(nil), FromParent)
			for _, c := range t.children {
				t.control(c, f)
			}
		}
	}
	dead := uint64(t.cfg.DeadTicks)
	if t.parent != "" && t.ticks > t.parentSeen+dead {
		// The parent (or the ancestor we asked to adopt us) is silent:
		// go one level up the static tree and ask for adoption.
		t.stats.ParentLost++
		t.parentPos = (t.parentPos - 1) / t.cfg.Arity
		if t.parentPos < 0 || t.parentPos == t.pos {
			t.parentPos = 0
		}
		t.attach(t.memberAt(t.parentPos))
	}
	for i := 0; i < len(t.children); {
		if t.ticks > t.childSeen[i]+dead {
			t.stats.ChildrenLost++
			t.children = slices.Delete(t.children, i, i+1)
			t.childSeen = slices.Delete(t.childSeen, i, i+1)
			continue
		}
		i++
	}
}

func (t *Tree) attach(to core.NodeID) {
	old := t.parent
	t.parent = to
	t.parentSeen = t.ticks
	t.attaching = true
	t.stats.Reattachments++
	t.control(to, AppendAdoptRecord(core.NewFrame(nil), t.seen.contiguous))
	if old != "" && old != to {
		t.control(old, core.AppendRecord(core.NewFrame(nil), RecDetach, nil))
	}
}

func (t *Tree) childIndex(id core.NodeID) int { return slices.Index(t.children, id) }

func (t *Tree) addChild(id core.NodeID) {
	if i := t.childIndex(id); i >= 0 {
		t.childSeen[i] = t.ticks
		return
	}
	t.children = append(t.children, id)
	t.childSeen = append(t.childSeen, t.ticks)
}

// Step processes a frame from peer from.
func (t *Tree) Step(from core.NodeID, frame []byte) error {
	f, err := core.DecodeFrame(frame, t.cfg.Limits)
	if err != nil {
		t.stats.DecodeErrors++
		return err
	}
	if from == t.parent {
		t.parentSeen = t.ticks
	}
	if i := t.childIndex(from); i >= 0 {
		t.childSeen[i] = t.ticks
	}
	for _, m := range f.Messages {
		if m.Origin != t.cfg.Root || t.pos == 0 {
			continue
		}
		added, overflow := t.seen.add(m.Seq, t.cfg.MaxAbove)
		if overflow {
			t.stats.AboveOverflow++
			continue
		}
		if !added {
			t.stats.Duplicates++
			continue
		}
		m = m.Clone()
		t.stats.Delivered++
		if t.cfg.App != nil {
			t.cfg.App.Deliver(m)
		}
		if t.store.put(m) {
			t.stats.StoreEvicted++
		}
		t.forward(m, from)
	}
	var firstErr error
	for _, rec := range f.Records {
		var err error
		switch rec.Type {
		case RecHeartbeat:
			var role byte
			if role, err = DecodeHeartbeat(rec.Body); err == nil {
				t.onHeartbeat(from, role)
			}
		case RecAdopt:
			var w uint64
			if w, err = DecodeAdopt(rec.Body); err == nil {
				t.onAdopt(from, w)
			}
		case RecDetach:
			if err = decodeEmpty(rec.Body, "detach"); err == nil {
				if i := t.childIndex(from); i >= 0 {
					t.children = slices.Delete(t.children, i, i+1)
					t.childSeen = slices.Delete(t.childSeen, i, i+1)
				}
			}
		}
		if err != nil {
			t.stats.DecodeErrors++
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

func (t *Tree) onHeartbeat(from core.NodeID, role byte) {
	switch role {
	case FromChild:
		// A node that believes it is our child is one (we may have
		// dropped it after lost heartbeats).
		t.addChild(from)
	case FromParent:
		if from == t.parent {
			t.attaching = false
		} else if t.pos != 0 {
			// A former parent still forwards to us: tell it to stop.
			t.control(from, core.AppendRecord(core.NewFrame(nil), RecDetach, nil))
		}
	}
}

func (t *Tree) onAdopt(from core.NodeID, watermark uint64) {
	if from == t.parent {
		// Two nodes that lost their parents picked each other; the
		// lower position wins and the other moves on (cannot happen
		// with ancestors only, kept for safety).
		return
	}
	t.stats.Adoptions++
	t.addChild(from)
	t.control(from, AppendHeartbeatRecord(core.NewFrame(nil), FromParent))
	if !t.cfg.Resync {
		return
	}
	for q, top := watermark+1, t.seen.highest(); q <= top; q++ {
		if m := t.store.get(core.MsgKey{Origin: t.cfg.Root, Seq: q}); m != nil {
			t.send(from, appendMessageFrame(m, 0))
			t.stats.MessagesSent++
			t.stats.Retransmitted++
		}
	}
}
