package baselines

import (
	"errors"
	"fmt"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// RMTPConfig configures a node of the Reliable Multicast Transport Protocol
// (Paul et al.). Receivers are grouped in regions; each region has a
// designated receiver (DR) that caches the data and answers its region's
// status messages. The DRs in turn send their status to the sender, which
// answers them the same way: a two-level hierarchy of ACK processors.
type RMTPConfig struct {
	ID        core.NodeID
	Source    core.NodeID
	Group     *Group
	Transport core.Transport
	App       core.Application

	// DR is where this node sends its status: its region's designated
	// receiver, or the Source for a DR. Empty for the Source.
	DR core.NodeID
	// Region lists the nodes whose status this node processes and to which
	// it retransmits: a DR's region members, or the Source's DRs. Empty
	// for an ordinary receiver.
	Region []core.NodeID

	// StatusTicks is the period of a receiver's status message (RMTP's
	// Tsend); RetxTicks the period at which a DR or the sender processes
	// the statuses it collected and retransmits (Tretx).
	StatusTicks int
	RetxTicks   int
	// RetxDelay: a DR retransmits a packet to a receiver only on a status
	// that arrived at least this many ticks after the DR itself got the
	// packet, so that a packet still in flight to the receiver when it
	// wrote its status is not counted as lost.
	RetxDelay int
	// Thresh: a packet missed by at least Thresh nodes of the region is
	// subcast (multicast to the whole region) rather than unicast to each
	// (RMTP's Mcast_Thresh).
	Thresh int
	// MaxRetxPerNode bounds the packets retransmitted to one node per
	// interval; MaxStore the packets a DR or the sender caches.
	MaxRetxPerNode int
	MaxStore       int
	Limits         core.Limits
}

// DefaultRMTPConfig returns the defaults: statuses and retransmission
// rounds every 20 ticks, a 10-tick hold, subcast when 4 or more miss.
func DefaultRMTPConfig() RMTPConfig {
	return RMTPConfig{StatusTicks: 20, RetxTicks: 20, RetxDelay: 10, Thresh: 4,
		MaxRetxPerNode: 64, MaxStore: 4096, Limits: core.DefaultLimits()}
}

type rmtpStatus struct {
	fresh  bool
	at     uint64 // tick the status arrived
	l      uint64
	bitmap []byte
}

// RMTP is one node of an RMTP session: the sender, a DR or a receiver.
type RMTP struct {
	cfg     RMTPConfig
	source  bool
	ticks   uint64
	phase   uint64
	nextSeq uint64

	seen     seqSet
	store    *store
	recvTick map[uint64]uint64 // when a cached packet arrived

	region   map[core.NodeID]int32
	statuses []rmtpStatus

	need    map[uint64][]int32 // per seq, the region nodes missing it (this round)
	needSeq []uint64
	scratch []core.NodeID
	stats   Stats
}

// NewRMTP validates cfg and returns a node.
func NewRMTP(cfg RMTPConfig) (*RMTP, error) {
	var errs []error
	if cfg.ID == "" || cfg.Source == "" || cfg.Group == nil || cfg.Transport == nil {
		errs = append(errs, errors.New("ID, Source, Group and Transport are required"))
	} else if cfg.Group.Index(cfg.ID) < 0 || cfg.Group.Index(cfg.Source) < 0 {
		errs = append(errs, errors.New("ID and Source must be members of Group"))
	}
	if (cfg.ID == cfg.Source) != (cfg.DR == "") {
		errs = append(errs, errors.New("every node but the Source needs a DR"))
	}
	if cfg.StatusTicks < 1 || cfg.RetxTicks < 1 || cfg.RetxDelay < 0 || cfg.Thresh < 1 ||
		cfg.MaxRetxPerNode < 1 || cfg.MaxStore < 1 {
		errs = append(errs, errors.New("StatusTicks, RetxTicks, Thresh, MaxRetxPerNode and MaxStore must be positive"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("baselines: RMTP config: %w", errors.Join(errs...))
	}
	r := &RMTP{cfg: cfg, source: cfg.ID == cfg.Source, nextSeq: 1}
	// Spread statuses over the period so a region's do not arrive at once.
	if g := cfg.Group.Index(cfg.ID); g >= 0 {
		r.phase = uint64(g) % uint64(cfg.StatusTicks)
	}
	if len(cfg.Region) > 0 || r.source {
		r.store = newStore(cfg.MaxStore)
		r.recvTick = map[uint64]uint64{}
		r.region = make(map[core.NodeID]int32, len(cfg.Region))
		for i, id := range cfg.Region {
			r.region[id] = int32(i)
		}
		r.statuses = make([]rmtpStatus, len(cfg.Region))
		r.need = map[uint64][]int32{}
	}
	return r, nil
}

// ID returns the node's ID.
func (r *RMTP) ID() core.NodeID { return r.cfg.ID }

// Stats returns a copy of the counters.
func (r *RMTP) Stats() Stats { return r.stats }

// Has reports whether the node has the message with key k.
func (r *RMTP) Has(k core.MsgKey) bool {
	if k.Origin != r.cfg.Source {
		return false
	}
	if r.source {
		return k.Seq >= 1 && k.Seq < r.nextSeq
	}
	return r.seen.has(k.Seq)
}

func (r *RMTP) multicast(to []core.NodeID, frame []byte) uint64 {
	n := uint64(multicast(r.cfg.Transport, r.cfg.ID, to, frame, &r.scratch))
	r.stats.FramesSent += n
	return n
}

// Publish (sender only) multicasts a message to the whole group.
func (r *RMTP) Publish(topic string, payload []byte) (*core.Message, error) {
	if !r.source {
		return nil, ErrNotSource
	}
	m := &core.Message{Origin: r.cfg.ID, Seq: r.nextSeq, Topic: topic, Payload: slices.Clone(payload)}
	r.nextSeq++
	r.seen.add(m.Seq, r.cfg.MaxStore)
	r.stats.Published++
	r.stats.Delivered++
	if r.cfg.App != nil {
		r.cfg.App.Deliver(m)
	}
	r.cache(m)
	r.stats.MessagesSent += r.multicast(r.cfg.Group.Members(), appendMessageFrame(m, 0))
	return m, nil
}

func (r *RMTP) cache(m *core.Message) {
	if r.store == nil {
		return
	}
	if r.store.put(m) {
		r.stats.StoreEvicted++
	}
	r.recvTick[m.Seq] = r.ticks
	if len(r.recvTick) > 2*r.cfg.MaxStore {
		for q := range r.recvTick { // deletion only: order does not matter
			if r.store.get(core.MsgKey{Origin: r.cfg.Source, Seq: q}) == nil {
				delete(r.recvTick, q)
			}
		}
	}
}

// status builds this node's status message.
func (r *RMTP) status() *Status {
	s := &Status{Origin: r.cfg.Source, L: r.seen.contiguous + 1}
	if len(r.seen.above) > 0 {
		top := min(r.seen.highest(), s.L+MaxBitmapBytes*8)
		s.Bitmap = make([]byte, (top-s.L+7)/8)
		for _, q := range r.seen.above {
			if q > top {
				break
			}
			i := q - s.L - 1
			s.Bitmap[i/8] |= 1 << (i % 8)
		}
	}
	return s
}

// Tick advances time: periodic status to the DR, and at the end of each
// retransmission interval, retransmissions to the region.
func (r *RMTP) Tick() {
	r.ticks++
	if !r.source && r.ticks%uint64(r.cfg.StatusTicks) == r.phase {
		r.cfg.Transport.Send(r.cfg.DR, AppendStatusRecord(core.NewFrame(nil), r.status()))
		r.stats.FramesSent++
		r.stats.ControlSent++
		r.stats.StatusSent++
	}
	if r.store != nil && r.ticks%uint64(r.cfg.RetxTicks) == 0 {
		r.retransmit()
	}
}

func (r *RMTP) retransmit() {
	top := r.seen.highest()
	if r.source {
		top = r.nextSeq - 1
	}
	for i := range r.statuses {
		st := &r.statuses[i]
		if !st.fresh {
			continue
		}
		st.fresh = false
		s := Status{L: st.l, Bitmap: st.bitmap}
		n := 0
		for q := st.l; q <= top && n < r.cfg.MaxRetxPerNode; q++ {
			if s.Has(q) || !r.Has(core.MsgKey{Origin: r.cfg.Source, Seq: q}) {
				continue
			}
			if at, ok := r.recvTick[q]; !ok || st.at < at+uint64(r.cfg.RetxDelay) {
				continue
			}
			if r.need[q] == nil {
				r.needSeq = append(r.needSeq, q)
			}
			r.need[q] = append(r.need[q], int32(i))
			n++
		}
	}
	slices.Sort(r.needSeq)
	for _, q := range r.needSeq {
		m := r.store.get(core.MsgKey{Origin: r.cfg.Source, Seq: q})
		who := r.need[q]
		delete(r.need, q)
		if m == nil {
			continue
		}
		frame := appendMessageFrame(m, 0)
		var n uint64
		if len(who) >= r.cfg.Thresh {
			n = r.multicast(r.cfg.Region, frame)
			r.stats.Subcasts++
		} else {
			for _, i := range who {
				r.cfg.Transport.Send(r.cfg.Region[i], frame)
				n++
			}
			r.stats.FramesSent += n
			r.stats.Unicasts += n
		}
		r.stats.MessagesSent += n
		r.stats.Retransmitted += n
	}
	r.needSeq = r.needSeq[:0]
}

// Step processes a frame from peer from.
func (r *RMTP) Step(from core.NodeID, frame []byte) error {
	f, err := core.DecodeFrame(frame, r.cfg.Limits)
	if err != nil {
		r.stats.DecodeErrors++
		return err
	}
	for _, m := range f.Messages {
		if r.source || m.Origin != r.cfg.Source {
			continue
		}
		added, overflow := r.seen.add(m.Seq, r.cfg.MaxStore)
		if overflow {
			r.stats.AboveOverflow++
			continue
		}
		if !added {
			r.stats.Duplicates++
			continue
		}
		m = m.Clone()
		r.stats.Delivered++
		if r.cfg.App != nil {
			r.cfg.App.Deliver(m)
		}
		r.cache(m)
	}
	var firstErr error
	for _, rec := range f.Records {
		if rec.Type != RecStatus {
			continue
		}
		s, err := DecodeStatus(rec.Body, r.cfg.Limits)
		if err != nil {
			r.stats.DecodeErrors++
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		i, ok := r.region[from]
		if !ok || s.Origin != r.cfg.Source {
			continue
		}
		st := &r.statuses[i]
		st.fresh, st.l, st.at = true, s.L, r.ticks
		st.bitmap = append(st.bitmap[:0], s.Bitmap...)
	}
	return firstErr
}
