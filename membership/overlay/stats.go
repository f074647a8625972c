package overlay

// Stats are the overlay's counters. Every bound the overlay enforces has a
// counter here for what it dropped or refused.
type Stats struct {
	FramesIn     uint64 // frames given to Step/StepFrame
	RecordsIn    uint64 // overlay records handled
	FramesSent   uint64
	DecodeErrors uint64 // frames or overlay records that failed to decode

	// Views.
	NeighborUp        uint64 // nodes added to the active view
	NeighborDown      uint64 // nodes removed from it (any reason)
	Failures          uint64 // removed as failed (keepalive or PeerDown)
	KeepaliveFailures uint64 // of which found by the keepalive
	FailuresHeld      uint64 // keepalive failures and request timeouts that waited while the node ran behind (ReportLag)
	PeerDowns         uint64 // PeerDown calls
	Evictions         uint64 // neighbours evicted to admit another
	PassiveEvicted    uint64 // passive entries evicted to make room

	// Protocol.
	JoinsSent         uint64
	JoinsAccepted     uint64 // JOINs admitted as a contact
	ForwardJoins      uint64 // FORWARD_JOIN steps handled
	JoinOffers        uint64 // join walks that ended here (NEIGHBOR offers sent to the joiner)
	NeighborRequests  uint64 // NEIGHBOR requests sent
	RandomLinks       uint64 // high-priority NEIGHBOR requests to a member drawn from the whole group (RandomLinkTicks)
	MemberCandidates  uint64 // NEIGHBOR requests to a member drawn from the whole group because the passive view had no candidate
	NeighborAccepted  uint64 // NEIGHBOR requests this node accepted
	NeighborRejected  uint64 // NEIGHBOR requests this node rejected (full)
	NeighborTimeouts  uint64 // requests unanswered (target dropped from passive)
	ShufflesSent      uint64
	ShufflesAnswered  uint64 // shuffle walks that ended here
	PingsSent         uint64
	AsymmetryRepaired uint64 // pings from non-neighbours (link taken if there was room, else DISCONNECT)
	SplicesSent       uint64 // joiners spliced into a link of this node's (splice.go)
	SpliceRequests    uint64 // NEIGHBOR requests to a joiner a neighbour spliced in for itself

	// Drops and refusals (hostile or stale input).
	JoinsDropped          uint64 // JOINs over JoinsPerTick
	JoinsDuplicate        uint64 // JOINs from a node already active (answered, not walked)
	WalksDropped          uint64 // FORWARD_JOIN/SHUFFLE over WalksPerPeerPerTick
	NotNeighbor           uint64 // FORWARD_JOIN/SHUFFLE from a node not in the active view
	AddRefused            uint64 // additions refused: view full, EvictionsPerTick spent, or too many requests in flight
	EvictionsDenied       uint64 // of which: an eviction was allowed but EvictionsPerTick was spent
	SelfDropped           uint64 // records or entries naming this node (or an empty/oversized sender)
	Rejected              uint64 // IDs refused by Config.Accept
	TTLClamped            uint64 // walk TTLs above the configured length
	ListTruncated         uint64 // shuffle lists longer than 1+ka+kp
	ShuffleStale          uint64 // SHUFFLE_REPLYs matching no outstanding SHUFFLE
	ShuffleRepliesSkipped uint64 // walks ended at this node whose origin got no answer, not being a neighbour (Config.ShuffleReplyToNeighbors)
	Unsolicited           uint64 // answers to requests this node no longer has in flight
	RecordsDropped        uint64 // overlay records beyond MaxRecordsPerFrame in a frame
	UnknownRecords        uint64 // records of the overlay's range this version does not know
	SpliceRefused         uint64 // SPLICE records not acted on: not from a neighbour, no room, or the joiner already a neighbour, asked or inadmissible
}
