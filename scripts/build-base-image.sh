#!/usr/bin/env bash
# Build a local stand-in for the official python:3.11-slim image on machines
# that reach Debian's mirror and PyPI but no container registry: debootstrap
# a minimal Debian bookworm rootfs with Debian's python3 (3.11), then
# `docker import` it. Idempotent: an existing image is reused.
# The trixie variant (Debian 13, Python 3.13) stands in for python:3.13-slim:
# the base of the LocalStack image (docker-compose.localstack.yml), whose
# runtime needs Python 3.12+.
#
# Usage: scripts/build-base-image.sh [--force]
#        DEBIAN_SUITE=trixie scripts/build-base-image.sh   # testbed/python-base:3.13
#   --force   rebuild even if the image exists
#
# Environment (all optional):
#   DEBIAN_SUITE     Debian release           (bookworm; or trixie)
#   BASE_IMAGE     image name               (testbed/python-base:<the suite's
#                                              Python>: 3.11, trixie 3.13)
#   DEBIAN_MIRROR    Debian mirror URL        (from the host's apt sources,
#                                              else http://deb.debian.org/debian)
#   HOST_CA_BUNDLE   CA bundle copied in      (/etc/ssl/certs/ca-certificates.crt)
#   WORK_PARENT      where the temp rootfs goes (/var/tmp)
set -euo pipefail

DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
# Debian's python3 of each suite this script is known to build.
case $DEBIAN_SUITE in
  bookworm) SUITE_PYTHON=3.11 ;;
  trixie) SUITE_PYTHON=3.13 ;;
  *) printf '[build-base-image] ERROR: DEBIAN_SUITE=%s: use bookworm (Python 3.11) or trixie (Python 3.13)\n' \
       "$DEBIAN_SUITE" >&2; exit 2 ;;
esac
BASE_IMAGE=${BASE_IMAGE:-testbed/python-base:$SUITE_PYTHON}
HOST_CA_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
WORK_PARENT=${WORK_PARENT:-/var/tmp}
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# python3-pip/-venv for pip and venvs; ca-certificates for TLS to PyPI;
# netbase (/etc/services, /etc/protocols) and tzdata as in the official image.
PACKAGES=python3,python3-pip,python3-venv,ca-certificates,netbase,tzdata

WORKDIR=
CHILD_PID=

# ---------------------------------------------------------------- helpers --

log() { printf '[build-base-image] %s\n' "$*"; }
die() { printf '[build-base-image] ERROR: %s\n' "$*" >&2; exit 1; }

now_us() { local t=${EPOCHREALTIME//[.,]/}; printf '%s' "$t"; }
phase_start() { PHASE_NAME=$1; PHASE_T0=$(now_us); log "-> $PHASE_NAME"; }
phase_end() {
  local dt=$(( $(now_us) - PHASE_T0 ))
  log "<- $PHASE_NAME: $((dt / 1000000)).$(printf '%03d' $(((dt / 1000) % 1000)))s${1:+ ($1)}"
}

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

# Never leave a half-built rootfs behind. debootstrap mounts /proc and /sys
# inside it while it runs; unmount anything still there before deleting, and
# stay on one filesystem so a leftover mount can never be recursed into.
cleanup() {
  if [[ -n $CHILD_PID ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
    kill -TERM -- "-$CHILD_PID" 2>/dev/null || true
    wait "$CHILD_PID" 2>/dev/null || true
  fi
  [[ -n $WORKDIR && -d $WORKDIR ]] || return 0
  local m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v p="$WORKDIR/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r)
  rm -rf --one-file-system "$WORKDIR"
}

# The mirror the host's apt already uses (deb822 or one-line format), so the
# rootfs comes from the same place; $1 = "debian" or "debian-security".
host_mirror() {
  local want=$1 url
  url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -oE '(https?|file)://[^ ]+' \
        | grep -E "/${want}/?\$" | head -n 1 || true)
  printf '%s' "${url%/}"
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  log "debootstrap missing; installing it with apt-get"
  local policy
  policy=$(apt-cache policy debootstrap 2>/dev/null || true)
  [[ $policy == *"Candidate: "[0-9]* ]] || apt-get update -qq \
    || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    debootstrap >/dev/null || die "apt-get install debootstrap failed"
}

# ------------------------------------------------------------------ steps --

run_debootstrap() {
  local rootfs=$1 mirror=$2 dlog=$WORKDIR/debootstrap.log
  log "debootstrap --variant=minbase $DEBIAN_SUITE from $mirror"
  # In the background, in its own process group, so that Ctrl-C/TERM reach
  # the trap at once (bash defers traps while a foreground child runs) and
  # the trap can stop debootstrap with all its children before cleanup.
  setsid debootstrap --variant=minbase --include="$PACKAGES" \
    "$DEBIAN_SUITE" "$rootfs" "$mirror" >"$dlog" 2>&1 &
  CHILD_PID=$!
  if ! wait "$CHILD_PID"; then
    CHILD_PID=
    tail -n 25 "$dlog" >&2
    [[ -f $rootfs/debootstrap/debootstrap.log ]] \
      && tail -n 25 "$rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (see above)"
  fi
  CHILD_PID=
}

customize_rootfs() {
  local r=$1 mirror=$2 security=$3

  # apt sources as in the official Debian images, so derived images can
  # `apt-get update && apt-get install ...` (bookworm, -updates, -security).
  rm -f "$r/etc/apt/sources.list"
  cat >"$r/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $DEBIAN_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

  # This network intercepts TLS with its own CA: pip inside containers only
  # reaches PyPI if it trusts the host's bundle. The copy in
  # /usr/local/share/ca-certificates survives update-ca-certificates runs in
  # derived images (e.g. when they apt-get install something).
  install -m 0644 "$HOST_CA_BUNDLE" "$r/etc/ssl/certs/ca-certificates.crt"
  install -m 0644 "$HOST_CA_BUNDLE" "$r/usr/local/share/ca-certificates/host-ca-bundle.crt"

  # The official image has python, pip, pip3 in /usr/local/bin.
  ln -sfn /usr/bin/python3 "$r/usr/local/bin/python"
  ln -sfn /usr/bin/pip3 "$r/usr/local/bin/pip"
  ln -sfn /usr/bin/pip3 "$r/usr/local/bin/pip3"

  # PEP 668: Debian marks its python "externally managed"; the official image
  # does not, and Dockerfiles run a plain `pip install`.
  rm -f "$r"/usr/lib/python3*/EXTERNALLY-MANAGED

  # Container conventions of the official Debian images: no service starts
  # from maintainer scripts, no .deb cache kept after installs.
  printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
  chmod 755 "$r/usr/sbin/policy-rc.d"
  cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF

  # Slim: drop docs/man pages now and for later installs (copyrights kept).
  cat >"$r/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
EOF
  find "$r/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/*

  # Caches, logs and host-specific files; docker provides /dev, /proc, /sys,
  # /etc/hosts, /etc/hostname and /etc/resolv.conf at run time.
  rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/var/log/* \
         "$r"/tmp/* "$r"/var/tmp/* "$r"/debootstrap "$r"/root/.cache
  find "$r/usr/lib" -name __pycache__ -type d -prune -exec rm -rf {} +
  : >"$r/etc/resolv.conf"
  : >"$r/etc/hostname"
  : >"$r/etc/machine-id"
}

import_rootfs() {
  local rootfs=$1
  # --numeric-owner: keep the rootfs's uids/gids, not the host's names.
  # /dev, /proc, /sys stay as empty dirs: the runtime mounts them.
  tar --numeric-owner -C "$rootfs" \
      --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* -c . \
    | docker import \
        --change "ENV PATH=$IMAGE_PATH" \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        --change 'CMD ["python3"]' \
        --message "debootstrap $DEBIAN_SUITE minbase + python3 (scripts/build-base-image.sh)" \
        - "$BASE_IMAGE" >/dev/null
}

# ------------------------------------------------------------------- main --

main() {
  local force=0 arg
  for arg in "$@"; do
    case $arg in
      --force) force=1 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument: $arg" ;;
    esac
  done

  docker info >/dev/null 2>&1 \
    || die "docker engine does not answer; run scripts/install-docker.sh first"

  local old_id
  old_id=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || true)
  if [[ -n $old_id && $force == 0 ]]; then
    log "image $BASE_IMAGE already exists ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}')); reusing it (use --force to rebuild)"
    exit 0
  fi

  [[ $EUID -eq 0 ]] || die "run as root (debootstrap needs it)"
  [[ -r $HOST_CA_BUNDLE ]] || die "CA bundle $HOST_CA_BUNDLE not readable"
  ensure_debootstrap

  local mirror security
  mirror=${DEBIAN_MIRROR:-$(host_mirror debian)}
  mirror=${mirror:-http://deb.debian.org/debian}
  security=$(host_mirror debian-security)
  security=${security:-http://deb.debian.org/debian-security}

  local t0; t0=$(now_us)
  WORKDIR=$(mktemp -d "$WORK_PARENT/build-base-image.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local rootfs=$WORKDIR/rootfs

  phase_start "debootstrap"
  run_debootstrap "$rootfs" "$mirror"
  phase_end "$(du -sm --one-file-system "$rootfs" | cut -f1) MB rootfs"

  phase_start "customize rootfs"
  customize_rootfs "$rootfs" "$mirror" "$security"
  phase_end "$(du -sm --one-file-system "$rootfs" | cut -f1) MB rootfs"

  phase_start "docker import"
  import_rootfs "$rootfs"
  phase_end

  # Drop the image the tag pointed at before a --force rebuild, if unused.
  local new_id
  new_id=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")
  if [[ -n $old_id && $old_id != "$new_id" ]]; then
    if docker image rm "$old_id" >/dev/null 2>&1; then
      log "removed previous image ${old_id#sha256:}"
    fi
  fi

  phase_start "smoke test"
  local out
  out=$(docker run --rm --network none "$BASE_IMAGE" \
          sh -c 'python --version && pip --version' 2>&1) \
    || die "smoke test of $BASE_IMAGE failed: $out"
  phase_end "$(printf '%s' "$out" | tr '\n' ';')"

  PHASE_T0=$t0
  PHASE_NAME="total"
  phase_end "$BASE_IMAGE, $(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
}

main "$@"
