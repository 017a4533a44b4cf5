# Care360 Gateway. `make help` lists the targets.
GO      ?= go
BIN     := bin/care360
PKGS    := ./...

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/care360
	$(GO) build -o $(BIN) ./cmd/care360

.PHONY: run
run: build ## start everything: local Postgres in .data/pg, SMSC simulator, demo data, gateway
	./$(BIN) dev

.PHONY: test
test: ## go vet + every test with -race, against a real Postgres started here
	$(GO) vet $(PKGS)
	$(GO) run ./internal/cmd/withpg -- $(GO) test -race -count=1 $(PKGS)
	@# Tests that measure a real process's memory cannot run under the race
	@# detector (it multiplies memory): they run here, without it.
	$(GO) run ./internal/cmd/withpg -- $(GO) test -count=1 -run 'MemoryBounded' ./web/
	@# The Kubernetes manifests, decoded strictly into the Kubernetes types:
	@# a module of its own, so the gateway's go.mod never carries them.
	cd deploy && $(GO) vet ./... && $(GO) test -count=1 ./...

.PHONY: bench
bench: build ## dialogue steps/s and latency over SMPP, next to pgbench's limit (durable Postgres)
	$(GO) run ./internal/cmd/withpg -durable -- $(GO) run ./internal/cmd/bench

.PHONY: faults
faults: ## failure drills on real processes: kill -9, Postgres restart and promotion, SMSC dropped, frozen, throttling
	$(GO) run ./internal/cmd/faults

.PHONY: lint
lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)
	cd deploy && $(GO) vet ./...

# package:target; `go test -fuzz` runs one target at a time.
FUZZ_TARGETS := ./gateway:FuzzHandleDeliver ./gateway:FuzzDecodeText ./gateway/smsc:FuzzLink ./gateway/smsc:FuzzText \
	./web:FuzzAfricasTalking ./web:FuzzCSVReader ./web:FuzzSplitCSVLine
FUZZTIME ?= 60s

.PHONY: fuzz
fuzz: ## fuzz the PDU and text decoders, the HTTP USSD adapter and the CSV readers, FUZZTIME (60s) each
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t for $(FUZZTIME)"; \
		$(GO) run ./internal/cmd/withpg -- $(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

.PHONY: clean
clean: ## remove the binary (keeps .data: `rm -rf .data` forgets the dev database)
	rm -rf bin
