// Command attack runs the protocol attacks of issue 12 on real libp2p
// hosts (package testnet/attack) and prints what each cost the honest
// peers:
//
//	go run ./testnet/attack/cmd/attack -scenario forged-dead,publish-spam -duration 20s
//
// Every run starts its own group on loopback: honest peers (peer 1
// publishing at -rate) and one hostile member. With -sim the same attacks
// run in the deterministic simulator instead (8 honest nodes by default,
// virtual time), one run per seed:
//
//	go run ./testnet/attack/cmd/attack -sim -seeds 1-10 -scenario all
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
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
	simulate := flag.Bool("sim", false, "run in the deterministic simulator (virtual time; -honest defaults to 8 there)")
	seeds := flag.String("seeds", "1", "with -sim: seeds to run, a number or a range such as 1-10")
	loss := flag.Float64("loss", 0, "with -sim: frame loss of every link")
	flag.Parse()
	if *simulate && !flagSet("honest") {
		*honest = 8
	}

	kinds := attack.ProtoKinds
	if *scenario != "all" {
		kinds = nil
		for _, s := range strings.Split(*scenario, ",") {
			kinds = append(kinds, attack.ProtoKind(strings.TrimSpace(s)))
		}
	}
	failed := false
	var summaries []attack.SimSummary
	for _, k := range kinds {
		known := k == attack.Quiet
		for _, n := range attack.ProtoKinds {
			known = known || n == k
		}
		if !known {
			fmt.Fprintf(os.Stderr, "unknown scenario %q (want %s)\n", k, strings.Join(names, ", "))
			os.Exit(2)
		}
		if *simulate {
			lo, hi, err := seedRange(*seeds)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			var runs []attack.SimResult
			for seed := lo; seed <= hi; seed++ {
				r, err := attack.RunSim(attack.SimConfig{Kind: k, Honest: *honest, Seed: seed, Duration: *duration,
					Rate: *rate, Size: *size, Origins: *origins, Loss: *loss})
				if err != nil {
					fmt.Fprintf(os.Stderr, "%s: %v\n", k, err)
					failed = true
					continue
				}
				fmt.Println(r)
				runs = append(runs, r)
			}
			if len(runs) > 1 {
				summaries = append(summaries, attack.SummarizeSim(runs))
			}
			continue
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
	if len(summaries) > 0 {
		fmt.Println("\nover the seeds:")
		for _, s := range summaries {
			fmt.Println(s)
		}
	}
	if failed {
		os.Exit(1)
	}
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// seedRange parses "7" or "1-10".
func seedRange(s string) (uint64, uint64, error) {
	lo, hi, found := strings.Cut(s, "-")
	a, err := strconv.ParseUint(lo, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("-seeds %q: %v", s, err)
	}
	if !found {
		return a, a, nil
	}
	b, err := strconv.ParseUint(hi, 10, 64)
	if err != nil || b < a {
		return 0, 0, fmt.Errorf("-seeds %q: want a number or a range lo-hi", s)
	}
	return a, b, nil
}
