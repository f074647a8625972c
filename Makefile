# Grapevine's build. `make demo` and `make test` are the two commands a
# newcomer runs (see README.md); everything else is for developers.
SHELL := /bin/bash
GO    ?= go
# Fuzz time per target for `make fuzz`.
FUZZTIME ?= 30s

PURE := ./core/... ./membership/...

.PHONY: test demo fmt-check vet wasm-check unit fuzz experiments bench-scale tools

## test: formatting, vet, the wasm build of the pure engines, and every test with -race.
test: fmt-check vet wasm-check unit

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi; \
	echo "gofmt: clean"

vet:
	$(GO) vet ./...

## wasm-check: the pure engines must build for browsers from day one.
wasm-check:
	GOOS=js GOARCH=wasm $(GO) build $(PURE)
	@echo "wasm build of core/ and membership/: ok"

unit:
	$(GO) test -race -count=1 -timeout 12m ./...

## fuzz: run every fuzz target for FUZZTIME each (the seed corpora run in `make test`).
fuzz:
	@set -e; for pkg in $$($(GO) list $(PURE)); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; done
