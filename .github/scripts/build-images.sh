#!/usr/bin/env bash
# The docker backend's images from a layer cache that actions/cache keeps between runs.
#
# The tests' stack runs `docker compose build` (testbed/stacks/docker_stack.py). Docker's own
# builder keeps no cache between runners, so this selects a BuildKit builder (docker-container
# driver), fills it from the cache folder, builds every image once with `buildx bake` over
# docker-compose.yml (writing the refreshed cache), and checks that `docker compose build` now
# finds every layer in that builder. Any failure only costs the cache: the default builder is
# selected again, with a warning, and the tests build as they would without it.
# Usage: build-images.sh CACHE_DIR
set -euo pipefail
cache=$1
builder=testbed-ci

from=()
[[ -d $cache ]] && from=(--set "*.cache-from=type=local,src=$cache")
# docker-compose.yml builds with `network: host` (pip needs the host's network on some machines).
if docker buildx create --name "$builder" --driver docker-container --use \
        --buildkitd-flags '--allow-insecure-entitlement network.host' \
    && docker buildx bake --file docker-compose.yml --allow network.host --load "${from[@]}" \
        --set "*.cache-to=type=local,dest=$cache.new,mode=max" \
    && docker compose build; then
    # A new folder each run: a local cache written over an old one only grows.
    rm -rf "$cache" && mv "$cache.new" "$cache"
    echo "images built with the layer cache (builder $builder)"
else
    echo "::warning title=image layer cache::building through the cache failed; the tests build without it"
    docker buildx use default
fi
