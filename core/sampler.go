package core

import "math/rand/v2"

// PeerSampler supplies gossip targets. The membership layer implements it
// over its live member list; StaticSampler serves a fixed list.
type PeerSampler interface {
	// Sample appends up to k distinct peers, chosen uniformly at random
	// from the live members other than this node, to dst.
	Sample(dst []NodeID, k int) []NodeID
	// Size estimates the group size n (this node included).
	Size() int
}

// StaticSampler samples from a fixed list of peers.
type StaticSampler struct {
	Peers []NodeID   // must not contain the owning node
	Rand  *rand.Rand // the source of randomness; required
}

// Sample implements PeerSampler with Floyd's algorithm: k distinct indices
// in O(k) time and no allocation beyond dst.
func (s *StaticSampler) Sample(dst []NodeID, k int) []NodeID {
	return SampleDistinct(dst, k, len(s.Peers), s.Rand, func(i int) NodeID { return s.Peers[i] })
}

// Size implements PeerSampler.
func (s *StaticSampler) Size() int { return len(s.Peers) + 1 }

// PeersVersion implements PeerLister. Peers is fixed, so the version only
// follows its length; replace the sampler rather than editing Peers.
func (s *StaticSampler) PeersVersion() uint64 { return uint64(len(s.Peers)) }

// AppendPeers implements PeerLister.
func (s *StaticSampler) AppendPeers(dst []NodeID) []NodeID { return append(dst, s.Peers...) }

// SampleDistinct appends min(k, n) distinct elements at uniformly random
// indices of a population of n, read through at, to dst. It uses Floyd's
// sampling algorithm, so its cost is O(k²) comparisons for the small k of
// gossip fanouts and independent of n.
func SampleDistinct(dst []NodeID, k, n int, rng *rand.Rand, at func(int) NodeID) []NodeID {
	if k > n {
		k = n
	}
	if k <= 0 {
		return dst
	}
	start := len(dst)
	var idx [16]int
	chosen := idx[:0]
	for j := n - k; j < n; j++ {
		t := rng.IntN(j + 1)
		dup := false
		for _, c := range chosen {
			if c == t {
				dup = true
				break
			}
		}
		if dup {
			t = j
		}
		chosen = append(chosen, t)
	}
	for _, c := range chosen {
		dst = append(dst, at(c))
	}
	// Floyd's algorithm yields a uniform set but not a uniform order; shuffle
	// so that callers taking a prefix get a uniform prefix.
	tail := dst[start:]
	rng.Shuffle(len(tail), func(i, j int) { tail[i], tail[j] = tail[j], tail[i] })
	return dst
}
