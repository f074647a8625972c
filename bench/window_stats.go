package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// The measurement window's own counters (-stats): close prints Grapevine's
// counters summed over the whole run, formation included, which at N = 1,000
// is four minutes of joins; these are the same kinds of counters, taken at
// the window's start and end, so that what happens while messages flow
// (links lost and remade, streams that could not be opened, suspicions)
// reads apart from formation.

// windowCounterNames are printed in this order.
var windowCounterNames = []string{
	"connections opened (both ends)", "dialled to send gossip", "dialled to send membership", "connections trimmed",
	"neighbours up", "neighbours down", "keepalive failures", "neighbour failures (membership)", "peer downs", "evictions",
	"neighbour requests", "rejected", "request timeouts",
	"frames dropped: no stream", "frames dropped: stream failed", "frames dropped: queue full", "write timeouts",
	"pings", "ping-reqs", "ping-reqs skipped (ran behind)", "relays served", "relays refused (not a neighbour)", "probes failed", "probes answered by frames", "late acks", "suspicions raised", "refutations", "suspicions answered", "of which new suspicions by an accuser answered before", "suspicions left for a reminder", "answers accepted", "answers fell back", "of which repeated", "late", "reaccused", "crowd", "budget", "declared dead", "membership signatures checked",
	"ctrl frames waited > 1 s", "ticks missed", "tick wake-ups", "answer wake-ups", "gap wake-ups", "lag reported (starved)", "lag reports heeded", "probes inconclusive",
	"inbound frames refused memory", "inbound frames throttled", "inbound streams reset (slow frame)", "inbox drops",
	"frames sent (all)", "gossip frames sent", "bodies sent", "keys announced", "keys wanted", "tree acks sent", "pull digests sent",
	"membership frames sent", "of which dedicated gossip", "membership updates sent",
	"of which alive", "of which bump", "of which verdict batches", "overlay frames sent",
}

// livePeers copies the live peers out of the lock: reading a peer's Stats
// waits for its driver.
func (g *grapevineSys) livePeers() []*p2p.Peer {
	g.mu.Lock()
	defer g.mu.Unlock()
	ps := make([]*p2p.Peer, 0, len(g.peers))
	for _, p := range g.peers {
		ps = append(ps, p)
	}
	return ps
}

// windowCounters sums the counters of the live peers.
func (g *grapevineSys) windowCounters() map[string]uint64 {
	return g.sumCounters((*p2p.Peer).Stats)
}

// windowCountersNow sums the counters of the live peers without waiting
// for their drivers (p2p.Peer.StatsNow: every counter as the driver copied
// them, up to a second old, older where a driver runs behind).
func (g *grapevineSys) windowCountersNow() map[string]uint64 {
	return g.sumCounters((*p2p.Peer).StatsNow)
}

func (g *grapevineSys) sumCounters(stats func(*p2p.Peer) p2p.Stats) map[string]uint64 {
	ps := g.livePeers()
	c := make(map[string]uint64, len(windowCounterNames))
	for _, p := range ps {
		for k, v := range windowCounterValues(stats(p)) {
			c[k] += v
		}
	}
	return c
}

// plumLinks sums the live peers' Plumtree links, eager and lazy.
func (g *grapevineSys) plumLinks() (eager, lazy, peers int) {
	ps := g.livePeers()
	for _, p := range ps {
		st := p.Stats()
		eager += st.PlumEager
		lazy += st.PlumLazy
	}
	return eager, lazy, len(ps)
}

// windowCounterValues is one peer's value of each of windowCounterNames
// (TestWindowCounterNames checks that the two lists agree).
func windowCounterValues(s p2p.Stats) map[string]uint64 {
	return map[string]uint64{
		"connections opened (both ends)": s.ConnsOpened, "connections trimmed": s.ConnsTrimmed,
		"dialled to send gossip": s.SendDials.Gossip, "dialled to send membership": s.SendDials.Membership,
		"pings": s.Membership.PingsSent, "ping-reqs": s.Membership.PingReqsSent, "ping-reqs skipped (ran behind)": s.Membership.PingReqsSkipped, "relays served": s.Membership.RelaysServed,
		"relays refused (not a neighbour)": s.Membership.RelaysNotNeighbor,
		"probes failed":                    s.Membership.ProbesFailed, "late acks": s.Membership.LateAcks,
		"probes answered by frames": s.Membership.ProbesHeard, "membership signatures checked": s.Membership.SignaturesChecked,
		"neighbours up": s.Overlay.NeighborUp, "neighbours down": s.Overlay.NeighborDown,
		"keepalive failures": s.Overlay.KeepaliveFailures, "neighbour failures (membership)": s.Overlay.Failures,
		"peer downs": s.Overlay.PeerDowns, "evictions": s.Overlay.Evictions,
		"neighbour requests": s.Overlay.NeighborRequests, "rejected": s.Overlay.NeighborRejected,
		"request timeouts":          s.Overlay.NeighborTimeouts,
		"frames dropped: no stream": s.QueueDroppedBy.NoStream, "frames dropped: stream failed": s.QueueDroppedBy.Failed,
		"frames dropped: queue full": s.QueueDroppedBy.Full, "write timeouts": s.WriteTimeouts,
		"suspicions raised": s.Membership.Suspicions, "refutations": s.Membership.Refutations,
		"suspicions answered": s.Membership.AnswersSent, "answers accepted": s.Membership.AnswersAccepted,
		"answers fell back": s.Membership.AnswersFellBack,
		"of which repeated": s.Membership.AnswersFellBackRepeated, "late": s.Membership.AnswersFellBackLate,
		"reaccused": s.Membership.AnswersFellBackReaccused, "crowd": s.Membership.AnswersFellBackCrowd,
		"budget": s.Membership.AnswersFellBackBudget, "of which new suspicions by an accuser answered before": s.Membership.AnswersResuspected,
		"suspicions left for a reminder": s.Membership.AnswersDeferred,
		"declared dead":                  s.Membership.Declared,
		"ctrl frames waited > 1 s":       s.Lag.CtrlWaitOver1s, "ticks missed": s.Lag.TicksLate, "tick wake-ups": s.Ticks.Woken, "answer wake-ups": s.AnswerWakes, "gap wake-ups": s.GapWakes,
		"lag reported (starved)": s.Lag.Starved, "lag reports heeded": s.Membership.LagReports, "probes inconclusive": s.Membership.ProbesInconclusive,
		"inbound frames refused memory": s.Inbound.NoMemory, "inbound frames throttled": s.Inbound.Throttled,
		"inbound streams reset (slow frame)": s.Inbound.SlowFrame, "inbox drops": s.InDropped,
		"frames sent (all)": s.FramesSent, "gossip frames sent": s.Engine.FramesSent, "bodies sent": s.Engine.MessagesSent,
		"keys announced": s.Engine.IHavesSent, "keys wanted": s.Engine.IWantsSent, "tree acks sent": s.TreeAck.AcksSent,
		"pull digests sent":      s.Engine.DigestsSent,
		"membership frames sent": s.Membership.FramesSent, "of which dedicated gossip": s.Membership.GossipsSent,
		"membership updates sent": s.Membership.UpdatesSent, "overlay frames sent": s.Overlay.FramesSent,
		"of which alive": s.Membership.UpdatesSentAlive, "of which bump": s.Membership.UpdatesSentBump,
		"of which verdict batches": s.Membership.UpdatesSentVerdicts,
	}
}

// printWindowCounters prints what changed between two windowCounters.
func printWindowCounters(before, after map[string]uint64) {
	printCounters("grapevine in the measurement window (live peers, sums):", before, after)
}

// printCounters prints the differences of windowCounterNames under title.
func printCounters(title string, before, after map[string]uint64) {
	var b strings.Builder
	b.WriteString(title)
	for i, k := range windowCounterNames {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s %d", k, after[k]-before[k])
	}
	fmt.Fprintln(os.Stderr, b.String())
}

// timeline (-timeline) prints, every second of the first measurement window,
// the process's load and what the live Grapevine peers sent in that second:
// the order in which a window's counters rise shows what tips it over. The
// counters are the copies the drivers make once a second of ticks
// (p2p.Peer.StatsNow), so a line shows what the drivers did up to a second
// before it, later where they run behind; reading them through the drivers
// stretched the samples to 13-29 s in a window that had tipped over.
var timeline bool

// timelineCounters are the counters a timeline line shows, by their
// windowCounterNames name, with a short label.
var timelineCounters = []struct{ name, label string }{
	{"frames sent (all)", "frames"}, {"bodies sent", "bodies"}, {"keys announced", "announced"},
	{"keys wanted", "wanted"}, {"pull digests sent", "digests"}, {"membership frames sent", "membership"},
	{"pings", "pings"}, {"ping-reqs", "ping-reqs"}, {"late acks", "late acks"},
	{"suspicions raised", "suspicions"}, {"membership updates sent", "updates"},
	{"ctrl frames waited > 1 s", "ctrl > 1 s"}, {"ticks missed", "ticks missed"}, {"lag reported (starved)", "starved"},
}

// startTimeline starts the timeline of the first window of a Grapevine
// run (with -timeline); the returned function stops it.
func startTimeline(sys system) (stop func()) {
	g, ok := sys.(*grapevineSys)
	if !timeline || !ok {
		return func() {}
	}
	timeline = false // the first window only
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t0 := time.Now()
		prev, cpu0, at, m0, s0 := g.windowCountersNow(), cpuTime(), time.Now(), readMachineCPU(), readSchedLatencies()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			cur, cpu, now, m, sl := g.windowCountersNow(), cpuTime(), time.Now(), readMachineCPU(), readSchedLatencies()
			var b strings.Builder
			fmt.Fprintf(&b, "timeline %3.0f s: %.2f cores", now.Sub(t0).Seconds(), float64(cpu-cpu0)/float64(now.Sub(at)))
			for _, c := range timelineCounters {
				fmt.Fprintf(&b, ", %s %d", c.label, cur[c.name]-prev[c.name])
			}
			fmt.Fprintf(&b, "; %s; %s", describeMachine(m0, m, cpu-cpu0, now.Sub(at)), describeSchedLatencies(s0, sl))
			fmt.Fprintln(os.Stderr, b.String())
			prev, cpu0, at, m0, s0 = cur, cpu, now, m, sl
		}
	}()
	return func() { close(done); <-finished }
}
