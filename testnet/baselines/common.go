package baselines

import (
	"errors"
	"fmt"
	"github.com/grapevine-p2p/grapevine/internal/wire"
	"math/rand/v2"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// Record types of the baseline protocols, in the adapters' range of core's
// frame format (0x80-0x8f). Data travels as core's own message record
// (core.RecMessage), so every protocol here shares core's message encoding;
// these records carry only the protocols' control information.
const (
	RecAck       uint8 = 0x80 // centralized: receiver -> source, "I have (origin, seq)"
	RecHeartbeat uint8 = 0x81 // tree: liveness between parent and child (one byte: the sender's role)
	RecAdopt     uint8 = 0x82 // tree: an orphan asks a new parent to adopt it (its watermark)
	RecRequest   uint8 = 0x83 // SRM: repair request (NAK) for (origin, seq)
	RecRepair    uint8 = 0x84 // SRM: the frame's message records are repairs (empty body)
	RecSession   uint8 = 0x85 // SRM: session message: an origin's highest sequence number
	RecStatus    uint8 = 0x86 // RMTP: status (ACK) message: (origin, L, bitmap)
	RecDetach    uint8 = 0x87 // tree: a child that moved tells its old parent to forget it
)

// ErrNotSource is returned by Publish on a node that is not its protocol's
// sender (centralized, tree and RMTP have one sender per session).
var ErrNotSource = errors.New("grapevine/baselines: only the session's source may publish")

// Stats are the counters every baseline node keeps. Fields a protocol does not
// use stay zero.
type Stats struct {
	Published    uint64 // messages published by this node
	Delivered    uint64 // messages delivered to the application (own included)
	Duplicates   uint64 // message bodies received that were already delivered
	DecodeErrors uint64 // frames or records that failed to decode

	FramesSent    uint64 // frames sent; a multicast to m members counts m
	MessagesSent  uint64 // message bodies sent (originals and retransmissions), per receiver
	Retransmitted uint64 // message bodies sent again (ACK timeout, repair, DR retransmission, resync)
	ControlSent   uint64 // control records sent (ACKs, heartbeats, requests, statuses, ...), per receiver

	// Centralized
	AckTimeouts uint64 // retransmissions triggered by a missing ACK
	GaveUp      uint64 // (receiver, message) pairs abandoned after MaxRetries
	QueueDrops  uint64 // sends dropped because the send queue was full

	// Tree
	ParentLost    uint64 // times this node declared its parent dead
	ChildrenLost  uint64 // children declared dead and removed
	Adoptions     uint64 // orphans this node adopted
	Reattachments uint64 // times this node re-attached to a new parent

	// SRM
	RequestsSent       uint64 // repair requests multicast
	RequestsSuppressed uint64 // request timers backed off because another member asked first
	RepairsSent        uint64 // repairs multicast
	RepairsSuppressed  uint64 // repair timers cancelled because another member answered first
	RequestsAbandoned  uint64 // losses given up after MaxBackoffs
	SessionsSent       uint64 // session messages multicast

	// RMTP
	StatusSent     uint64 // status (ACK) messages sent to the DR or the sender
	Subcasts       uint64 // retransmissions multicast to a whole region (or to all DRs)
	Unicasts       uint64 // retransmissions unicast to one receiver
	StoreEvicted   uint64 // messages evicted from a bounded store before everyone had them
	OriginsDropped uint64 // messages from origins beyond MaxOrigins, ignored
	AboveOverflow  uint64 // sequence numbers not recorded because MaxAbove was reached
}

// Multicaster may be implemented by a Transport that can hand one frame to
// many members at once, as IP multicast does: the network replicates the
// frame, the sender pays for one transmission. Without it the protocols
// unicast to each member in turn. Either way a multicast to m members counts
// m in Stats.FramesSent (the figure the comparison tables report), so that
// the baselines are not credited with network support the overlay protocols
// do not get.
type Multicaster interface {
	Multicast(to []core.NodeID, frame []byte)
}

// multicast sends frame to every member of to except self.
func multicast(tr core.Transport, self core.NodeID, to []core.NodeID, frame []byte, scratch *[]core.NodeID) int {
	dst := (*scratch)[:0]
	for _, id := range to {
		if id != self {
			dst = append(dst, id)
		}
	}
	*scratch = dst
	if len(dst) == 0 {
		return 0
	}
	if mc, ok := tr.(Multicaster); ok {
		mc.Multicast(dst, frame)
	} else {
		for _, id := range dst {
			tr.Send(id, frame)
		}
	}
	return len(dst)
}

// ---- record encoding ----

// AppendKeyRecord appends a record whose body is (origin, seq): RecAck and
// RecRequest.
func AppendKeyRecord(dst []byte, typ uint8, k core.MsgKey) []byte {
	body := wire.AppendString(nil, string(k.Origin))
	body = wire.AppendUvarint(body, k.Seq)
	return core.AppendRecord(dst, typ, body)
}

// DecodeKey decodes the body of a RecAck or RecRequest record.
func DecodeKey(body []byte, lim core.Limits) (core.MsgKey, error) {
	r := wire.NewReader(body)
	k := core.MsgKey{Origin: core.NodeID(r.ID(lim.MaxIDLen)), Seq: r.Uvarint()}
	r.End("key record")
	if r.Err() == nil && k.Seq == 0 {
		r.Fail(fmt.Errorf("%w: sequence number 0", core.ErrMalformed))
	}
	if err := r.Err(); err != nil {
		return core.MsgKey{}, fmt.Errorf("baselines: %w", err)
	}
	return k, nil
}

// AppendSessionRecord appends an SRM session record: origin and the highest
// sequence number it has sent.
func AppendSessionRecord(dst []byte, origin core.NodeID, highest uint64) []byte {
	body := wire.AppendString(nil, string(origin))
	body = wire.AppendUvarint(body, highest)
	return core.AppendRecord(dst, RecSession, body)
}

// DecodeSession decodes a RecSession body.
func DecodeSession(body []byte, lim core.Limits) (core.NodeID, uint64, error) {
	r := wire.NewReader(body)
	o := core.NodeID(r.ID(lim.MaxIDLen))
	h := r.Uvarint()
	r.End("session record")
	if err := r.Err(); err != nil {
		return "", 0, fmt.Errorf("baselines: %w", err)
	}
	return o, h, nil
}

// AppendAdoptRecord appends a tree adoption request carrying the orphan's
// contiguous watermark (it holds every sequence number up to it).
func AppendAdoptRecord(dst []byte, watermark uint64) []byte {
	return core.AppendRecord(dst, RecAdopt, wire.AppendUvarint(nil, watermark))
}

// DecodeAdopt decodes a RecAdopt body.
func DecodeAdopt(body []byte) (uint64, error) {
	r := wire.NewReader(body)
	w := r.Uvarint()
	r.End("adopt record")
	if err := r.Err(); err != nil {
		return 0, fmt.Errorf("baselines: %w", err)
	}
	return w, nil
}

// Heartbeat roles: who sent a tree heartbeat.
const (
	FromParent byte = 0
	FromChild  byte = 1
)

// AppendHeartbeatRecord appends a tree heartbeat sent in role (FromParent or
// FromChild).
func AppendHeartbeatRecord(dst []byte, role byte) []byte {
	return core.AppendRecord(dst, RecHeartbeat, []byte{role})
}

// DecodeHeartbeat decodes a RecHeartbeat body.
func DecodeHeartbeat(body []byte) (byte, error) {
	if len(body) != 1 || body[0] > FromChild {
		return 0, fmt.Errorf("baselines: %w: bad heartbeat record", core.ErrMalformed)
	}
	return body[0], nil
}

// MaxBitmapBytes bounds an RMTP status bitmap (4,096 sequence numbers).
const MaxBitmapBytes = 512

// Status is an RMTP status message (Paul et al. §III): L is the lowest
// sequence number the receiver has not got (it holds everything below), and
// bit i of Bitmap says whether it holds L+1+i.
type Status struct {
	Origin core.NodeID
	L      uint64
	Bitmap []byte
}

// Has reports whether the status says the receiver holds seq.
func (s *Status) Has(seq uint64) bool {
	if seq < s.L {
		return true
	}
	if seq == s.L {
		return false
	}
	i := seq - s.L - 1
	if i >= uint64(len(s.Bitmap))*8 {
		return false
	}
	return s.Bitmap[i/8]&(1<<(i%8)) != 0
}

// AppendStatusRecord appends an RMTP status record.
func AppendStatusRecord(dst []byte, s *Status) []byte {
	body := wire.AppendString(nil, string(s.Origin))
	body = wire.AppendUvarint(body, s.L)
	body = wire.AppendBytes(body, s.Bitmap)
	return core.AppendRecord(dst, RecStatus, body)
}

// DecodeStatus decodes a RecStatus body. The bitmap aliases body.
func DecodeStatus(body []byte, lim core.Limits) (*Status, error) {
	r := wire.NewReader(body)
	s := &Status{Origin: core.NodeID(r.ID(lim.MaxIDLen)), L: r.Uvarint()}
	s.Bitmap = r.Bytes(MaxBitmapBytes, "status bitmap")
	r.End("status record")
	if r.Err() == nil && s.L == 0 {
		r.Fail(fmt.Errorf("%w: status L 0", core.ErrMalformed))
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("baselines: %w", err)
	}
	return s, nil
}

// decodeEmpty checks that a record that must be empty is.
func decodeEmpty(body []byte, what string) error {
	if len(body) != 0 {
		return fmt.Errorf("baselines: %w: %d bytes in %s record", core.ErrMalformed, len(body), what)
	}
	return nil
}

// DecodeRecord decodes any baseline record and returns its value (a
// core.MsgKey, *Status, uint64 watermark, a session pair or nil for the
// empty records). It returns an error, never panics, on any input.
func DecodeRecord(rec core.Record, lim core.Limits) (any, error) {
	switch rec.Type {
	case RecAck, RecRequest:
		return DecodeKey(rec.Body, lim)
	case RecRepair, RecDetach:
		return nil, decodeEmpty(rec.Body, "empty")
	case RecHeartbeat:
		return DecodeHeartbeat(rec.Body)
	case RecAdopt:
		return DecodeAdopt(rec.Body)
	case RecSession:
		o, h, err := DecodeSession(rec.Body, lim)
		return core.MsgKey{Origin: o, Seq: h}, err
	case RecStatus:
		return DecodeStatus(rec.Body, lim)
	}
	return nil, fmt.Errorf("baselines: %w: record type %#x is not a baseline record", core.ErrMalformed, rec.Type)
}

// ---- shared state ----

// seqSet is a per-origin received set: every sequence number up to
// contiguous, plus a bounded sorted list above it.
type seqSet struct {
	contiguous uint64
	above      []uint64
}

func (s *seqSet) has(seq uint64) bool {
	if seq <= s.contiguous {
		return true
	}
	_, ok := slices.BinarySearch(s.above, seq)
	return ok
}

// add records seq; it returns false if seq was already there or could not be
// recorded (the bound maxAbove was reached; the caller counts it).
func (s *seqSet) add(seq uint64, maxAbove int) (added, overflow bool) {
	if seq <= s.contiguous {
		return false, false
	}
	i, ok := slices.BinarySearch(s.above, seq)
	if ok {
		return false, false
	}
	if seq == s.contiguous+1 {
		s.contiguous = seq
		// absorb
		j := 0
		for j < len(s.above) && s.above[j] == s.contiguous+1 {
			s.contiguous++
			j++
		}
		s.above = append(s.above[:0], s.above[j:]...)
		return true, false
	}
	if len(s.above) >= maxAbove {
		return false, true
	}
	s.above = slices.Insert(s.above, i, seq)
	return true, false
}

// highest returns the highest sequence number held.
func (s *seqSet) highest() uint64 {
	if len(s.above) > 0 {
		return s.above[len(s.above)-1]
	}
	return s.contiguous
}

// missing appends the sequence numbers in (contiguous, upTo] that are not
// held, at most max of them.
func (s *seqSet) missing(dst []uint64, upTo uint64, max int) []uint64 {
	j := 0
	for q := s.contiguous + 1; q <= upTo && len(dst) < max; q++ {
		for j < len(s.above) && s.above[j] < q {
			j++
		}
		if j < len(s.above) && s.above[j] == q {
			continue
		}
		dst = append(dst, q)
	}
	return dst
}

// store keeps messages by key, bounded, evicting the oldest first.
type store struct {
	max   int
	msgs  map[core.MsgKey]*core.Message
	order []core.MsgKey
	head  int
}

func newStore(max int) *store { return &store{max: max, msgs: make(map[core.MsgKey]*core.Message)} }

func (s *store) get(k core.MsgKey) *core.Message { return s.msgs[k] }

// put stores m and reports whether an older message was evicted.
func (s *store) put(m *core.Message) (evicted bool) {
	k := m.Key()
	if _, ok := s.msgs[k]; ok {
		return false
	}
	if len(s.msgs) >= s.max {
		for s.head < len(s.order) {
			old := s.order[s.head]
			s.head++
			if _, ok := s.msgs[old]; ok {
				delete(s.msgs, old)
				evicted = true
				break
			}
		}
	}
	s.msgs[k] = m
	s.order = append(s.order, k)
	if s.head > 1024 && s.head*2 > len(s.order) {
		s.order = append(s.order[:0], s.order[s.head:]...)
		s.head = 0
	}
	return evicted
}

// uniform returns a uniformly random integer tick count in [lo, hi].
func uniform(rng *rand.Rand, lo, hi float64) uint64 {
	if hi < lo {
		hi = lo
	}
	v := lo + rng.Float64()*(hi-lo)
	if v < 1 {
		v = 1
	}
	return uint64(v + 0.5)
}

// appendMessageFrame builds a frame holding one message record and, if typ is
// not zero, one empty record of that type.
func appendMessageFrame(m *core.Message, typ uint8) []byte {
	f := core.AppendMessageRecord(core.NewFrame(nil), m)
	if typ != 0 {
		f = core.AppendRecord(f, typ, nil)
	}
	return f
}

// Group is the membership every node of a session shares: the member list,
// sorted by ID, and the position of each member in it. Build it once with
// NewGroup and give the same *Group to every node (nothing per node then
// grows with the group size). The classic protocols assume a known, static
// membership; a crashed member stays in the list.
type Group struct {
	members []core.NodeID
	index   map[core.NodeID]int32
}

// NewGroup sorts a copy of members and indexes it. IDs must be distinct and
// non-empty.
func NewGroup(members []core.NodeID) (*Group, error) {
	g := &Group{members: slices.Clone(members), index: make(map[core.NodeID]int32, len(members))}
	slices.Sort(g.members)
	for i, id := range g.members {
		if id == "" {
			return nil, errors.New("baselines: empty member ID")
		}
		if i > 0 && g.members[i-1] == id {
			return nil, fmt.Errorf("baselines: member %q listed twice", id)
		}
		g.index[id] = int32(i)
	}
	return g, nil
}

// Len returns the number of members.
func (g *Group) Len() int { return len(g.members) }

// Member returns the member at position i of the sorted list.
func (g *Group) Member(i int) core.NodeID { return g.members[i] }

// Members returns the sorted member list (do not modify it).
func (g *Group) Members() []core.NodeID { return g.members }

// Index returns id's position in the sorted list, or -1.
func (g *Group) Index(id core.NodeID) int {
	if i, ok := g.index[id]; ok {
		return int(i)
	}
	return -1
}
