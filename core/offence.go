package core

import "fmt"

// Offence is a kind of misbehaviour that the engines can attribute to the
// peer that sent a frame (never to a message's origin or an accused member,
// which the sender may only be relaying). An adapter turns offences into a
// peer score (in the spirit of GossipSub v1.1's P4 invalid-message and P7
// behaviour penalties): it ignores and disconnects a peer whose score falls
// below a threshold, and counts every penalty by reason.
type Offence uint8

// Offences. Each names something an honest peer running this code never
// sends; lag, loss and reordering are not offences.
const (
	// OffenceMalformed: a frame or record that does not decode.
	OffenceMalformed Offence = iota + 1
	// OffenceInvalidMessage: a message the Validator rejected (bad
	// signature, outside the replay window, wrong group).
	OffenceInvalidMessage
	// OffenceBadSignature: a membership update or accusation whose
	// signature does not verify.
	OffenceBadSignature
	// OffenceForgedAccusation: an accusation of this member at an
	// incarnation it never signed.
	OffenceForgedAccusation
	// OffenceFlood: more of something (new origins, relay requests, …)
	// than the per-peer budget admits.
	OffenceFlood
	// OffenceRefutedAccusation: an accusation this member refuted with its
	// own signed alive; an honest peer makes a few, a hostile one many.
	OffenceRefutedAccusation
	// OffenceUnknownOrigin: a message whose origin the Validator still did
	// not know Config.HoldUnknownTicks after it arrived (unknown_origin.go);
	// the adapter decides whether that proves anything.
	OffenceUnknownOrigin
	offenceCount
)

// NumOffences is one more than the largest Offence value, for tables
// indexed by offence.
const NumOffences = int(offenceCount)

func (o Offence) String() string {
	switch o {
	case OffenceMalformed:
		return "malformed"
	case OffenceInvalidMessage:
		return "invalid_message"
	case OffenceBadSignature:
		return "bad_signature"
	case OffenceForgedAccusation:
		return "forged_accusation"
	case OffenceFlood:
		return "flood"
	case OffenceRefutedAccusation:
		return "refuted_accusation"
	case OffenceUnknownOrigin:
		return "unknown_origin"
	}
	return fmt.Sprintf("Offence(%d)", uint8(o))
}

// Penalizer receives the offences an engine attributes to peers. Penalize
// is called synchronously from inside Step or Tick and must not call back
// into the engine. Optional (Config.Penalizer).
type Penalizer interface {
	Penalize(from NodeID, o Offence)
}

// PenalizerFunc adapts a function to Penalizer.
type PenalizerFunc func(from NodeID, o Offence)

// Penalize implements Penalizer.
func (f PenalizerFunc) Penalize(from NodeID, o Offence) { f(from, o) }
