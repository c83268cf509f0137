"""Neovim 0.11 headless with the project's own plugin (editors/nvim) against lathe-lsp:
code actions, "Document" changing the buffer after an approval prompt, a chat answer."""

import json
import os
import pathlib
import re
import subprocess

import pytest

HERE = pathlib.Path(__file__).resolve().parent
PLUGIN = HERE.parents[3] / "editors" / "nvim"
NVIM = pathlib.Path(os.environ.get("LATHE_LSP_PEERS", "/opt/lathe-lsp-peers")) / "venv" / "bin" / "nvim"
LIB = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"

STEPS = [
    {"expect": {"user_contains": "## Code context"},
     "reply": {"tool_calls": [{"name": "edit_file", "arguments": {
         "path": "src/lib.rs", "old_string": "pub fn add", "new_string": "/// Adds `a` and `b`.\npub fn add"}}]}},
    {"expect": {"tool_result_contains": "applied in the editor"}, "reply": {"content": "Documented `add`."}},
    {"expect": {"user_contains": "What is 2+2?"},
     "reply": {"content": "Four.", "chunk_chars": 2, "token_delay_ms": 10}},
]


def test_neovim_runs_actions_approvals_and_chat(tmp_path):
    host = os.environ.get("LATHE_LSP_HOST")
    if not host:
        pytest.fail("LATHE_LSP_HOST must name the lsp_host example binary")
    assert NVIM.exists(), f"{NVIM} is missing: run .ci/lsp-peers.sh"
    workspace = tmp_path / "workspace"
    (workspace / "src").mkdir(parents=True)
    (workspace / ".lathe").mkdir()
    (workspace / ".git").mkdir()
    (workspace / "src" / "lib.rs").write_text(LIB)
    (workspace / ".lathe" / "chat.lathe.md").write_text("## You\n\nWhat is 2+2?\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"steps": STEPS}))
    report = tmp_path / "report.json"
    out = tmp_path / "out.json"
    cmd = [host, "--workspace", str(workspace), "--state", str(tmp_path / "state"),
           "--script", str(script), "--report", str(report)]
    env = dict(os.environ, LATHE_TEST_OUT=str(out), LATHE_TEST_WORKSPACE=str(workspace),
               LATHE_PLUGIN=str(PLUGIN), LATHE_HOST_CMD=json.dumps(cmd))
    done = subprocess.run([str(NVIM), "--headless", "--clean", "-l", str(HERE / "nvim_e2e.lua")],
                          env=env, cwd=workspace, capture_output=True, text=True, timeout=120)
    assert out.exists(), f"nvim wrote no results:\n{done.stdout}\n{done.stderr}"
    results = json.loads(out.read_text())
    assert results["ok"], f"{results}\n{done.stderr}"
    assert results["encoding"] == "utf-8"
    assert results["titles"] == ["Lathe: Fix", "Lathe: Explain", "Lathe: Document", "Lathe: Refactor",
                                 "Lathe: Write tests", "Lathe: Review", "Lathe: Run skill…"]
    assert results["document"] == ["/// Adds `a` and `b`.", *LIB.splitlines()]
    assert results["modified"] is True
    assert (workspace / "src" / "lib.rs").read_text() == LIB
    [prompt] = results["prompts"]
    assert prompt["prompt"].startswith("Lathe wants to")
    assert prompt["items"] == ["Allow once", "Allow for session", "Deny"]
    chat = "\n".join(results["chat"])
    assert re.fullmatch(
        r"## You\n\nWhat is 2\+2\?\n\n## Lathe <!-- session: [0-9a-f-]+ -->\n\nFour\.\n\n## You\n", chat
    ), chat
