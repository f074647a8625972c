package main

import (
	"math"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestShapeOf: a path a-b-c-d and a peer cut off from it.
func TestShapeOf(t *testing.T) {
	a, b, c, d, e, gone := peer.ID("a"), peer.ID("b"), peer.ID("c"), peer.ID("d"), peer.ID("e"), peer.ID("gone")
	sh := shapeOf(map[peer.ID][]peer.ID{a: {b}, b: {a, c}, c: {b, d}, d: {c, gone}, e: {gone}})
	// From a: 1+2+3, b: 1+1+2, c: 2+1+1, d: 3+2+1 over 12 pairs; e reaches nobody.
	if math.Abs(sh.meanHops-20.0/12) > 1e-9 || sh.maxHops != 3 {
		t.Errorf("hops mean %.3f max %d, want 1.667 and 3", sh.meanHops, sh.maxHops)
	}
	if sh.unreached != 4+4 { // each of a-d misses e, e misses a-d
		t.Errorf("pairs with no path %d, want 8", sh.unreached)
	}
	if sh.degMin != 1 || sh.degMed != 2 || sh.degMax != 2 {
		t.Errorf("degrees %d/%d/%d, want 1/2/2", sh.degMin, sh.degMed, sh.degMax)
	}
}
