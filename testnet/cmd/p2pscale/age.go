package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/grapevine-p2p/grapevine/p2p"
)

// ageAndKill lets a formed group idle for age, then kills (closes) a
// quarter of the peers and reports, 60 s later, how full the survivors'
// active views are and why frames could not be sent: whether a group older
// than the peerstore's address TTLs (15 minutes) can still replace lost
// neighbours with members it had not been connected to.
func ageAndKill(peers []*p2p.Peer, age time.Duration, report func()) {
	start := time.Now()
	for time.Since(start) < age {
		time.Sleep(min(time.Minute, age-time.Since(start)))
		fmt.Printf("aged %v: ", time.Since(start).Round(time.Second))
		report()
	}
	kill := len(peers) / 4
	surv := peers[:len(peers)-kill]
	before := noStream(surv)
	for _, p := range peers[len(peers)-kill:] {
		p.Kill()
	}
	fmt.Printf("killed %d of %d peers after %v of idling\n", kill, len(peers), age)
	time.Sleep(60 * time.Second)
	var nb []int
	for _, p := range surv {
		nb = append(nb, len(p.Neighbors()))
	}
	slices.Sort(nb)
	after := noStream(surv)
	fmt.Printf("60 s after the kill: survivors' neighbours min %d median %d max %d; frames dropped for want of a stream %d\n",
		nb[0], nb[len(nb)/2], nb[len(nb)-1], after.n-before.n)
	for e, n := range after.errs {
		fmt.Printf("  last no-stream error at %d survivors: %.200s\n", n, e)
	}
}

type noStreamCount struct {
	n    uint64
	errs map[string]int
}

// noStream sums the frames dropped for want of a stream and groups the
// peers' last such errors, peer IDs and ports masked.
func noStream(peers []*p2p.Peer) noStreamCount {
	c := noStreamCount{errs: map[string]int{}}
	for _, p := range peers {
		s := p.Stats()
		c.n += s.QueueDroppedBy.NoStream
		if s.LastNoStream != "" {
			c.errs[peerIDs.ReplaceAllString(ports.ReplaceAllString(s.LastNoStream, "/udp/P"), "<peer>")]++
		}
	}
	return c
}
