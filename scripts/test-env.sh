#!/usr/bin/env bash
# Prepares this machine for `make test` and tells the Makefile how to run the tests.
#
#   env=$(scripts/test-env.sh); eval "$env"     (NOT `eval "$(scripts/test-env.sh)"`: eval of an
#                                                empty string succeeds, so a failure would be lost)
#   or: scripts/test-env.sh > dist/test.env && . dist/test.env
# Arguments are ignored (`--compose` is accepted: the compose image variables are always emitted).
#
# stdout: only `export VAR=value` lines (safe to eval or source); stderr: ONE summary line of what
#         was done (plus the reason when it fails). Exit 0 when the tests can run, 1 otherwise.
#
# 1. Docker engine. If `docker info` does not answer:
#    - as root: when dockerd is missing, `apt-get update` + `apt-get install -y docker.io
#      docker-compose` (Debian's engine 20.10, compose 1.29); then start `dockerd` in the
#      background (log: $PARTNERHUB_DOCKERD_LOG, default /var/log/partnerhub-dockerd.log; it keeps
#      running after the tests) and wait until `docker info` answers (up to 60 s);
#    - as any other user: stop with a one-line message saying what to start.
# 2. Images for testcontainers (PARTNERHUB_TEST_REDIS_IMAGE / PARTNERHUB_TEST_POSTGRES_IMAGE):
#    a value already set is kept; otherwise the default (redis:7-alpine, postgres:16-alpine) when
#    it is present locally or a pull succeeds within $PARTNERHUB_PULL_TIMEOUT seconds (default 60;
#    an unreachable registry fails at once); otherwise deploy/testimages/build.sh builds
#    partnerhub-ci/redis:7 and partnerhub-ci/postgres:15 from Debian packages (about two minutes
#    the first time, instant when they exist; needs root). PARTNERHUB_REDIS_IMAGE /
#    PARTNERHUB_POSTGRES_IMAGE (docker-compose.yml) get the same images unless already set.
# 3. Always: TESTCONTAINERS_RYUK_DISABLED=true (the reaper image may not be pullable; the tests
#    terminate their own containers), TESTCONTAINERS_HOST_OVERRIDE=localhost when the engine is
#    local (DOCKER_HOST unset or unix://; needed on machines with /.dockerenv, harmless elsewhere),
#    GOPROXY without the `,direct` fallback, CGO_ENABLED=0. Values already in the environment win.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
did=()   # what this run did, for the summary line
say_fail() { echo "test-env: $*" >&2; exit 1; }
engine_up() { timeout 15 docker info >/dev/null 2>&1; }
uid=$(id -u)

# ---- 1. Docker engine ------------------------------------------------------------------------
if engine_up; then
  did+=("docker engine already running")
else
  if [[ $uid != 0 ]]; then
    sock=${DOCKER_HOST:-unix:///var/run/docker.sock}; sock=${sock#unix://}
    if [[ -S $sock && ! -w $sock ]]; then
      say_fail "Docker engine at $sock is not accessible to $(id -un 2>/dev/null || echo "uid $uid"): add the user to the 'docker' group or run 'make test' as root"
    fi
    say_fail "no Docker engine answers: start one (as root: 'dockerd &' or 'systemctl start docker'), or run 'make test' as root to have it installed and started"
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    aptlog=/var/log/partnerhub-apt.log
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io docker-compose; } >"$aptlog" 2>&1 \
      || say_fail "installing docker.io docker-compose with apt-get failed (log: $aptlog)"
    did+=("installed docker.io docker-compose")
  fi
  dlog=${PARTNERHUB_DOCKERD_LOG:-/var/log/partnerhub-dockerd.log}
  setsid -f dockerd >"$dlog" 2>&1 </dev/null || say_fail "could not start dockerd (log: $dlog)"
  for _ in $(seq 1 120); do engine_up && break; sleep 0.5; done
  engine_up || say_fail "dockerd started but 'docker info' does not answer after 60 s (log: $dlog)"
  did+=("started dockerd (log $dlog)")
fi

# ---- 2. Images -------------------------------------------------------------------------------
registry_down=0
usable() { # image → 0 if present locally or pulled now
  docker image inspect "$1" >/dev/null 2>&1 && return 0
  [[ $registry_down == 1 ]] && return 1
  if timeout "${PARTNERHUB_PULL_TIMEOUT:-60}" docker pull -q "$1" >/dev/null 2>&1; then pulled+=("$1"); return 0; fi
  registry_down=1; return 1
}
pulled=()
redis=${PARTNERHUB_TEST_REDIS_IMAGE:-}
postgres=${PARTNERHUB_TEST_POSTGRES_IMAGE:-}
if [[ -n $redis && -n $postgres ]]; then
  how="given"
else
  [[ -z $redis ]] && usable redis:7-alpine && redis=redis:7-alpine
  [[ -z $postgres ]] && usable postgres:16-alpine && postgres=postgres:16-alpine
  how="default"; [[ ${#pulled[@]} -gt 0 ]] && how="pulled ${pulled[*]}"
  if [[ -z $redis || -z $postgres ]]; then
    local_env=$(
      have() { docker image inspect "$1" >/dev/null 2>&1; }
      if have partnerhub-ci/redis:7 && have partnerhub-ci/postgres:15; then echo existing; else echo built; fi
    )
    out=$("$root/deploy/testimages/build.sh" 2>/tmp/partnerhub-testimages.err) \
      || say_fail "no registry answers and building the local test images failed: $(tail -1 /tmp/partnerhub-testimages.err)"
    [[ -z $redis ]] && redis=$(sed -n 's/^PARTNERHUB_TEST_REDIS_IMAGE=//p' <<<"$out")
    [[ -z $postgres ]] && postgres=$(sed -n 's/^PARTNERHUB_TEST_POSTGRES_IMAGE=//p' <<<"$out")
    if [[ $local_env == built ]]; then
      how="no registry: built local images from Debian packages (deploy/testimages)"
    else
      how="no registry: local images from deploy/testimages"
    fi
  fi
fi
did+=("images $redis, $postgres ($how)")

# ---- 3. Environment --------------------------------------------------------------------------
emit() { printf 'export %s=%q\n' "$1" "$2"; }
emit PARTNERHUB_TEST_REDIS_IMAGE "$redis"
emit PARTNERHUB_TEST_POSTGRES_IMAGE "$postgres"
emit PARTNERHUB_REDIS_IMAGE "${PARTNERHUB_REDIS_IMAGE:-$redis}"
emit PARTNERHUB_POSTGRES_IMAGE "${PARTNERHUB_POSTGRES_IMAGE:-$postgres}"
ryuk_off=${TESTCONTAINERS_RYUK_DISABLED:-true}
emit TESTCONTAINERS_RYUK_DISABLED "$ryuk_off"
tc_host=${TESTCONTAINERS_HOST_OVERRIDE:-}
case ${DOCKER_HOST:-unix://} in unix://*) tc_host=${tc_host:-localhost} ;; esac
[[ -n $tc_host ]] && emit TESTCONTAINERS_HOST_OVERRIDE "$tc_host"
emit GOPROXY "$(go env GOPROXY | sed 's/,direct$//')"
emit CGO_ENABLED 0
did+=("TESTCONTAINERS_RYUK_DISABLED=$ryuk_off TESTCONTAINERS_HOST_OVERRIDE=${tc_host:-unset} GOPROXY without direct CGO_ENABLED=0")
summary=$(printf '%s; ' "${did[@]}")
echo "test-env: ${summary%; }" >&2
