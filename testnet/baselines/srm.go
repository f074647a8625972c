package baselines

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/grapevine-p2p/grapevine/core"
)

// SRMConfig configures a node of Scalable Reliable Multicast (Floyd et al.).
type SRMConfig struct {
	ID        core.NodeID
	Group     *Group
	Transport core.Transport
	App       core.Application
	// Rand draws the request and repair timers. Required.
	Rand *rand.Rand
	// Distance returns the one-way delay to a peer in ticks. SRM estimates
	// it from timestamps in session messages; a simulator knows it. nil
	// means 1 for every peer.
	Distance func(peer core.NodeID) int

	// A member that detects a loss requests it after a delay drawn
	// uniformly from [C1·d, (C1+C2)·d], d its distance to the source; a
	// member that holds requested data repairs it after [D1·d, (D1+D2)·d],
	// d its distance to the requester. Defaults C1 = C2 = 2, D1 = D2 = 1
	// (the values of the ns-2 SRM agent).
	C1, C2, D1, D2 float64
	// MaxBackoff caps the backoff exponent: the k-th request timer is
	// 2^min(k, MaxBackoff) times the first (ns-2's requestBackoffLimit, 5).
	MaxBackoff int
	// MaxRequests is how many requests a member sends for one loss before
	// giving it up (Stats.RequestsAbandoned).
	MaxRequests int
	// SessionTicks is the period of a source's session message announcing
	// its highest sequence number, by which members detect the loss of
	// the last packets of a burst. 0 disables session messages.
	SessionTicks int

	// Bounds: origins tracked, messages stored for repairs, out-of-order
	// sequence numbers per origin, and pending request/repair timers.
	MaxOrigins int
	MaxStore   int
	MaxAbove   int
	MaxPending int
	Limits     core.Limits
}

// DefaultSRMConfig returns the defaults (see SRMConfig).
func DefaultSRMConfig() SRMConfig {
	return SRMConfig{C1: 2, C2: 2, D1: 1, D2: 1, MaxBackoff: 5, MaxRequests: 10, SessionTicks: 50,
		MaxOrigins: 1024, MaxStore: 4096, MaxAbove: 4096, MaxPending: 16384, Limits: core.DefaultLimits()}
}

type srmOrigin struct {
	seen  seqSet
	known uint64 // highest sequence number known to exist
}

type srmRequest struct {
	key         core.MsgKey
	fireAt      uint64
	backoff     int
	sent        int
	ignoreUntil uint64
	done        bool
}

type srmRepair struct {
	key       core.MsgKey
	requester core.NodeID
	fireAt    uint64
	done      bool
}

// SRM is one member of an SRM session. Every member may publish; data and
// control are multicast to the whole group (through Multicaster if the
// transport offers it, else by unicast to every member).
type SRM struct {
	cfg     SRMConfig
	ticks   uint64
	nextSeq uint64

	origins  map[core.NodeID]*srmOrigin
	store    *store
	requests map[core.MsgKey]*srmRequest
	reqList  []*srmRequest
	repairs  map[core.MsgKey]*srmRepair
	repList  []*srmRepair
	holdDown map[core.MsgKey]uint64 // ignore requests for key until then

	scratch []core.NodeID
	missing []uint64
	stats   Stats
}

// NewSRM validates cfg and returns a member.
func NewSRM(cfg SRMConfig) (*SRM, error) {
	var errs []error
	if cfg.ID == "" || cfg.Group == nil || cfg.Transport == nil || cfg.Rand == nil {
		errs = append(errs, errors.New("ID, Group, Transport and Rand are required"))
	} else if cfg.Group.Index(cfg.ID) < 0 {
		errs = append(errs, errors.New("ID must be a member of Group"))
	}
	if !(cfg.C1 >= 0 && cfg.C2 >= 0 && cfg.D1 >= 0 && cfg.D2 >= 0) || math.IsInf(cfg.C1+cfg.C2+cfg.D1+cfg.D2, 0) {
		errs = append(errs, errors.New("C1, C2, D1 and D2 must be finite and not negative"))
	}
	if cfg.MaxBackoff < 0 || cfg.MaxBackoff > 30 || cfg.MaxRequests < 1 || cfg.SessionTicks < 0 {
		errs = append(errs, errors.New("MaxBackoff must be in [0, 30], MaxRequests positive, SessionTicks not negative"))
	}
	if cfg.MaxOrigins < 1 || cfg.MaxStore < 1 || cfg.MaxAbove < 1 || cfg.MaxPending < 1 {
		errs = append(errs, errors.New("MaxOrigins, MaxStore, MaxAbove and MaxPending must be positive"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("baselines: SRM config: %w", errors.Join(errs...))
	}
	return &SRM{cfg: cfg, nextSeq: 1, origins: map[core.NodeID]*srmOrigin{}, store: newStore(cfg.MaxStore),
		requests: map[core.MsgKey]*srmRequest{}, repairs: map[core.MsgKey]*srmRepair{},
		holdDown: map[core.MsgKey]uint64{}}, nil
}

// ID returns the node's ID.
func (s *SRM) ID() core.NodeID { return s.cfg.ID }

// Stats returns a copy of the counters.
func (s *SRM) Stats() Stats { return s.stats }

// Has reports whether the member has the message with key k.
func (s *SRM) Has(k core.MsgKey) bool {
	if k.Origin == s.cfg.ID {
		return k.Seq >= 1 && k.Seq < s.nextSeq
	}
	o := s.origins[k.Origin]
	return o != nil && o.seen.has(k.Seq)
}

// PendingRequests returns the number of losses waiting for a repair.
func (s *SRM) PendingRequests() int { return len(s.requests) }

func (s *SRM) dist(peer core.NodeID) float64 {
	if s.cfg.Distance == nil {
		return 1
	}
	return float64(max(s.cfg.Distance(peer), 1))
}

func (s *SRM) multicast(frame []byte) {
	n := multicast(s.cfg.Transport, s.cfg.ID, s.cfg.Group.Members(), frame, &s.scratch)
	s.stats.FramesSent += uint64(n)
}

// Publish multicasts a new message from this member.
func (s *SRM) Publish(topic string, payload []byte) (*core.Message, error) {
	m := &core.Message{Origin: s.cfg.ID, Seq: s.nextSeq, Topic: topic, Payload: slices.Clone(payload)}
	s.nextSeq++
	s.stats.Published++
	s.stats.Delivered++
	if s.cfg.App != nil {
		s.cfg.App.Deliver(m)
	}
	if s.store.put(m) {
		s.stats.StoreEvicted++
	}
	before := s.stats.FramesSent
	s.multicast(appendMessageFrame(m, 0))
	s.stats.MessagesSent += s.stats.FramesSent - before
	return m, nil
}

// Tick advances time: session messages, request and repair timers.
func (s *SRM) Tick() {
	s.ticks++
	if s.cfg.SessionTicks > 0 && s.nextSeq > 1 && s.ticks%uint64(s.cfg.SessionTicks) == 0 {
		before := s.stats.FramesSent
		s.multicast(AppendSessionRecord(core.NewFrame(nil), s.cfg.ID, s.nextSeq-1))
		s.stats.ControlSent += s.stats.FramesSent - before
		s.stats.SessionsSent++
	}
	for _, r := range s.reqList {
		if r.done || r.fireAt > s.ticks {
			continue
		}
		if s.Has(r.key) {
			s.finishRequest(r)
			continue
		}
		if r.sent >= s.cfg.MaxRequests {
			s.stats.RequestsAbandoned++
			s.finishRequest(r)
			continue
		}
		before := s.stats.FramesSent
		s.multicast(AppendKeyRecord(core.NewFrame(nil), RecRequest, r.key))
		s.stats.ControlSent += s.stats.FramesSent - before
		s.stats.RequestsSent++
		r.sent++
		// Wait for the repair: the timer doubles (exponential backoff).
		s.backoff(r)
	}
	for _, p := range s.repList {
		if p.done || p.fireAt > s.ticks {
			continue
		}
		p.done = true
		delete(s.repairs, p.key)
		m := s.store.get(p.key)
		if m == nil {
			continue
		}
		before := s.stats.FramesSent
		s.multicast(appendMessageFrame(m, RecRepair))
		n := s.stats.FramesSent - before
		s.stats.MessagesSent += n
		s.stats.Retransmitted += n
		s.stats.RepairsSent++
		s.holdDown[p.key] = s.ticks + uint64(3*s.dist(p.requester))
	}
	s.reqList = slices.DeleteFunc(s.reqList, func(r *srmRequest) bool { return r.done })
	s.repList = slices.DeleteFunc(s.repList, func(p *srmRepair) bool { return p.done })
	if s.ticks%64 == 0 {
		for k, until := range s.holdDown { // deletion only: order does not matter
			if until <= s.ticks {
				delete(s.holdDown, k)
			}
		}
	}
}

// backoff doubles r's timer interval and restarts it; requests heard in the
// first half of the new interval are ignored (they answer the same round).
func (s *SRM) backoff(r *srmRequest) {
	r.backoff = min(r.backoff+1, s.cfg.MaxBackoff)
	d := s.dist(r.key.Origin)
	iv := uniform(s.cfg.Rand, s.cfg.C1*d, (s.cfg.C1+s.cfg.C2)*d) << r.backoff
	r.fireAt = s.ticks + iv
	r.ignoreUntil = s.ticks + iv/2
}

func (s *SRM) finishRequest(r *srmRequest) {
	r.done = true
	delete(s.requests, r.key)
}

// schedule starts a request timer for a detected loss.
func (s *SRM) schedule(k core.MsgKey) *srmRequest {
	if r := s.requests[k]; r != nil {
		return r
	}
	if len(s.requests) >= s.cfg.MaxPending {
		s.stats.QueueDrops++
		return nil
	}
	d := s.dist(k.Origin)
	r := &srmRequest{key: k, fireAt: s.ticks + uniform(s.cfg.Rand, s.cfg.C1*d, (s.cfg.C1+s.cfg.C2)*d)}
	s.requests[k] = r
	s.reqList = append(s.reqList, r)
	return r
}

func (s *SRM) origin(id core.NodeID) *srmOrigin {
	if o := s.origins[id]; o != nil {
		return o
	}
	if len(s.origins) >= s.cfg.MaxOrigins {
		s.stats.OriginsDropped++
		return nil
	}
	o := &srmOrigin{}
	s.origins[id] = o
	return o
}

// learn records that origin has sent up to seq and schedules requests for
// every earlier number not held (gap detection). seq itself is requested
// only if inclusive.
func (s *SRM) learn(id core.NodeID, o *srmOrigin, seq uint64, inclusive bool) {
	top := seq
	if !inclusive {
		top = seq - 1
	}
	if top <= o.known {
		if seq > o.known {
			o.known = seq
		}
		return
	}
	from := o.known
	o.known = max(o.known, seq)
	s.missing = s.missing[:0]
	s.missing = o.seen.missing(s.missing, top, s.cfg.MaxPending)
	for _, q := range s.missing {
		if q > from {
			s.schedule(core.MsgKey{Origin: id, Seq: q})
		}
	}
}

// Step processes a frame from peer from.
func (s *SRM) Step(from core.NodeID, frame []byte) error {
	f, err := core.DecodeFrame(frame, s.cfg.Limits)
	if err != nil {
		s.stats.DecodeErrors++
		return err
	}
	repair := false
	var firstErr error
	fail := func(err error) {
		s.stats.DecodeErrors++
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, rec := range f.Records {
		if rec.Type == RecRepair {
			if err := decodeEmpty(rec.Body, "repair"); err != nil {
				fail(err)
			}
			repair = true
		}
	}
	for _, m := range f.Messages {
		s.onData(from, m, repair)
	}
	for _, rec := range f.Records {
		switch rec.Type {
		case RecRequest:
			k, err := DecodeKey(rec.Body, s.cfg.Limits)
			if err != nil {
				fail(err)
				continue
			}
			s.onRequest(from, k)
		case RecSession:
			id, h, err := DecodeSession(rec.Body, s.cfg.Limits)
			if err != nil {
				fail(err)
				continue
			}
			if id != s.cfg.ID && h > 0 {
				if o := s.origin(id); o != nil {
					s.learn(id, o, h, true)
				}
			}
		}
	}
	return firstErr
}

func (s *SRM) onData(from core.NodeID, m *core.Message, repair bool) {
	k := m.Key()
	if repair {
		// Someone answered: suppress our own repair of the same data and
		// ignore the request round's duplicates for a while.
		if p := s.repairs[k]; p != nil {
			p.done = true
			delete(s.repairs, k)
			s.stats.RepairsSuppressed++
		}
		s.holdDown[k] = s.ticks + uint64(3*s.dist(from))
	}
	if m.Origin == s.cfg.ID {
		return
	}
	o := s.origin(m.Origin)
	if o == nil {
		return
	}
	added, overflow := o.seen.add(m.Seq, s.cfg.MaxAbove)
	if overflow {
		s.stats.AboveOverflow++
		return
	}
	if !added {
		s.stats.Duplicates++
		return
	}
	m = m.Clone()
	s.stats.Delivered++
	if s.cfg.App != nil {
		s.cfg.App.Deliver(m)
	}
	if s.store.put(m) {
		s.stats.StoreEvicted++
	}
	if r := s.requests[k]; r != nil {
		s.finishRequest(r)
	}
	s.learn(m.Origin, o, m.Seq, false)
}

func (s *SRM) onRequest(from core.NodeID, k core.MsgKey) {
	if s.Has(k) {
		if until, ok := s.holdDown[k]; ok && until > s.ticks {
			return
		}
		if s.repairs[k] != nil || s.store.get(k) == nil {
			return
		}
		if len(s.repairs) >= s.cfg.MaxPending {
			s.stats.QueueDrops++
			return
		}
		d := s.dist(from)
		p := &srmRepair{key: k, requester: from, fireAt: s.ticks + uniform(s.cfg.Rand, s.cfg.D1*d, (s.cfg.D1+s.cfg.D2)*d)}
		s.repairs[k] = p
		s.repList = append(s.repList, p)
		return
	}
	if k.Origin == s.cfg.ID {
		return // a request for one of our own numbers we never sent
	}
	o := s.origin(k.Origin)
	if o == nil {
		return
	}
	// We miss it too: the request tells us it exists.
	s.learn(k.Origin, o, k.Seq, false)
	r := s.requests[k]
	if r == nil {
		if r = s.schedule(k); r == nil {
			return
		}
	} else if s.ticks < r.ignoreUntil {
		return
	}
	s.stats.RequestsSuppressed++
	s.backoff(r)
}
