#!/usr/bin/env bash
# Waits until every container of the compose project reports healthy (docker-compose 1.29 has no
# `up --wait`), then prints one line per container. Exit 1 on timeout or when one has exited.
#   scripts/compose-wait.sh [timeout-seconds, default 120]
# Uses $COMPOSE (default: `docker compose` when present, else docker-compose) and the usual
# COMPOSE_PROJECT_NAME / COMPOSE_FILE environment.
set -uo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${COMPOSE:-} ]]; then
  if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"; else COMPOSE=docker-compose; fi
fi
deadline=$((SECONDS + ${1:-120}))
while :; do
  ids=$($COMPOSE ps -q 2>/dev/null)
  [[ -n $ids ]] || { echo "compose-wait: no containers in this compose project" >&2; exit 1; }
  # name state health (health is "none" for a container without a health check)
  states=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' $ids | sed 's|^/||')
  bad=$(awk '$2 != "running" || ($3 != "healthy" && $3 != "none")' <<<"$states")
  if [[ -z $bad ]]; then
    sort <<<"$states" | awk '{print "healthy", $1}'
    exit 0
  fi
  if awk '$2 == "exited" || $2 == "dead" || $3 == "unhealthy"' <<<"$bad" | grep -q . || ((SECONDS >= deadline)); then
    echo "compose-wait: not healthy: $(tr '\n' ';' <<<"$bad")" >&2
    exit 1
  fi
  sleep 2
done
