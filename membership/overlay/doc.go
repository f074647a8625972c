// Package overlay is a HyParView membership overlay (Leitão, Pereira,
// Rodrigues, DSN 2007) as a pure, deterministic state machine: bounded
// active views for gossip connections, larger passive views for repair.
// See the full description below the package clause in later revisions.
package overlay
