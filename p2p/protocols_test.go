package p2p

import (
	"testing"

	"github.com/grapevine-p2p/grapevine/core"
	"github.com/grapevine-p2p/grapevine/membership"
)

// recordsFrame builds a frame of one empty-bodied record per type.
func recordsFrame(types ...uint8) []byte {
	f := core.NewFrame(nil)
	for _, t := range types {
		f = core.AppendRecord(f, t, []byte{1})
	}
	return f
}

// TestClassify: a frame goes to the membership stream only if every record
// is a membership record; a malformed frame, or one with any gossip record,
// goes to the gossip stream, whose receiver rejects or steps it whole.
func TestClassify(t *testing.T) {
	gossip := core.RecMembershipFirst - 1
	malformed := append(recordsFrame(membership.RecAlive), membership.RecSuspect, 9, membership.RecPing, 1, 1) // a length beyond the frame
	for _, tc := range []struct {
		name  string
		frame []byte
		kind  kind
	}{
		{"empty", recordsFrame(), kindGossip},
		{"gossip", recordsFrame(gossip), kindGossip},
		{"updates", recordsFrame(membership.RecAlive, membership.RecSuspect), kindMembership},
		{"ping with updates", recordsFrame(membership.RecAlive, membership.RecPing), kindMembership},
		{"last membership type", recordsFrame(core.RecMembershipLast), kindMembership},
		{"gossip and a ping", recordsFrame(membership.RecPing, gossip), kindGossip},
		{"malformed", malformed, kindGossip},
	} {
		if got := classify(tc.frame); got != tc.kind {
			t.Errorf("%s: classify %v, want %v", tc.name, got, tc.kind)
		}
	}
}
