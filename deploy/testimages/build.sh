#!/usr/bin/env bash
# Builds the Redis and PostgreSQL images that the tests (and, offline, the compose stack) start,
# on a machine that can reach Debian's package mirror but no container registry. An air-gapped
# CI is a real user: this is the project's own copy, so a clone needs nothing outside the repo.
#
# Credit: the recipe (and the Dockerfiles/entrypoints beside this script) is the one tested on
# this kind of machine in ../shared/ci/local-images.sh (issue 2, "A recipe tested on this kind
# of machine"); kept in step with it, with a root check and a lock added.
#
#   debootstrap a minimal bookworm root filesystem with the server package,
#   apply bookworm-updates and bookworm-security, slim it, `docker import` it as a base,
#   then `docker build` the small Dockerfile in redis/ or postgres/ (entrypoint, env, stop signal).
#
# Usage: deploy/testimages/build.sh     (about two minutes the first time, instant afterwards)
# Output on stdout (progress goes to stderr), shell assignments to eval or export:
#   PARTNERHUB_TEST_REDIS_IMAGE=partnerhub-ci/redis:7
#   PARTNERHUB_TEST_POSTGRES_IMAGE=partnerhub-ci/postgres:15
# The entrypoints behave like the official images' (POSTGRES_USER/PASSWORD/DB, initdb.d, the
# "ready to accept connections" log line twice for postgres; protected mode off for redis).
# An image that already exists is kept (FORCE=1 rebuilds). Needs root and a running Docker engine.
# Environment: LOCAL_IMAGES_WORK (scratch dir), DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR,
#   TESTIMAGES_REPO (image name prefix, default partnerhub-ci).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=${TESTIMAGES_REPO:-partnerhub-ci}   # another name only to trial the builder beside the real images
redis_image=$repo/redis:7
postgres_image=$repo/postgres:15

docker info >/dev/null 2>&1 || { echo "testimages: no Docker engine answers" >&2; exit 1; }
have() { docker image inspect "$1" >/dev/null 2>&1; }
if [[ ${FORCE:-0} != 1 ]] && have "$redis_image" && have "$postgres_image"; then
  echo "testimages: $redis_image and $postgres_image exist" >&2
  echo "PARTNERHUB_TEST_REDIS_IMAGE=$redis_image"
  echo "PARTNERHUB_TEST_POSTGRES_IMAGE=$postgres_image"
  exit 0
fi
[[ $(id -u) == 0 ]] || { echo "testimages: building $redis_image / $postgres_image needs root (debootstrap, chroot)" >&2; exit 1; }

work=${LOCAL_IMAGES_WORK:-/var/tmp/partnerhub-ci-images}
cache=$work/debs
mkdir -p "$cache"
# one builder at a time (parallel `make test` runs share the scratch directory)
exec 9>"$work/.lock"
flock 9

# The mirror this machine's apt already uses; nothing is hard-coded.
mirror_of() { # $1: the suite whose deb822 stanza names the mirror
  awk -v suite="$1" 'BEGIN { RS = ""; FS = "\n" } {
      uri = ""; hit = 0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) { uri = $i; sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
        if ($i ~ /^Suites:/) { n = split($i, w, /[ \t]+/); for (j = 2; j <= n; j++) if (w[j] == suite) hit = 1 }
      }
      if (hit && uri != "") { print uri; exit }
    }' /etc/apt/sources.list.d/*.sources 2>/dev/null
}
mirror=${DEBIAN_MIRROR:-$(mirror_of bookworm)}
security=${DEBIAN_SECURITY_MIRROR:-$(mirror_of bookworm-security)}
if [[ -z $mirror ]]; then
  mirror=$(awk '$1=="deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
[[ -n $mirror ]] || { echo "testimages: no Debian mirror found in the apt configuration" >&2; exit 1; }

command -v debootstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

build() { # name packages base-tag final-tag
  local name=$1 pkgs=$2 base=$3 final=$4 root=$work/$1 t0=$SECONDS
  if [[ ${FORCE:-0} != 1 ]] && have "$final"; then
    echo "testimages: $final exists" >&2
    return
  fi
  rm -rf "$root"
  debootstrap --variant=minbase --cache-dir="$cache" --include="$pkgs" bookworm "$root" "$mirror" \
    >"$work/$name.debootstrap.log" 2>&1 || { tail -20 "$work/$name.debootstrap.log" >&2; return 1; }
  {
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    [[ -n $security ]] && echo "deb $security bookworm-security main"
  } >"$root/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
  chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -y -qq \
      -o Dpkg::Options::=--force-confold upgrade && apt-get clean' >"$work/$name.upgrade.log" 2>&1 \
    || { tail -20 "$work/$name.upgrade.log" >&2; return 1; }
  rm -f "$root/usr/sbin/policy-rc.d"
  # slim, and drop the cluster that the postgresql package creates (the entrypoint runs initdb)
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*.log \
    "$root"/var/lib/postgresql/15 "$root"/etc/postgresql/15 "$root"/dev/* "$root"/proc/* "$root"/sys/* \
    "$root"/tmp/* "$root"/run/* 2>/dev/null || true
  tar --numeric-owner -C "$root" -c . | docker import - "$base" >/dev/null
  rm -rf "$root"
  DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$base" -t "$final" "$here/$name" >"$work/$name.build.log" 2>&1 \
    || { tail -20 "$work/$name.build.log" >&2; return 1; }
  echo "testimages: $final built in $((SECONDS - t0)) s" >&2
}

build redis redis-server $repo/bookworm-redis-rootfs:7 "$redis_image"
build postgres postgresql-15 $repo/bookworm-postgres-rootfs:15 "$postgres_image"
echo "PARTNERHUB_TEST_REDIS_IMAGE=$redis_image"
echo "PARTNERHUB_TEST_POSTGRES_IMAGE=$postgres_image"
