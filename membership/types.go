package membership

import (
	"fmt"

	"github.com/grapevine-p2p/grapevine/core"
)

// State is a member's state as this member sees it.
type State uint8

const (
	StateAlive   State = iota // answering probes
	StateSuspect              // a probe failed; dead unless it refutes in time
	StateDead                 // confirmed failed (a tombstone until reaped)
	StateLeft                 // left gracefully (a tombstone until reaped)
)

func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Live reports whether s counts as a group member (alive or suspect).
func (s State) Live() bool { return s == StateAlive || s == StateSuspect }

// Member is a snapshot of one member.
type Member struct {
	ID          core.NodeID
	State       State
	Incarnation uint64
	Meta        []byte // the member's metadata; do not modify
	Since       uint64 // tick at which this member entered State (local clock)
}

// EventKind says what happened to a member.
type EventKind uint8

const (
	EventJoin    EventKind = iota + 1 // a member not known before is alive
	EventUpdate                       // a member's metadata changed
	EventSuspect                      // a member is suspected
	EventAlive                        // a suspected member refuted the suspicion
	EventFail                         // a member was declared dead
	EventLeave                        // a member left gracefully
	EventRejoin                       // a dead or departed member is alive again
)

func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventUpdate:
		return "update"
	case EventSuspect:
		return "suspect"
	case EventAlive:
		return "alive"
	case EventFail:
		return "fail"
	case EventLeave:
		return "leave"
	case EventRejoin:
		return "rejoin"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one membership change, reported synchronously from inside Tick,
// Step, Join or Leave.
type Event struct {
	Kind   EventKind
	Member Member      // the member after the change
	From   core.NodeID // the peer whose frame caused it ("" for local decisions)
	Tick   uint64      // this member's tick count when it happened
}

// EventHandler receives events. HandleEvent must not call back into the
// Memberlist (queue the event instead): the memberlist is single-threaded.
type EventHandler interface {
	HandleEvent(Event)
}

// EventFunc adapts a function to EventHandler.
type EventFunc func(Event)

// HandleEvent implements EventHandler.
func (f EventFunc) HandleEvent(e Event) { f(e) }

// Signer signs this member's own alive and leave updates. msg is what
// AliveSigningBytes or LeaveSigningBytes return.
type Signer interface {
	SignMembership(msg []byte) ([]byte, error)
}

// Verifier checks that sig is member's signature over msg (the libp2p adapter
// checks it against the key behind the peer ID). It must not keep msg or sig
// after it returns: the memberlist reuses a buffer for msg.
type Verifier interface {
	VerifyMembership(member core.NodeID, msg, sig []byte) error
}

// SignerFunc adapts a function to Signer.
type SignerFunc func(msg []byte) ([]byte, error)

// SignMembership implements Signer.
func (f SignerFunc) SignMembership(msg []byte) ([]byte, error) { return f(msg) }

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(member core.NodeID, msg, sig []byte) error

// VerifyMembership implements Verifier.
func (f VerifierFunc) VerifyMembership(member core.NodeID, msg, sig []byte) error {
	return f(member, msg, sig)
}

// Stats are the memberlist's counters. Every bound has a counter of what it
// dropped.
type Stats struct {
	FramesSent uint64 // frames built and sent by the memberlist itself
	BytesSent  uint64
	FramesIn   uint64 // frames stepped that held membership records
	RecordsIn  uint64

	PingsSent    uint64 // direct probes
	PingReqsSent uint64 // indirect probe requests
	// PingReqsSkipped counts probe timeouts at which no helper was asked:
	// the member ran behind, so the probe was bound to end inconclusive
	// (lag.go).
	PingReqsSkipped uint64
	AcksSent        uint64 // acks (answers and relays)
	NacksSent       uint64
	AcksReceived    uint64 // acks that completed one of this member's probes
	NacksReceived   uint64
	LateAcks        uint64 // acks after the probe had ended
	ProbesFailed    uint64 // probes that ended without an ack
	// ProbesInconclusive counts failed probes (within ProbesFailed) that
	// raised no suspicion because this member ran behind meanwhile
	// (ReportLag, lag.go); VerdictsHeld counts, once per tick, expired
	// suspicion timers held because it ran behind; LagReports counts the
	// reports of lag that were not ignored.
	ProbesInconclusive  uint64
	VerdictsHeld        uint64
	LagReports          uint64
	MissedNacks         uint64 // nacks expected but not received
	FallbackPings       uint64 // direct pings repeated on the reliable path
	FallbackAcks        uint64 // probes answered only on the reliable path
	SuspectProbes       uint64 // probes of members suspected by others, out of round-robin turn
	SilentProbes        uint64 // probes of the neighbour heard from least recently, out of turn (silent.go)
	HeardSkips          uint64 // neighbours passed over in the round-robin: heard from within the period (Config.SkipHeardNeighbors)
	PeriodsUnprobed     uint64 // probe periods with no probe: every candidate was heard from (Config.SkipHeardNeighbors)
	ProbesHeard         uint64 // probes without an ack ended as answered: a frame of the target arrived after the ping (Config.HeardAnswersProbe)
	AccusationsKept     uint64 // others' suspicions passed to the accused alone, not to the group (Config.LocalAccusations)
	VerdictsSigned      uint64 // deaths believed on others' verdicts, passed on as this member's own (Config.LocalAccusations)
	ChainsSigned        uint64 // hash chains this member signed for its alive updates (Config.AliveChains)
	ChainLinksChecked   uint64 // chained alive updates checked by hashing (a new chain's signature is counted in SignaturesChecked too)
	BumpsUnverifiable   uint64 // refutation bumps about members unknown here or held under another chain: dropped, the sender not blamed
	VerdictBatches      uint64 // records of this member's verdicts signed together (RecVerdicts, Config.LocalAccusations)
	VerdictsAsked       uint64 // verdicts asked of a neighbour after one declarer's went unseconded (RecVerdictWant)
	VerdictsAnswered    uint64 // this member's verdicts sent in answer to asks
	VerdictWantsRefused uint64 // asks from members not known alive (or not admitted), unanswered
	VerdictWantsLimited uint64 // asks over CorrectionsPerTick a tick, unanswered
	VerdictsDirect      uint64 // batches of verdicts applied unchecked: they came from their declarer (Config.DirectVerdicts)
	AnswersSent         uint64 // suspicions of this member answered to the accuser alone, not refuted to the group (Config.AnswerAccusers)
	AnswersFellBack     uint64 // suspicions refuted to the group because answering was over a limit (answer.go)
	// AnswersFellBackRepeated, AnswersFellBackLate,
	// AnswersFellBackReaccused, AnswersFellBackCrowd and
	// AnswersFellBackBudget split AnswersFellBack by the limit reached: a
	// reminder of a suspicion answered maxAnswersPerAccuser times already,
	// or one answered before whose accuser's timer has lastCall left; a new
	// suspicion by an accuser whose maxSuspicionsAnswered suspicions were
	// answered at this incarnation already; more than maxAnswered accusers
	// at one incarnation; or CorrectionsPerTick answers in this tick, for
	// a suspicion that may not wait for the next reminder.
	AnswersFellBackLate      uint64
	AnswersFellBackReaccused uint64
	AnswersFellBackRepeated  uint64
	AnswersFellBackCrowd     uint64
	AnswersFellBackBudget    uint64
	AnswersResuspected       uint64 // new suspicions from accusers answered before at the same incarnation (answered, or left for the reminder)
	AnswersDeferred          uint64 // suspicions left for the accuser's next reminder: CorrectionsPerTick answers sent in the tick (answerLater)
	AnswersAccepted          uint64 // this member's suspicions ended by the suspect's answer
	AnswersStale             uint64 // answers about members not held suspect at that incarnation, or with a verdict held: ignored
	AnswersRefused           uint64 // answers not from the member they name (or without LocalAccusations): ignored
	SignaturesChecked        uint64 // signatures of alive, leave, suspect and dead records checked (authenticated mode)
	RelaysServed             uint64 // ping-reqs served for others
	RelaysDropped            uint64 // ping-reqs refused by MaxPendingRelays
	RelaysNotNeighbor        uint64 // ping-reqs for a target not a neighbour, refused with a nack (Config.Neighbors; probe.go refuseRelay)
	GossipsSent              uint64 // dedicated gossip frames
	PushPullsSent            uint64 // full-state exchanges initiated (joins included)
	JoinSyncs                uint64 // follow-up exchanges after joining (part of PushPullsSent)
	ViewSyncs                uint64 // digest exchanges started because a prober's view sum differed twice (view_sum.go; part of PushPullsSent)
	ViewSyncsLimited         uint64 // of those due, skipped: one had started within PushPullInterval/4
	ViewSumsRefused          uint64 // view sums ignored: the prober is not a live (admitted) member this one knows
	StateBytesSent           uint64 // bytes of full-state frames sent (requests and replies)
	PushPullsIn              uint64 // full-state records received
	DigestsSent              uint64 // push-pulls started with a digest (part of PushPullsSent; digest_sync.go)
	DigestsIn                uint64 // digests received
	WantsUnsolicited         uint64 // wants dropped: no digest of this member's to their sender within digestWantTicks
	StateAnswersLimited      uint64 // state requests not answered: the same member was answered within StateAnswerGap (answer_limit.go)
	Reconnects               uint64 // exchanges with members believed failed
	JoinAttempts             uint64
	UpdatesSent              uint64 // updates piggybacked (each transmission counts)
	UpdatesQueued            uint64 // updates put on the dissemination queue
	UpdatesDropped           uint64 // queued updates dropped by MaxQueuedUpdates
	UpdatesExpired           uint64 // queued updates whose lifetime ended before λ·log n sends (Config.ReliableLinks)
	UpdatesHeardBack         uint64 // destinations a queued update skips because they sent it to this member (Config.ReliableLinks)
	// UpdatesSentAlive, UpdatesSentBump and UpdatesSentVerdicts split
	// UpdatesSent: alive updates (joins, refutations, metadata), refutations
	// by hash chain (Config.AliveChains) and verdict batches
	// (Config.BatchVerdicts); the rest are suspicions, deaths and leaves.
	UpdatesSentAlive, UpdatesSentBump, UpdatesSentVerdicts uint64

	Suspicions           uint64 // suspicions this member raised itself
	Unreachable          uint64 // of which: on the owner's report (ReportUnreachable)
	UnreachableDropped   uint64 // members reported unreachable dropped unprobed: more than 16 waited
	DuplicateAccusations uint64 // suspicions that could change nothing (accuser counted, or confirmations complete): not verified
	Confirmations        uint64 // independent suspicions that shortened a timeout
	Refutations          uint64 // times this member refuted a suspicion or death of itself
	Declared             uint64 // members this member declared dead on its own timer
	Stale                uint64 // updates ignored as older than the known state
	Corrections          uint64 // newer alive updates sent straight back to relayers of stale accusations
	CorrectionsDropped   uint64 // corrections not sent because of CorrectionsPerTick
	Reminders            uint64 // suspicions repeated to the suspect itself

	DecodeErrors   uint64 // membership records that did not decode
	UnknownRecords uint64 // membership record types this version does not know
	BadSignatures  uint64 // alive/leave updates and accusations dropped by the Verifier
	// Authenticated mode (Config.Verifier):
	ForgedAccusations   uint64 // accusations of this member at an incarnation it never signed
	UnprovenAccusations uint64 // accusations of another member above its highest signed incarnation known here
	DeadHeldAsSuspicion uint64 // dead records from a single accuser taken as a suspicion, not a verdict
	SpoofedAcks         uint64 // acks and nacks from a peer the probe or relay did not address
	RelaysRefused       uint64 // ping-reqs refused: per-requester cap, or a target not known as a member
	SignErrors          uint64 // own updates the Signer failed to sign (sent unsigned)
	NotAdmitted         uint64 // records refused by Config.Admit or sent by a peer it did not admit
	MetaTooLarge        uint64 // updates dropped for metadata above MaxMetaSize
	MembersRefused      uint64 // newcomers refused because MaxMembers was reached
	TombstonesReaped    uint64 // tombstones forgotten after TombstoneTicks
	TombstonesEvicted   uint64 // tombstones forgotten early because MaxMembers was reached
	// A sampled member list (Config.MemberSample, sample.go):
	SampleSkipped uint64 // newcomers neither kept nor passed on
	SampleEvicted uint64 // sampled members forgotten to make room
	SampleGhosts  uint64 // entries made for accused members not in the sample
	// SampleGhostsStale: accusations about a forgotten member older than
	// the incarnation it was forgotten at (no ghost; also counted Stale)
	SampleGhostsStale uint64
	// SampleForgottenDropped: forgotten members whose incarnation was no
	// longer remembered, to stay within MemberSample entries
	SampleForgottenDropped uint64
	// SampleIntroductions: own alives sent to new neighbours (NeighborUp)
	SampleIntroductions uint64
	// SampleNeighborAsks: state requests to neighbours not in the list
	SampleNeighborAsks uint64
}
