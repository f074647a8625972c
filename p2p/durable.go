package p2p

// Durable delivery (WithDataDir): the delivery watermarks, the recent
// messages and the sequence-number reservation of a peer, kept in its data
// directory and recovered at start, so that a restarted peer delivers
// nothing twice, serves what it held, and never reuses a sequence number.
// The database is behind durableDB: a Store (durable_store.go), bbolt in
// a data directory (durable_bolt.go) or one given with WithStore (the
// browser tab's IndexedDB). The rules are in doc.go, "Durable delivery".

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grapevine-p2p/grapevine/core"
)

// seqBlock is how many sequence numbers are reserved durably ahead of use
// by default (WithSeqReservation): the reservation is renewed (one fsync)
// when half of it is used, and a peer killed at any point restarts above
// everything it may have used.
const seqBlock = 1024

// durableOptions are the settings of WithDataDir, WithStore,
// WithSeqReservation and WithHistory.
type durableOptions struct {
	dir      string
	store    Store
	seqBlock uint64 // 0: seqBlock
	history  History
}

// WithDataDir keeps this peer's delivery watermarks, its recent messages
// and its sequence-number reservation in an embedded database (bbolt) in
// dir, created if missing, and recovers them at start: restarted with the
// same identity and directory, the peer delivers nothing it delivered
// before, pulls what it missed within the group's retention, serves the
// messages it held to others, and continues its own numbering without
// reuse, even after kill -9. A delivery reaches subscribers only once it
// is on disk (fsync). One peer at a time may use a directory. Not in the
// browser (a tab keeps the same in IndexedDB: WithStore, given by package
// wasm). Without it, all of this is kept in memory only.
func WithDataDir(dir string) Option {
	return func(s *settings) error {
		if dir == "" {
			return errors.New("data directory must not be empty")
		}
		s.durable.dir = dir
		return nil
	}
}

// DurableStats are the counters of the data directory (all zero without
// one) and of the history filter.
type DurableStats struct {
	RestoredOrigins  int    // watermarks recovered at start
	RestoredMessages int    // messages put back into the store at start
	Commits          uint64 // transactions written (each fsynced)
	CommitErrors     uint64 // transactions that failed (deliveries still went out)
	Stored           int    // messages in the database's log now
	Evicted          uint64 // messages dropped from the log by its bounds (count, bytes, age)
	HistoryDropped   uint64 // deliveries withheld by WithHistory (published before this peer first joined)
	LateDelivered    uint64 // messages delivered out of order: below where an origin's order started here (see Late)
	Redelivered      uint64 // messages given again to acknowledged subscriptions after a restart (WithAcks)
	AcksAbandoned    uint64 // unacknowledged deliveries given up: their log record was evicted, or too many were awaited
	Unacknowledged   int    // deliveries to acknowledged subscriptions awaiting acknowledgement now
}

type watermark struct {
	seq uint64
	at  int64 // Unix ns of the delivery that set it
	// acked is the acknowledgement floor (ack.go): every delivery at or
	// below it was acknowledged. Only written once acknowledged
	// subscriptions are in use (hasAck); otherwise it is seq.
	acked  uint64
	hasAck bool
}

// logRecord is one stored message as loaded.
type logRecord struct {
	idx  uint64
	recv int64
	size int
	msg  *core.Message
}

type durableState struct {
	reserved    uint64
	firstStart  int64
	ackedTopics map[string]bool
	wm          map[core.NodeID]watermark
	log         []logRecord // in index order: oldest first
	corrupt     []uint64
}

type putRecord struct {
	idx   uint64
	value []byte
}

// durableBatch is one transaction.
type durableBatch struct {
	reserved    uint64
	firstStart  int64
	ackedTopics []string // the whole set, when it grew
	wm          map[core.NodeID]watermark
	dropWM      []core.NodeID
	put         []putRecord
	drop        []uint64
}

// durableDB is the embedded database. commit is atomic and durable when it
// returns (fsync).
type durableDB interface {
	load(lim core.Limits) (*durableState, error)
	commit(b *durableBatch) error
	close() error
	abandon() // close as a crash would (Peer.Kill): no final checkpoint
}

type logMeta struct {
	idx  uint64
	recv int64
	size int
}

// durable sits between the engine's deliveries and the subscribers. Every
// peer has one; db is nil without a data directory.
type durable struct {
	p          *Peer
	db         durableDB
	history    History
	hist       *historyWindow // open on a first start with HistoryLast
	firstStart time.Time      // this peer's first start (with a data directory: ever)
	loaded     *durableState

	reserved     uint64        // driver goroutine: sequence numbers below it are reserved on disk
	seqBlock     uint64        // how many are reserved at a time
	restartPulls int           // driver goroutine: ticks left to pull at every tick (restartPullTicks)
	restarted    []core.NodeID // driver goroutine: members seen to rejoin, for RestartOrigin

	mu      sync.Mutex
	pending []*core.Message
	wake    chan struct{}
	stop    chan struct{}
	killed  chan struct{}
	exited  chan struct{}

	// writer goroutine
	wm                map[core.NodeID]watermark
	log               []logMeta
	logBytes          int
	nextIdx           uint64
	maxMsgs, maxBytes int
	ttl               time.Duration

	restoredOrigins, restoredMsgs int
	commits, commitErrs           atomic.Uint64
	stored                        atomic.Int64
	acks                          *ackTracker // with a database
	histDropped                   atomic.Uint64
	lateDelivered                 atomic.Uint64
	evicted                       atomic.Uint64
}

// openDurable opens the data directory (if any), reserves the first block
// of sequence numbers and sets the engine's first sequence number. It runs
// in New before the engine is built.
func (p *Peer) openDurable() error {
	d := &durable{p: p, history: p.s.durable.history, firstStart: time.Now(), seqBlock: p.s.durable.seqBlock}
	if d.seqBlock == 0 {
		d.seqBlock = seqBlock
	}
	p.dur = d
	var db durableDB
	switch o := p.s.durable; {
	case o.dir != "" && o.store != nil:
		return errors.New("WithDataDir and WithStore exclude each other")
	case o.store != nil:
		db = &storeDB{s: o.store}
	case o.dir != "":
		var err error
		if db, err = openDurableDB(o.dir); err != nil {
			return err
		}
	default:
		d.startHistory(true)
		return nil
	}
	st, err := db.load(core.DefaultLimits())
	if err != nil {
		db.close()
		return fmt.Errorf("reading data directory: %w", err)
	}
	b := &durableBatch{drop: st.corrupt}
	if st.firstStart != 0 {
		d.firstStart = time.Unix(0, st.firstStart)
	} else {
		b.firstStart = d.firstStart.UnixNano()
	}
	d.startHistory(st.firstStart == 0)
	next := st.reserved
	if next == 0 {
		next = uint64(time.Now().UnixMicro())
	}
	next = max(next, p.s.firstSeq)
	d.reserved = next + d.seqBlock
	b.reserved = d.reserved
	if err := db.commit(b); err != nil {
		db.close()
		return fmt.Errorf("writing data directory: %w", err)
	}
	p.s.firstSeq = next
	d.db, d.loaded = db, st
	return nil
}

// engine returns the gossip engine (driver goroutine, or before it starts).
func (p *Peer) engine() *core.Engine { return p.mc.(*nodeMachine).n.Engine() }

// restoreDurable hands the recovered watermarks and messages to the fresh
// engine and starts the writer. It runs in New after the engine is built,
// before the driver starts.
func (p *Peer) restoreDurable() error {
	d := p.dur
	if d.db == nil {
		return nil
	}
	e := p.engine()
	cfg := e.Config()
	tick := p.s.tick
	d.maxMsgs, d.maxBytes = cfg.MaxStoreMessages, cfg.MaxStoreBytes
	d.ttl = time.Duration(cfg.StoreTTL) * tick
	d.wm = make(map[core.NodeID]watermark)
	st := d.loaded
	d.loaded = nil
	now := time.Now()
	b := &durableBatch{}
	// A watermark older than the replay window guards nothing: every
	// message at or below it is refused by its timestamp.
	forget := now.Add(-(p.s.replayWindow + p.s.clockSkew)).UnixNano()
	var origins []core.OriginState
	for id, w := range st.wm {
		if w.at < forget || id == p.id {
			b.dropWM = append(b.dropWM, id)
			continue
		}
		d.wm[id] = w
		origins = append(origins, core.OriginState{Origin: id, Delivered: w.seq})
	}
	// Most recently active first, in case MaxOrigins cuts the list.
	sort.Slice(origins, func(i, j int) bool { return d.wm[origins[i].Origin].at > d.wm[origins[j].Origin].at })
	var msgs []core.StoredMessage
	for _, r := range st.log {
		age := now.Sub(time.Unix(0, r.recv))
		if age >= d.ttl {
			b.drop = append(b.drop, r.idx)
			d.evicted.Add(1)
			continue
		}
		msgs = append(msgs, core.StoredMessage{Msg: r.msg, Age: int(max(age, 0) / tick)})
		d.log = append(d.log, logMeta{idx: r.idx, recv: r.recv, size: r.size})
		d.logBytes += r.size
	}
	if n := len(st.log); n > 0 {
		d.nextIdx = st.log[n-1].idx + 1
	}
	d.wake = make(chan struct{}, 1)
	d.acks = newAckTracker(max(d.maxMsgs, 1024), st.ackedTopics, func() {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	})
	d.restoreRedeliveries(st.log)
	rs, err := e.Restore(origins, msgs)
	if err != nil {
		return err
	}
	d.restoredOrigins, d.restoredMsgs = rs.Origins, rs.Messages
	if rs.Origins > 0 || rs.Messages > 0 {
		d.restartPulls = restartPullTicks
	}
	ev := d.evict(now)
	d.acks.evicted(ev)
	b.drop = append(b.drop, ev...)
	if err := d.db.commit(b); err != nil {
		return fmt.Errorf("writing data directory: %w", err)
	}
	d.stored.Store(int64(len(d.log)))
	d.stop, d.killed, d.exited = make(chan struct{}), make(chan struct{}), make(chan struct{})
	go d.writer()
	return nil
}

// restoreRedeliveries keeps for redelivery the stored messages that were
// delivered (at or below their origin's watermark) and not acknowledged
// (above its acknowledgement floor), of a topic that had an acknowledged
// subscription, and young enough to be in the log still.
func (d *durable) restoreRedeliveries(log []logRecord) {
	kept := make(map[uint64]bool, len(d.log))
	for _, l := range d.log {
		kept[l.idx] = true
	}
	for _, r := range log {
		w, ok := d.wm[r.msg.Origin]
		if !ok || !w.hasAck || !kept[r.idx] || r.msg.Seq <= w.acked || r.msg.Seq > w.seq || !d.acks.topics[r.msg.Topic] {
			continue
		}
		d.acks.add(r.msg, r.idx, awaitingSubscriber)
	}
}

// rememberAckedTopic records that topic has an acknowledged subscription
// (Subscribe), on disk with the next commit: after a crash only such
// topics' messages are given again.
func (d *durable) rememberAckedTopic(topic string) {
	if d.acks != nil {
		d.acks.addTopic(topic)
	}
}

// beforePublish makes sure the sequence number the next Publish uses is
// reserved on disk (driver goroutine).
func (p *Peer) beforePublish() error {
	d := p.dur
	if d == nil || d.db == nil {
		return nil
	}
	next := p.engine().NextSeq()
	if next+d.seqBlock/2 < d.reserved {
		return nil
	}
	r := next + d.seqBlock
	if err := d.db.commit(&durableBatch{reserved: r}); err != nil {
		d.commitErrs.Add(1)
		return fmt.Errorf("reserving sequence numbers: %w", err)
	}
	d.commits.Add(1)
	d.reserved = r
	return nil
}

// deliver takes a delivery from the engine (driver goroutine). Without a
// data directory it goes to the subscribers at once; with one, after the
// writer has committed it.
func (d *durable) deliver(m *core.Message) {
	if d.db == nil {
		d.route(m)
		return
	}
	d.mu.Lock()
	d.pending = append(d.pending, m)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// writer commits deliveries in batches (group commit: what arrives during
// one fsync goes into the next) and dispatches each batch once it is on
// disk.
func (d *durable) writer() {
	defer close(d.exited)
	for {
		select {
		case <-d.killed:
			return
		case <-d.stop:
			d.flush()
			return
		case <-d.wake:
			d.flush()
		}
	}
}

// flush commits the pending deliveries and dispatches them.
func (d *durable) flush() {
	d.mu.Lock()
	ms := d.pending
	d.pending = nil
	d.mu.Unlock()
	if len(ms) == 0 {
		d.commitFloors()
		return
	}
	now := time.Now()
	b := &durableBatch{wm: make(map[core.NodeID]watermark)}
	for _, m := range ms {
		if m.Origin != d.p.id {
			if w := d.wm[m.Origin]; m.Seq > w.seq || w.at == 0 {
				d.wm[m.Origin] = watermark{seq: max(m.Seq, w.seq), at: now.UnixNano()}
				b.wm[m.Origin] = d.wm[m.Origin]
			}
			// Held in flight, below the floor, until dispatched.
			d.acks.add(m, d.nextIdx, inFlight)
		}
		v := be64(uint64(now.UnixNano()))
		v = append(v, core.EncodeFrame(&core.Frame{Messages: []*core.Message{m}})...)
		b.put = append(b.put, putRecord{idx: d.nextIdx, value: v})
		d.log = append(d.log, logMeta{idx: d.nextIdx, recv: now.UnixNano(), size: len(v)})
		d.logBytes += len(v)
		d.nextIdx++
	}
	b.drop = d.evict(now)
	d.acks.evicted(b.drop)
	d.acks.floors(d.wm, b)
	// Records evicted in the same batch they were added in need no delete.
	if err := d.db.commit(b); err != nil {
		d.commitErrs.Add(1)
		d.p.warn("durable_commit", "could not write deliveries to the data directory; delivering anyway", "err", err)
	} else {
		d.commits.Add(1)
	}
	d.stored.Store(int64(len(d.log)))
	for _, m := range ms {
		d.route(m)
	}
}

// commitFloors commits the acknowledgement floors that moved since the
// last commit, if any (writer goroutine, woken by an acknowledgement).
func (d *durable) commitFloors() {
	b := &durableBatch{}
	d.acks.floors(d.wm, b)
	if len(b.wm) == 0 && b.ackedTopics == nil {
		return
	}
	if err := d.db.commit(b); err != nil {
		d.commitErrs.Add(1)
		d.p.warn("durable_commit", "could not write acknowledgements to the data directory", "err", err)
		return
	}
	d.commits.Add(1)
}

// evict drops the oldest log records beyond the store's bounds (count,
// bytes, age) and returns their indexes.
func (d *durable) evict(now time.Time) []uint64 {
	var drop []uint64
	cut := now.Add(-d.ttl).UnixNano()
	n := 0
	for n < len(d.log) && (len(d.log)-n > d.maxMsgs || d.logBytes > d.maxBytes || d.log[n].recv <= cut) {
		drop = append(drop, d.log[n].idx)
		d.logBytes -= d.log[n].size
		n++
	}
	if n > 0 {
		d.log = append(d.log[:0:0], d.log[n:]...)
		d.evicted.Add(uint64(n))
	}
	return drop
}

// close flushes what is pending, records the exact next sequence number
// (a clean stop leaves no gap in this peer's numbering) and closes the
// database. The driver has exited.
func (d *durable) close() {
	if d == nil || d.db == nil {
		return
	}
	if d.stop == nil { // New failed before the writer started
		d.db.close()
		return
	}
	close(d.stop)
	<-d.exited
	d.awaitAcks()
	b := &durableBatch{reserved: d.p.engine().NextSeq()}
	d.acks.floors(d.wm, b)
	if err := d.db.commit(b); err != nil {
		d.p.warn("durable_commit", "could not record the next sequence number", "err", err)
	}
	d.db.close()
}

// awaitAcks gives the application a moment to acknowledge what its
// acknowledged subscriptions hold (their channels are still open), so that
// a clean stop does not repeat it after the restart: it waits while the
// count of awaited acknowledgements falls, for at most closeAckWait.
func (d *durable) awaitAcks() {
	deadline := time.Now().Add(closeAckWait)
	last, still := d.acks.awaited(), 0
	for last > 0 && time.Now().Before(deadline) && still < 10 {
		time.Sleep(10 * time.Millisecond)
		n := d.acks.awaited()
		if n < last {
			still = 0
		} else {
			still++ // 100 ms without one: a subscriber that does not acknowledge
		}
		last = n
	}
}

// closeAckWait bounds awaitAcks.
const closeAckWait = time.Second

// kill stops the writer at once, as a crash would: pending deliveries are
// neither committed nor dispatched.
func (d *durable) kill() {
	if d == nil || d.db == nil {
		return
	}
	if d.killed == nil {
		d.db.abandon()
		return
	}
	close(d.killed)
	<-d.exited
	d.db.abandon()
}

// DurableStats returns the data directory's counters.
func (p *Peer) DurableStats() DurableStats {
	d := p.dur
	if d == nil {
		return DurableStats{}
	}
	var red, ab uint64
	var pend int
	if d.acks != nil {
		red, ab, pend = d.acks.counters()
	}
	return DurableStats{
		RestoredOrigins: d.restoredOrigins, RestoredMessages: d.restoredMsgs,
		Commits: d.commits.Load(), CommitErrors: d.commitErrs.Load(),
		Stored: int(d.stored.Load()), HistoryDropped: d.histDropped.Load(), LateDelivered: d.lateDelivered.Load(),
		Evicted:     d.evicted.Load(),
		Redelivered: red, AcksAbandoned: ab, Unacknowledged: pend,
	}
}

// restartPullTicks is how many ticks a restarted peer that restored state
// pulls at every tick (3 s with 100 ms ticks): what was published while it
// was down creates no gap it could see until newer messages arrive, so it
// asks at once instead of at the next round's pull.
const restartPullTicks = 30

// catchUp pulls at every tick while the engine holds messages back behind
// a FIFO gap (after a restart, a partition) or for restartPullTicks after
// a restart, instead of once every PullEvery rounds, and runs the history
// window (driver goroutine).
func (p *Peer) catchUp() {
	p.historyTick()
	e := p.engine()
	for _, id := range p.dur.restarted {
		e.RestartOrigin(id)
	}
	p.dur.restarted = p.dur.restarted[:0]
	restarting := p.dur.restartPulls > 0
	if restarting {
		p.dur.restartPulls--
	}
	if restarting || e.Behind() {
		e.PullNow()
	}
}

// tickWork reports whether catchUp acts at the next tick (driver
// goroutine): the driver then does not sleep through ticks.
func (d *durable) tickWork() bool {
	if d.restartPulls > 0 || len(d.restarted) > 0 {
		return true
	}
	h := d.hist
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.open
}

// memberRejoined notes a member that rejoined after it was declared failed or
// had left (driver goroutine): it restarted, and its new messages must not
// wait behind its old numbering (core.Engine.RestartOrigin, at the next
// tick). A member restarted with a data directory continues its numbering,
// so this costs it nothing.
func (d *durable) memberRejoined(id core.NodeID) {
	if len(d.restarted) < 1024 {
		d.restarted = append(d.restarted, id)
	}
}

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
