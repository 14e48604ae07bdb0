# partnerhub — the two commands a user needs are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Static binaries everywhere (scratch images; one compile, not two), and a module proxy that
# never falls back to direct fetches (no other host answers on an air-gapped machine).
export CGO_ENABLED := 0
export GOFLAGS := -buildvcs=false -trimpath
export GOPROXY := $(shell go env GOPROXY | sed 's/,direct$$//')

SERVICES := identity catalog orders subscriptions keys delegatedadmin
# Every Go module of the workspace but e2e, which needs the service images.
UNIT_PKGS := ./gen/... ./pkg/... $(addprefix ./services/,$(addsuffix /...,$(SERVICES))) ./deploy/devstack/... ./bench/...
# Tools are pinned in tools/go.mod (and tools/buf/go.mod) and run with `go tool`; they are not
# part of the workspace, so their dependencies never leak into the services' builds.
TOOL := GOWORK=off go -C tools tool
BUF = $$(GOWORK=off go -C tools/buf tool -n buf)
API_LOCK := proto/api-lock.binpb
export COMPOSE_PROJECT_NAME ?= partnerhub
COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
TEST_TIMEOUT ?= 20m
FUZZTIME ?= 3s

.PHONY: help
help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: run
run: ## build and start the devstack: all six services in one process, SQLite under ./data
	go build -o bin/devstack ./deploy/devstack
	GOWORK=off go -C tools build -o ../bin/grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl
	./bin/devstack --data-dir data

.PHONY: gen
gen: ## regenerate gen/ from proto/ with local plugins
	scripts/gen.sh

.PHONY: lint
lint: ## buf lint (STANDARD) and buf format
	$(BUF) lint
	$(BUF) format --diff --exit-code

.PHONY: breaking
breaking: ## buf breaking (FILE) against the committed API lock
	$(BUF) breaking --against $(API_LOCK)

.PHONY: api-lock
api-lock: ## update the API lock after a deliberate breaking change (say so in the commit)
	$(BUF) build --exclude-source-info -o $(API_LOCK)

.PHONY: check-gen
check-gen: ## fail when gen/ differs from a fresh generation
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	scripts/gen.sh $$tmp; \
	if ! diff -r -q -x go.mod -x go.sum $$tmp/gen gen >/dev/null; then \
	  diff -r -q -x go.mod -x go.sum $$tmp/gen gen || true; \
	  echo "check-gen: gen/ is stale: run 'make gen' and commit the result" >&2; exit 1; fi; \
	echo "check-gen: gen/ matches a fresh generation"

.PHONY: vet
vet: ## go vet every module
	go vet $(UNIT_PKGS) ./e2e/...

.PHONY: lint-go
lint-go: ## staticcheck and golangci-lint (.golangci.yml) over every workspace module
	scripts/lint-go.sh

.PHONY: checks
checks: lint breaking check-gen vet lint-go ## contract and static checks: buf, generated code, go vet, staticcheck, golangci-lint

.PHONY: test
test: ## everything: checks, unit + adapter tests (SQLite, PostgreSQL, Redis), e2e in containers
	@env=$$(scripts/test-env.sh); eval "$$env"; \
	$(MAKE) --no-print-directory checks; \
	go test -count=1 -timeout $(TEST_TIMEOUT) $(UNIT_PKGS); \
	$(MAKE) --no-print-directory fuzz FUZZTIME=20000x; \
	$(MAKE) --no-print-directory images; \
	$(MAKE) --no-print-directory bench-check; \
	go test -count=1 -timeout $(TEST_TIMEOUT) ./e2e/...

.PHONY: fuzz
fuzz: ## every fuzz target (keys, catalog import, IDs, money, ...) for FUZZTIME each (default 3s); corpus in testdata/fuzz
	FUZZTIME="$(FUZZTIME)" scripts/fuzz.sh

.PHONY: test-unit
test-unit: ## unit and adapter tests only (needs Docker for the adapter tests)
	@env=$$(scripts/test-env.sh); eval "$$env"; go test -count=1 -timeout $(TEST_TIMEOUT) $(UNIT_PKGS)

.PHONY: images
images: ## static binaries in dist/ and one scratch image per service (pulls nothing)
	scripts/build-images.sh

.PHONY: up
up: images ## docker-compose stack: Redis, PostgreSQL, six services, health checks
	@env=$$(scripts/test-env.sh); eval "$$env"; $(COMPOSE) up -d; scripts/compose-wait.sh 180

.PHONY: down
down: ## stop the compose stack and remove its volumes
	$(COMPOSE) down -v

.PHONY: bench
bench: ## the performance table (README "Measured"): every figure against the ceiling, written to bench/results/latest.json (about 8 minutes)
	@env=$$(scripts/test-env.sh); eval "$$env"; \
	SKIP_DOCKER=1 scripts/build-images.sh >/dev/null; mkdir -p bench/results; raw=bench/results/latest.txt; \
	go test -run '^$$' -bench '$(BENCH_SUITE)' -benchtime 1x -timeout 30m ./bench/ ./services/subscriptions/internal/app/ | tee $$raw; \
	go test -run '^$$' -bench '$(BENCH_MICRO)' -benchmem ./bench/ ./pkg/tenancy/ ./services/keys/internal/sealing/ | tee -a $$raw; \
	echo; go run ./bench/cmd/benchtable -json bench/results/latest.json < $$raw

# The benchmarks of the table: each measures its whole set of phases in one invocation (-benchtime 1x).
BENCH_SUITE := ^Benchmark(Ceiling|CatalogGetSku|AccessChecks|ListSubscriptions|Orders|OrdersScaling|ServiceMemory|LifecycleSweep)$$
# Per-call benchmarks of the hot paths (token checks, tenancy caches, key sealing and links).
BENCH_MICRO := ^Benchmark(VerifyToken|Authenticate|VerifyTokenFirstSight|CheckAccessCached|CheckAccessCachedParallel|CheckAccessUncached|AccessCached|AccessCachedParallel|RelationshipCached|RelationshipCachedParallel|AccessUncached|GenerateAndSeal|Open|SignLink|VerifyLink)$$

.PHONY: bench-check
bench-check: ## the benchmark harness as CI runs it: every benchmark once with tiny phases (the figures mean nothing), the table built
	@env=$$(scripts/test-env.sh); eval "$$env"; \
	raw=$$(mktemp); trap 'rm -f $$raw' EXIT; \
	PARTNERHUB_BENCH_SHORT=1 PARTNERHUB_BENCH_SUBSCRIPTIONS=2000 go test -run '^$$' -bench '$(BENCH_SUITE)|^BenchmarkSoak$$' -benchtime 1x \
		-timeout 10m ./bench/ ./services/subscriptions/internal/app/ > $$raw || { cat $$raw; exit 1; }; \
	go run ./bench/cmd/benchtable -require < $$raw >/dev/null; \
	echo "bench-check: every benchmark of make bench and make soak ran and reported"

.PHONY: soak
soak: ## 10 minutes at half the measured capacity: zero errors, RSS growth under 10 %, no goroutine growth (PARTNERHUB_SOAK_DURATION)
	@env=$$(scripts/test-env.sh); eval "$$env"; \
	SKIP_DOCKER=1 scripts/build-images.sh >/dev/null; out=$$(mktemp); trap 'rm -f $$out' EXIT; \
	status=0; go test -run '^$$' -bench '^BenchmarkSoak$$' -benchtime 1x -timeout 40m ./bench/ 2>&1 | tee $$out || status=$$?; \
	echo; grep -o 'soak: .*' $$out | tail -1; exit $$status

.PHONY: clean
clean: ## remove build output (not ./data)
	rm -rf bin dist
