package sim

import (
	"sort"
	"strconv"

	"github.com/grapevine-p2p/grapevine/core"
)

// MaxNodes is the largest population a Network accepts.
const MaxNodes = 1 << 30

// ID returns the core.NodeID of node i: its index in decimal ("0", "17",
// "999999"), the most compact printable form (at most 7 bytes below 10^7
// nodes), so simulated frames are as small as real ones with short IDs.
func ID(i int) core.NodeID { return core.NodeID(strconv.Itoa(i)) }

// Index returns the node index of id, and false if id is not the decimal
// form ID produces (no sign, no leading zeros, below MaxNodes).
func Index(id core.NodeID) (int, bool) {
	s := string(id)
	if len(s) == 0 || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if v >= MaxNodes {
		return 0, false
	}
	return v, true
}

// IDs returns the IDs of nodes 0..n-1 in one shared slice, built once per
// population (samplers share it rather than copying it per node).
func IDs(n int) []core.NodeID {
	ids := make([]core.NodeID, n)
	for i := range ids {
		ids[i] = ID(i)
	}
	return ids
}

func sortInts(s []int) { sort.Ints(s) }
