# Grapevine's build. `make demo` and `make test` are the two commands a
# newcomer runs (see README.md); everything else is for developers.
SHELL := /bin/bash
GO    ?= go
# Fuzz time per target for `make fuzz`.
FUZZTIME ?= 30s

# The pure packages: no I/O, goroutines, clock or global randomness.
PURE := ./core/... ./membership/...

.PHONY: test demo sim-demo fmt-check tidy-check vet wasm-check unit fuzz browser browser-serve npm-pack \
        experiments experiments-gossip experiments-membership experiments-membership-scale \
        experiments-membership-loss experiments-baselines \
        attack bench-scale bench-stack-100k bench-p2p bench-p2p-quick bench-p2p-500 bench-p2p-tcp50 bench-swim bench-swim-quick bench-swim-mult bench-browser chromium

## demo: 30 real libp2p peers on loopback, 10 % loss, one crash; prints where the report and plots are.
demo:
	$(GO) run ./cmd/peer testnet --scenario testnet/scenarios/demo.yaml --out testnet-reports/demo

## sim-demo: one message through 10,000 simulated nodes, table and infection curve.
sim-demo:
	$(GO) run ./testnet/cmd/sim -n 10000

## test: formatting, vet, the wasm builds, and every test (race detector on); installs Chromium if missing.
test: fmt-check tidy-check vet wasm-check chromium unit

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi; \
	echo "gofmt: clean"

## tidy-check: go.mod and go.sum of both modules are what `go mod tidy` makes them (direct requirements not marked indirect).
tidy-check:
	$(GO) mod tidy -diff
	cd bench && $(GO) mod tidy -diff
	@echo "go.mod: tidy"

vet:
	$(GO) vet ./...
	cd bench && $(GO) vet ./...

## wasm-check: the pure engines must build for browsers, and so must the browser peer.
wasm-check:
	GOOS=js GOARCH=wasm $(GO) build $(PURE) . ./p2p/ ./wasm/...
	GOOS=js GOARCH=wasm $(GO) build -o /dev/null ./wasm/cmd/grapevine
	@echo "wasm builds: ok"

## chromium: the browser tests drive Debian's Chromium (installed once, with apt-get).
chromium:
	@bash scripts/install-chromium.sh || echo "Chromium could not be installed: the browser test will skip and say so"

unit:
	$(GO) test -race -count=1 -timeout 14m ./...
	cd bench && $(GO) test -count=1 -timeout 5m ./...

## fuzz: run every fuzz target for FUZZTIME each (the seed corpora run in `make test`).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done

## browser: build the wasm peer into build/wasm; browser-serve: serve the example page with native peers.
browser:
	bash scripts/build-wasm.sh build/wasm

browser-serve: browser
	$(GO) run ./examples/browser

## npm-pack: the browser peer as an npm package tarball in build/npm (wasm/npm/; needs npm).
npm-pack:
	bash scripts/npm-pack.sh build/npm

## experiments: regenerate docs/experiments/*.md (theory against measurement, in the simulator).
experiments: experiments-gossip experiments-membership experiments-baselines

experiments-gossip:
	$(GO) run ./testnet/cmd/experiments

## experiments-membership: all of issue 3's experiments (4+ CPU-hours; about 13 GB at n = 10,000).
experiments-membership:
	$(GO) run ./testnet/cmd/swimexp -j 2 -mem 13

## experiments-membership-scale: detection time and load up to n = 10,000 only.
experiments-membership-scale:
	$(GO) run ./testnet/cmd/swimexp -only detect,load -j 2 -mem 13

## experiments-membership-loss: false positives at n = 1,000 (resumes from finished runs).
experiments-membership-loss:
	$(GO) run ./testnet/cmd/swimexp -only loss -j 2 -loss-window 1h -loss-windows 20:15m,30:5m

experiments-baselines:
	$(GO) run ./testnet/cmd/baselines

## attack: the attack suite's longer runs: hostile members in the simulator (membership alone, then every protocol attack on the whole stack, 10 seeds of 20 s virtual time each), then hostile libp2p hosts (transport attacks with 1 and 8 attackers, then the protocol attacks of a hostile member, 20 s each, every attack in turn).
attack:
	$(GO) test -count=1 -v -run 'TestAttack|TestAuthenticated' ./membership/
	$(GO) test -count=1 -v -timeout 30m -run 'TestSimAttacks|TestAttacks|TestProtocolAttacks' ./testnet/attack/ -attack.long -attack.duration 20s

## bench-browser: page-to-page and page-to-native latency in headless Chromium.
bench-browser:
	GRAPEVINE_BROWSER_BENCH=1 $(GO) test -count=1 -v -run TestBrowserLatencyReport ./wasm/browsertest

## bench-scale: one message through 10^5 and 10^6 simulated nodes (wall time, CPU, peak RSS).
bench-scale:
	$(GO) build -o build/sim ./testnet/cmd/sim
	build/sim -n 100000 -quiet
	build/sim -n 1000000 -quiet

## bench-stack-100k: the whole stack (overlay, SWIM over sampled member lists, Plumtree) on the simulator at
## n = 100,000: joins, one silent crash, 20 messages; peak RSS (about an hour on 2 cores; docs/overlay.md).
bench-stack-100k:
	$(GO) build -o build/stackexp ./testnet/cmd/stackexp
	/usr/bin/time -v build/stackexp -n 100000 -sample 128 -crash 0.00001 -join-rate 200 -msgs 20 -settle 5s -join-limit 2m -progress

# The ladder (docs/benchmarks/ladder.md): Grapevine with its bounded overlay beside GossipSub
# v0.19.0 over QUIC (one UDP socket per host), one N after the other, one table per N, in one
# process per N. GossipSub runs on the shared random degree-8 topology; gossipsub-full (every
# host connected to every other first) is added up to N = 200.
BENCH_P2P_FLAGS ?= -transport quic -overlay -msgs 100 -rate 10 -sizes 256 \
	-scenarios steady,kill,silent,first,first-mesh -runs 3

## bench-p2p-quick: the ladder at N = 20, 50, 200 over QUIC (separate module bench/); the rows
## also go to build/ladder.csv and the per-peer figures against N to build/ladder-img/*.png.
bench-p2p-quick:
	cd bench && $(GO) build -o ../build/bench-p2p .
	rm -f build/ladder.csv
	for n in 20 50 200; do build/bench-p2p -n $$n -systems grapevine,gossipsub,gossipsub-full -csv build/ladder.csv $(BENCH_P2P_FLAGS) || exit 1; echo; done
	cd bench && $(GO) run ./cmd/ladderplot -csv ../build/ladder.csv -out ../build/ladder-img

## bench-p2p: the ladder at N = 20, 50, 200, 500, 1000 over QUIC (hours on a small machine). From
## N = 500 on, one message a second (30 of them): ten a second is more than two cores carry for 500
## peers of either system (5,000 deliveries a second), and forming the group takes minutes. Both
## systems get the formation's garbage collected and three unrecorded messages before the window
## (-gcbefore -warmup 3): the window measures a steady stream, not the group's first message
## (docs/benchmarks/ladder.md, session 38).
BENCH_P2P_LARGE ?= -msgs 30 -rate 1 -readywait 8m -gcbefore -warmup 3
bench-p2p:
	cd bench && $(GO) build -o ../build/bench-p2p .
	rm -f build/ladder.csv
	for n in 20 50 200; do build/bench-p2p -n $$n -systems grapevine,gossipsub,gossipsub-full -csv build/ladder.csv $(BENCH_P2P_FLAGS) || exit 1; echo; done
	for n in 500 1000; do build/bench-p2p -n $$n -systems grapevine,gossipsub -csv build/ladder.csv $(BENCH_P2P_FLAGS) $(BENCH_P2P_LARGE) || exit 1; echo; done
	cd bench && $(GO) run ./cmd/ladderplot -csv ../build/ladder.csv -out ../build/ladder-img

## bench-p2p-500: N = 500, both systems, steady at one message a second, one run (about 10 minutes;
## docs/benchmarks/ladder.md, session 20). GOGC=400 make bench-p2p-500 runs the collector four
## times less often, for both systems: with 500 peers in one process a collection stops every peer
## at once.
bench-p2p-500:
	cd bench && $(GO) build -o ../build/bench-p2p .
	build/bench-p2p -transport quic -overlay -n 500 -msgs 30 -rate 1 -sizes 256 -runs 1 -scenarios steady \
		-systems grapevine,gossipsub -readywait 8m -stats

## bench-p2p-tcp50: the earlier reference, 50 hosts over TCP (docs/benchmarks/p2p.md; about 20 minutes).
bench-p2p-tcp50:
	cd bench && $(GO) run . -transport tcp -n 50 -msgs 200 -rate 20 -sizes 256,16384 -scenarios steady,kill,first -runs 5 -stats

## bench-swim: Grapevine's SWIM beside hashicorp/memberlist v0.7.0 (about 70 minutes).
bench-swim:
	cd bench && $(GO) run ./memberlist -n 20,50 -loss 0,0.1,0.3 -window 5m -crash-every 15s

## bench-swim-quick: the same with 2-minute windows (about 45 minutes).
bench-swim-quick:
	cd bench && $(GO) run ./memberlist -n 20,50 -loss 0,0.1,0.3 -window 2m -crash-every 15s

## bench-swim-mult: memberlist also at SuspicionMult 1 and 2, bracketing Grapevine's 1.5 (2-minute windows).
bench-swim-mult:
	cd bench && $(GO) run ./memberlist -n 20,50 -loss 0,0.1 -window 2m -crash-every 15s \
		-systems grapevine,memberlist,memberlist-mult1,memberlist-mult2
