package main

import "github.com/grapevine-p2p/grapevine/p2p"

// overlayOptions returns the p2p options for -overlay and -overlay-budget:
// p2p.WithOverlay turns on the bounded overlay (each peer keeps a bounded
// active view of connections instead of one per member);
// p2p.WithOverlayBudget sets that view's budget (0: the package default).
func overlayOptions(on bool, budget int) []p2p.Option {
	if !on {
		return nil
	}
	opts := []p2p.Option{p2p.WithOverlay(true)}
	if budget > 0 {
		opts = append(opts, p2p.WithOverlayBudget(budget))
	}
	return opts
}
