#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs and starts every real peer the tests
# use (Docker engine + sandbox image, bubblewrap, MCP and LSP peers, the llama.cpp slow
# lane), then runs every test with cargo-nextest. Needs root for apt and dockerd.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install --locked cargo-nextest
fi

# Peers. Each script is idempotent and quick when everything is already there.
# shellcheck source=../.ci/dockerd.sh
source .ci/dockerd.sh
for peers in .ci/mcp-peers.sh .ci/lsp-peers.sh .ci/browser.sh; do
    if [ -f "$peers" ]; then
        bash "$peers"
    fi
done

# The slow lane (a real llama.cpp server) builds for minutes: start it while Rust compiles.
slow_lane_pid=""
if [ -f .ci/slow-lane.sh ]; then
    mkdir -p target
    bash .ci/slow-lane.sh >target/slow-lane.log 2>&1 &
    slow_lane_pid=$!
fi

cargo build --workspace --all-targets
# The end-to-end tests run this binary instead of asking cargo for it in every test process.
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
export LATHE_BIN="$target_dir/debug/lathe"
if [ -n "$slow_lane_pid" ]; then
    if ! wait "$slow_lane_pid"; then
        echo "slow lane setup failed:" >&2
        tail -n 40 target/slow-lane.log >&2
        exit 1
    fi
    # shellcheck disable=SC1091
    source target/slow-lane.env
    # The server is this run's peer: it stops with the run.
    trap 'kill "$(cat target/slow-lane.pid 2>/dev/null)" 2>/dev/null || true' EXIT
fi

cargo nextest run --workspace --profile ci "$@"
