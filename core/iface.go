package core

// Transport carries encoded frames to peers. The engine hands over the
// frame: Send may keep it and must not change it. Send must not call back
// into the engine (queue the frame instead); the engine is single-threaded.
type Transport interface {
	Send(to NodeID, frame []byte)
}

// FrameBuffers may be implemented by a Transport that recycles frame
// buffers once it has written them (Send hands a frame over for good, so
// the transport may reuse its memory afterwards). The engine then builds
// its frames in buffers from FrameBuffer rather than fresh ones (a frame
// that must hold a larger body moves to a larger buffer), and so does a
// membership.Memberlist for its own frames of updates.
type FrameBuffers interface {
	// FrameBuffer returns a buffer of length 0 and capacity at least n.
	FrameBuffer(n int) []byte
}

// Application receives messages. Deliver is called once per message per
// node, in per-origin sequence order when Config.FIFO is set. The message is
// the engine's stored copy: the application must not modify it.
type Application interface {
	Deliver(m *Message)
}

// LossReporter may be implemented by an Application to hear about messages
// given up for good: in FIFO mode, sequence numbers From..To of Origin were
// skipped after Config.FIFOTimeout.
type LossReporter interface {
	Lost(origin NodeID, from, to uint64)
}

// Validator vets a received message before anything else happens to it (the
// validation pipeline). A non-nil error drops the message: it is not stored,
// delivered or forwarded, and Stats.Invalid counts it. from is the peer that
// sent it, not necessarily its origin.
type Validator interface {
	Validate(from NodeID, m *Message) error
}

// Signer authenticates this node's own messages at publish: it returns the
// bytes to store in Message.Auth (for instance an ed25519 signature over
// m.ID()). Optional.
type Signer interface {
	Sign(m *Message) ([]byte, error)
}

// Piggybacker lets another layer (membership) add records to frames the
// engine sends anyway. Piggyback appends at most room bytes of complete
// records to frame and returns it.
type Piggybacker interface {
	Piggyback(to NodeID, frame []byte, room int) []byte
}

// OriginVoucher is an optional interface of a Piggybacker. Before the usual
// piggyback, Vouch may append records that vouch for the origins of the
// message bodies in the frame (origins, without repeats, in the order the
// bodies were added): membership adds the alive of an origin that joined a
// moment ago, so that a receiver that has not heard of it yet takes its
// message in at once instead of holding it (OriginGate). It appends at most
// room bytes of complete records and returns the frame.
type OriginVoucher interface {
	Vouch(to NodeID, origins []NodeID, frame []byte, room int) []byte
}

// Stats are the engine's counters. Every bound the engine enforces has a
// counter here for what it dropped.
type Stats struct {
	Published      uint64 // messages published by this node
	Delivered      uint64 // messages delivered to the application (own included)
	Received       uint64 // message bodies received, duplicates included
	Duplicates     uint64 // message bodies received that were already seen
	Invalid        uint64 // messages rejected by the Validator
	TooLarge       uint64 // messages dropped for exceeding MaxMessageSize
	InboundDropped uint64 // messages dropped by MaxInboundPerPeerPerRound
	DecodeErrors   uint64 // frames that failed to decode

	FramesSent    uint64
	BytesSent     uint64
	FramesIn      uint64
	BytesIn       uint64
	MessagesSent  uint64 // message bodies sent (push, pull answers, IWANT answers)
	PayloadSent   uint64 // payload bytes within MessagesSent
	IHavesSent    uint64 // keys announced
	IWantsSent    uint64 // keys requested
	DigestsSent   uint64 // pull requests sent
	PullsIdle     uint64 // pull periods that sent no digest: nothing had changed (PullIdleMax, pull_idle.go)
	PullHints     uint64 // peers' digests that listed a message this node lacked, so that its next digest went to them (pull_idle.go)
	PullAnswered  uint64 // message bodies sent in answer to pull requests
	IWantAnswered uint64 // message bodies sent in answer to IWANT
	IWantsLimited uint64 // IWANTed bodies not sent: the peer had this body maxServesPerPeer times (lazy.go)
	TreeSent      uint64 // message bodies sent along a tree push (within MessagesSent)

	PeerBudgetDrops   uint64 // sends dropped by MaxPeerBytesPerRound
	StoreEvicted      uint64 // messages evicted by MaxStoreMessages/MaxStoreBytes
	StoreExpired      uint64 // messages expired by StoreTTL
	OriginsEvicted    uint64 // origins' seen-state evicted by MaxOrigins
	OriginsExpired    uint64 // origins' seen-state expired by SeenTTL
	AboveOverflow     uint64 // gaps given up because MaxAbove was reached
	GapsAbandoned     uint64 // runs of missing sequence numbers given up after GapTimeout or MaxAbove
	WantsDropped      uint64 // IWANTs not sent because MaxPendingWants was reached
	WantsExpired      uint64 // IWANTs that no announcer answered
	WantsRepeated     uint64 // IWANTs sent again to an announcer already asked (fewer than three announcers)
	FIFOLost          uint64 // sequence numbers skipped in FIFO delivery
	FIFOLate          uint64 // messages that arrived after FIFO delivery skipped them (not delivered)
	FIFOStartedFirst  uint64 // origins whose FIFO order started at once, at a message marked First
	PullTooYoung      uint64 // stored messages left out of pull answers as younger than PullMinAge
	PullsLimited      uint64 // pull requests not answered: the peer's RoundTicks+1 of the round were answered (pull.go)
	HeldOverflow      uint64 // FIFO gaps skipped because MaxHeld was reached
	HeldBytesOverflow uint64 // FIFO gaps skipped because MaxHeldBytes was reached
	HeldFlushed       uint64 // held messages delivered (after reporting their gaps lost) when their origin was evicted
	TombstonesDropped uint64 // evicted origins' watermarks dropped by the 8·MaxOrigins bound before SeenTTL
	OriginsRefused    uint64 // messages of new origins refused: origin table and tombstones full (OffenceFlood)
	OriginsOverBudget uint64 // messages of new origins dropped: their sender was over its budget of new origins (NewOriginBurst; OffenceFlood)
	FrameCopies       uint64 // KeepFrames messages copied out of a frame more than 2× their size + 1 KiB
}

// PlumStats are the counters of Plumtree push (Config.Plumtree), kept apart
// from Stats so that a run without Plumtree prints exactly what it did
// before (the simulator's trace digests hash Stats with its field names).
type PlumStats struct {
	EagerSent      uint64 // message bodies sent to eager neighbours (within Stats.MessagesSent)
	LazySent       uint64 // IHAVEs sent to lazy neighbours on first receipt (within Stats.IHavesSent)
	LazySkipped    uint64 // lazy neighbours not announced to (beyond Config.PlumLazyFanout)
	Duplicates     uint64 // duplicate bodies received from a neighbour
	PrunesSent     uint64 // PRUNEs sent (a duplicate over an eager link, above EagerMin)
	PrunesReceived uint64 // PRUNEs received
	Grafts         uint64 // lazy links made eager again by an IWANT either way
	LinksDropped   uint64 // link states dropped because the neighbour left
	QuietRounds    uint64 // rounds whose announcements were left out: no loss seen within Config.PlumRoundsAfterLoss
	LazySuppressed uint64 // deferred announcements left out: the neighbour showed it holds the message (Config.PlumAnnounceDelayCalls)
	AnnouncedEarly uint64 // deferred announcements sent before their delay: too many waited
}
