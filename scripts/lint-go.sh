#!/usr/bin/env bash
# Static analysis of every Go module of the workspace (go.work): staticcheck, then golangci-lint
# with the committed .golangci.yml (which runs go vet's analyzers, staticcheck's, errcheck and the
# rest, and checks gofmt/goimports). Exit 0 when both are clean, 1 on any finding or failure.
#
#   scripts/lint-go.sh              every module
#   scripts/lint-go.sh ./pkg/...    only these package patterns (relative to the repository root)
#
# Needs only Go: both tools are pinned in tools/go.mod and built from the module proxy the first
# time (about 3-4 minutes on 2 cores; afterwards they come from the build cache). Both run once over
# the whole workspace: go.work makes `./pkg/... ./services/orders/...` one package graph, so each
# shared dependency is type-checked once, and the analysis caches (~/.cache/golangci-lint,
# ~/.cache/staticcheck) make a second run take seconds.
#
# Environment: LINT_GO_SKIP=staticcheck or LINT_GO_SKIP=golangci-lint skips one tool;
# GOLANGCI_LINT_ARGS adds arguments to `golangci-lint run` (e.g. --fix, or --new-from-rev=main).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--buildvcs=false -trimpath}"
# Tools come from the module proxy only (no direct fetches on an air-gapped machine).
GOPROXY=$(go env GOPROXY | sed 's/,direct$//')
export GOPROXY

start=$SECONDS
say() { printf 'lint-go: %s\n' "$*" >&2; }

# Package patterns: one ./dir/... per module listed in go.work (the root has no go.mod, so `./...`
# alone matches nothing there: "directory prefix . does not contain modules listed in go.work").
if (($#)); then
	patterns=("$@")
else
	# gen/ is left out: it is all protoc-gen-go output (still type-checked as a dependency).
	mapfile -t patterns < <(go work edit -json | sed -n 's/^[[:space:]]*"DiskPath": "\(.*\)",\{0,1\}$/\1/p' |
		sed 's#^\([^./]\)#./\1#' | grep -vx './gen' | sed 's#$#/...#')
fi
if ((${#patterns[@]} == 0)); then
	say "no modules found in go.work"
	exit 1
fi

# Build (or find in the build cache) the pinned tools. `go tool -n` prints the binary's path.
t=$SECONDS
staticcheck=$(GOWORK=off go -C tools tool -n staticcheck)
golangci=$(GOWORK=off go -C tools tool -n golangci-lint)
say "tools: $("$staticcheck" -version), golangci-lint $("$golangci" version --short) ($((SECONDS - t)) s to build or find)"
say "packages: ${patterns[*]}"

failed=()
skip=${LINT_GO_SKIP:-}

if [[ $skip != staticcheck ]]; then
	t=$SECONDS
	say "staticcheck (checks: all but the style ones .golangci.yml also turns off)..."
	# staticcheck.conf-free: the same check set as .golangci.yml's staticcheck section. -tests
	# includes _test.go files; generated files (gen/) are skipped by staticcheck itself.
	if "$staticcheck" -tests -checks 'all,-QF1001,-QF1008,-ST1003,-ST1020,-ST1021,-ST1022' "${patterns[@]}"; then
		say "staticcheck: clean ($((SECONDS - t)) s)"
	else
		say "staticcheck: FINDINGS ($((SECONDS - t)) s)"
		failed+=(staticcheck)
	fi
fi

if [[ $skip != golangci-lint ]]; then
	t=$SECONDS
	say "golangci-lint run (config: .golangci.yml)..."
	# shellcheck disable=SC2086 # GOLANGCI_LINT_ARGS is a list of words on purpose
	if "$golangci" run --config .golangci.yml ${GOLANGCI_LINT_ARGS:-} "${patterns[@]}"; then
		say "golangci-lint: clean ($((SECONDS - t)) s)"
	else
		say "golangci-lint: FINDINGS ($((SECONDS - t)) s)"
		failed+=(golangci-lint)
	fi
fi

if ((${#failed[@]})); then
	say "FAILED: ${failed[*]} ($((SECONDS - start)) s in all)"
	exit 1
fi
say "clean ($((SECONDS - start)) s in all)"
