#!/usr/bin/env bash
# Builds the static service binaries into dist/ and one image per service from
# deploy/docker/Dockerfile, with dist/ as the (small) build context. Pulls nothing.
#
#   scripts/build-images.sh                 all six services
#   scripts/build-images.sh catalog orders  only these
#
# Environment:
#   PARTNERHUB_IMAGE_REPO   image name prefix      (default partnerhub/  → partnerhub/<svc>)
#   PARTNERHUB_IMAGE_TAG    image tag              (default dev)
#   SKIP_DOCKER=1           build dist/<svc> only (no Docker needed)
# Prints one line per image: "image <name:tag> <id> <binary size>".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

all=(identity catalog orders subscriptions keys delegatedadmin)
declare -A grpc_port=([identity]=50051 [catalog]=50052 [orders]=50053 [subscriptions]=50054 [keys]=50055 [delegatedadmin]=50056)
declare -A admin_port=([identity]=9051 [catalog]=9052 [orders]=9053 [subscriptions]=9054 [keys]=9055 [delegatedadmin]=9056)
services=("$@")
[[ ${#services[@]} -gt 0 ]] || services=("${all[@]}")
for s in "${services[@]}"; do
  [[ -n ${grpc_port[$s]:-} ]] || { echo "build-images: unknown service '$s' (one of: ${all[*]})" >&2; exit 2; }
done
repo=${PARTNERHUB_IMAGE_REPO:-partnerhub/}
tag=${PARTNERHUB_IMAGE_TAG:-dev}

# Static, reproducible binaries; the module proxy only (no host but the proxy answers here).
export CGO_ENABLED=0 GOOS=${GOOS:-linux} GOARCH=${GOARCH:-$(go env GOARCH)}
export GOPROXY=$(go env GOPROXY | sed 's/,direct$//')
mkdir -p dist/skel/data dist/skel/tmp   # writable dirs in the image (see the Dockerfile)
pkgs=()
for s in "${services[@]}"; do pkgs+=("./services/$s/cmd/$s"); done
# One go build for all: the packages compile in parallel and shared deps once.
go build -trimpath -ldflags "-s -w" -o dist/ "${pkgs[@]}"

[[ ${SKIP_DOCKER:-0} == 1 ]] && { for s in "${services[@]}"; do echo "binary dist/$s $(du -h "dist/$s" | cut -f1)"; done; exit 0; }

trap 'rm -f dist/.dockerignore' EXIT   # a manual `docker build ... dist` then sees all of dist/
for s in "${services[@]}"; do
  image="$repo$s:$tag"
  log=$(mktemp)
  # the context is dist/, but only this service's binary and skel/ are sent to the engine
  printf '*\n!%s\n!skel\n' "$s" >dist/.dockerignore
  if ! DOCKER_BUILDKIT=0 docker build -f deploy/docker/Dockerfile \
      --build-arg SERVICE="$s" --build-arg GRPC_PORT="${grpc_port[$s]}" --build-arg ADMIN_PORT="${admin_port[$s]}" \
      -t "$image" dist >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "build-images: docker build of $image failed" >&2
    exit 1
  fi
  rm -f "$log"
  id=$(docker image inspect -f '{{.Id}}' "$image" | cut -c8-19)
  echo "image $image $id $(du -h "dist/$s" | cut -f1)"
done
