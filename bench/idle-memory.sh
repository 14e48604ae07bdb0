#!/usr/bin/env bash
# Measures idle memory (RSS) of each service started alone on SQLite, and of the devstack (all
# six in one process), after they report healthy and have served a token round trip. Prints a
# Markdown table for the README. Uses the binaries of `make images` (dist/) and bin/devstack.
#
#   bench/idle-memory.sh            # builds what is missing, measures, prints the table
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOPROXY=$(go env GOPROXY | sed 's/,direct$//')
services=(identity catalog orders subscriptions keys delegatedadmin)
settle=${SETTLE_SECONDS:-3}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

SKIP_DOCKER=1 scripts/build-images.sh >/dev/null
go build -o bin/devstack ./deploy/devstack

rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
wait_healthy() { # name addr
  for _ in $(seq 1 100); do
    "dist/$1" healthcheck --grpc-addr "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "idle-memory: $1 did not become healthy" >&2; return 1
}

echo "| process | idle RSS (MB) | goal |"
echo "|---|---:|---:|"
# identity first and kept running: the others fetch its signing keys.
mkdir -p "$work/identity"
(cd "$work/identity" && exec "$root/dist/identity" --demo --demo-client-secret idle-memory-secret-123 \
  --grpc-addr 127.0.0.1:51051 --admin-addr 127.0.0.1:19051 --log-level warn) & pids+=($!)
id_pid=$!
wait_healthy identity 127.0.0.1:51051
for i in 1 2 3 4 5; do
  s=${services[$i]}
  mkdir -p "$work/$s"
  (cd "$work/$s" && exec "$root/dist/$s" --grpc-addr 127.0.0.1:5105$((i + 1)) --admin-addr 127.0.0.1:1905$((i + 1)) \
    --identity-addr 127.0.0.1:51051 --log-level warn) & pids+=($!)
done
for i in 1 2 3 4 5; do wait_healthy "${services[$i]}" 127.0.0.1:5105$((i + 1)); done
sleep "$settle"
echo "| identity | $(rss_mb "$id_pid") | ≤ 40 |"
for i in 1 2 3 4 5; do echo "| ${services[$i]} | $(rss_mb "${pids[$i]}") | ≤ 40 |"; done
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()

(exec bin/devstack --data-dir "$work/devstack" --log-level warn >"$work/devstack.log" 2>&1) & pids+=($!)
for _ in $(seq 1 100); do [[ -s $work/devstack/dev-token ]] && break; sleep 0.1; done
kill -0 "${pids[0]}" 2>/dev/null || { cat "$work/devstack.log" >&2; exit 1; }
sleep "$settle"
echo "| devstack (all six) | $(rss_mb "${pids[0]}") | ≤ 120 |"
echo
echo "Measured on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3), $(date -u +%Y-%m-%d)."
