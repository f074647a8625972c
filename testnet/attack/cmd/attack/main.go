// Command attack runs the protocol attacks of issue 12 on real libp2p
// hosts (package testnet/attack) and prints what each cost the honest
// peers:
//
//	go run ./testnet/attack/cmd/attack -scenario forged-dead,publish-spam -duration 20s
//
// Every run starts its own group on loopback: honest peers (peer 1
// publishing at -rate) and one hostile member.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/grapevine-p2p/grapevine/testnet/attack"
)

func main() {
	var names []string
	for _, k := range attack.ProtoKinds {
		names = append(names, string(k))
	}
	scenario := flag.String("scenario", "all", "attacks to run, comma-separated: all or "+strings.Join(names, ", ")+
		", or "+string(attack.Quiet)+" (the baseline: the hostile member does nothing)")
	duration := flag.Duration("duration", 20*time.Second, "length of each attack")
	honest := flag.Int("honest", 4, "honest peers")
	rate := flag.Int("rate", 50, "messages a second the honest publisher sends (the spammer sends 10×)")
	size := flag.Int("size", 256, "payload bytes")
	origins := flag.Int("origins", 10000, "invented origins of the origin flood")
	spamLimit := flag.Float64("spam-limit", 0, "honest peers' per-origin publish rate limit (messages/s, burst of one second; 0: p2p's default of 200/s with bursts of 1,000; negative: none)")
	budget := flag.Int("origin-budget", 0, "honest peers' per-peer budget of new origins (0: none, the default)")
	flag.Parse()

	kinds := attack.ProtoKinds
	if *scenario != "all" {
		kinds = nil
		for _, s := range strings.Split(*scenario, ",") {
			kinds = append(kinds, attack.ProtoKind(strings.TrimSpace(s)))
		}
	}
	failed := false
	for _, k := range kinds {
		known := k == attack.Quiet
		for _, n := range attack.ProtoKinds {
			known = known || n == k
		}
		if !known {
			fmt.Fprintf(os.Stderr, "unknown scenario %q (want %s)\n", k, strings.Join(names, ", "))
			os.Exit(2)
		}
		r, err := attack.RunProtocol(attack.ProtoConfig{Kind: k, Honest: *honest, Duration: *duration, Rate: *rate,
			Size: *size, Origins: *origins, SpamLimit: *spamLimit, OriginBudget: *budget})
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", k, err)
			failed = true
			continue
		}
		fmt.Println(r)
	}
	if failed {
		os.Exit(1)
	}
}
