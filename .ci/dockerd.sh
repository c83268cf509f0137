#!/usr/bin/env bash
# Installs and starts a private Docker engine for Lathe's sandbox tests, then makes sure the
# default sandbox image exists. Idempotent: a second run finds the engine answering and the
# image present and returns within a second.
#
# Use it either way:
#   source .ci/dockerd.sh             # exports DOCKER_HOST in the calling shell
#   eval "$(bash .ci/dockerd.sh)"     # prints `export DOCKER_HOST=...` on stdout
# Everything else goes to stderr. Needs root (it installs Debian packages and runs dockerd).
#
# Environment knobs:
#   LATHE_DOCKERD_STATE  persistent state (data-root, logs); default /var/lib/lathe-dockerd
#   LATHE_DOCKERD_RUN    runtime dir (socket, exec-root, pidfile); default /run/lathe-dockerd
#   LATHE_DOCKERD_SKIP_IMAGE=1  do not build the sandbox image

lathe_dockerd_main() {
    local here root state run sock pidfile log image version i
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    root="$(cd "$here/.." && pwd)"
    state="${LATHE_DOCKERD_STATE:-/var/lib/lathe-dockerd}"
    run="${LATHE_DOCKERD_RUN:-/run/lathe-dockerd}"
    sock="$run/docker.sock"
    pidfile="$run/dockerd.pid"
    log="$state/dockerd.log"

    if [ "$(id -u)" != 0 ]; then
        echo "dockerd.sh: must run as root" >&2
        return 1
    fi

    if ! command -v dockerd >/dev/null || ! command -v bwrap >/dev/null \
        || ! command -v debootstrap >/dev/null || ! command -v busybox >/dev/null; then
        echo "dockerd.sh: installing docker.io bubblewrap debootstrap busybox-static" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            docker.io bubblewrap debootstrap busybox-static ca-certificates >&2 || return 1
    fi

    mkdir -p "$state/data" "$run/exec" || return 1
    export DOCKER_HOST="unix://$sock"

    if ! docker version >/dev/null 2>&1; then
        if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            echo "dockerd.sh: dockerd $(cat "$pidfile") is running but not answering; waiting" >&2
        else
            rm -f "$pidfile" "$sock"
            echo "dockerd.sh: starting dockerd (log: $log)" >&2
            setsid nohup dockerd \
                --host "unix://$sock" \
                --data-root "$state/data" \
                --exec-root "$run/exec" \
                --pidfile "$pidfile" \
                --bridge none --iptables=false --ip6tables=false \
                >>"$log" 2>&1 </dev/null &
        fi
        for i in $(seq 1 600); do
            if docker version >/dev/null 2>&1; then
                break
            fi
            if [ "$i" = 600 ]; then
                echo "dockerd.sh: dockerd did not answer within 60 s; last log lines:" >&2
                tail -n 30 "$log" >&2
                return 1
            fi
            sleep 0.1
        done
    fi
    echo "dockerd.sh: engine answers at $DOCKER_HOST" >&2

    if [ "${LATHE_DOCKERD_SKIP_IMAGE:-0}" != 1 ]; then
        version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$root/Cargo.toml")"
        image="lathe-sandbox:$version"
        if ! docker image inspect "$image" >/dev/null 2>&1; then
            echo "dockerd.sh: building $image" >&2
            bash "$root/sandbox/image/build.sh" "$image" >&2 || return 1
        fi
        echo "dockerd.sh: image $image present" >&2
    fi
    echo "export DOCKER_HOST=$DOCKER_HOST"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    lathe_dockerd_main >/dev/null
else
    set -euo pipefail
    lathe_dockerd_main
fi
