package main

import (
	"testing"
	"time"
)

// TestStackAt100: the whole stack at n = 100 on the simulator, 10 % of the
// nodes crashed silently mid-stream: the group forms, every survivor
// delivers every message once (Deliver panics on a second delivery), every
// survivor holds every victim failed, and no live node is declared failed.
// With sampled member lists of 24 (membership.Config.MemberSample) the
// same holds, "every survivor" being every one that held the victim.
func TestStackAt100(t *testing.T) {
	for _, sample := range []int{0, 24} {
		t.Run(map[int]string{0: "full", 24: "sample"}[sample], func(t *testing.T) { stackAt100(t, sample) })
	}
}

func stackAt100(t *testing.T, sample int) {
	p := params{n: 100, crash: 0.1, joinRate: 25, msgs: 60, rate: 20, size: 64, settle: 5 * time.Second,
		limit: 60 * time.Second, latMin: 2 * time.Millisecond, latMax: 20 * time.Millisecond, seed: 7, sample: sample}
	r := run(p)
	t.Logf("joined %v, delivered %.4f, p99 %v, detected %v, degree %d/%d/%d, contacts %d/%d",
		r.joined, r.delivered, r.p99, r.detected, r.degMin, r.degMed, r.degMax, r.contactMed, r.contactMax)
	if r.joined < 0 {
		t.Fatal("the group did not converge")
	}
	if r.delivered != 1 {
		t.Errorf("survivors delivered %.4f of what they were owed, want all", r.delivered)
	}
	if r.detected < 0 {
		t.Error("not every survivor holds every victim failed within the limit")
	}
	if r.falseFails != 0 {
		t.Errorf("%d false failures", r.falseFails)
	}
	if sample > 0 && (r.listMax > sample+16 || r.memberStats.SampleGhosts == 0) {
		t.Errorf("largest list %d (sample %d), ghost entries %d: want at most sample + 16 neighbours, and ghosts", r.listMax, sample, r.memberStats.SampleGhosts)
	}
	if r.contactMax > 32 {
		t.Errorf("a node sent to %d distinct peers in 10 idle seconds, want at most 32", r.contactMax)
	}
}

// TestNextDue: the whole stack at n = 100 with p2p's profile, authenticated,
// 2 % frame loss and 10 % of the nodes crashed mid-stream: no node sends a
// frame, delivers a message or emits an event in a tick that its NextDue
// said was quiet (p2p's driver would run that tick late), and most ticks
// are quiet (what p2p's driver saves in wake-ups).
func TestNextDue(t *testing.T) {
	p := params{n: 100, crash: 0.1, loss: 0.02, joinRate: 25, msgs: 60, rate: 20, size: 64, settle: 5 * time.Second,
		limit: 60 * time.Second, latMin: 2 * time.Millisecond, latMax: 20 * time.Millisecond, seed: 11, auth: true, nextDue: true}
	r := run(p)
	quiet := float64(r.due.quiet) / float64(max(r.due.ticks, 1))
	t.Logf("delivered %.4f, detected %v; %d of %d node ticks quiet (%.1f %%)", r.delivered, r.detected, r.due.quiet, r.due.ticks, 100*quiet)
	if r.due.violations > 0 {
		t.Errorf("%d ticks acted though NextDue said they were quiet; the first: %s", r.due.violations, r.due.first)
	}
	if r.delivered != 1 || r.detected < 0 || r.falseFails != 0 {
		t.Errorf("delivered %.4f, detected %v, %d false failures: the run itself went wrong", r.delivered, r.detected, r.falseFails)
	}
	if quiet < minQuietShare {
		t.Errorf("%.1f %% of the ticks quiet, want at least %.0f %%", 100*quiet, 100*minQuietShare)
	}
}

// minQuietShare is the least share of quiet ticks TestNextDue accepts
// (measured: see the test's log).
const minQuietShare = 0.3
