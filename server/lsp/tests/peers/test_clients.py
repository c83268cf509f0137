"""lathe-lsp against the captured capabilities of Neovim 0.7 (UTF-16, no documentChanges),
VS Code 1.65 and Emacs 29 (eglot: UTF-8 offered, no message actions): initialize, sync,
code actions, a Document run with its approval, applyEdit and progress."""

import pytest
from lsprotocol import types

LIB = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
DOCUMENTED = "/// Adds `a` and `b`.\n" + LIB

STEPS = [
    {
        "expect": {"user_contains": "## Code context"},
        "reply": {"tool_calls": [{"name": "edit_file", "arguments": {
            "path": "src/lib.rs", "old_string": "pub fn add", "new_string": "/// Adds `a` and `b`.\npub fn add"}}]},
    },
    {"expect": {"tool_result_contains": "applied in the editor"}, "reply": {"content": "Documented `add`."}},
]

CLIENTS = [
    # (spec, negotiated encoding, versioned edits, prompts for approvals)
    ("neovim@v0.7.0", "utf-16", False, True),
    ("visual-studio-code@v1.65.2", "utf-16", True, True),
    # eglot declares no `window.showMessage`, yet answers message requests, as every
    # client must: only a client without any window capability is not prompted.
    ("emacs@v29.1", "utf-8", True, True),
    ("emacs@v29.1/no-window", "utf-8", True, False),
]


@pytest.mark.parametrize("spec,encoding,versioned,prompts", CLIENTS)
async def test_document_action_end_to_end(start, spec, encoding, versioned, prompts):
    editor = await start({"src/lib.rs": LIB}, STEPS)
    result = await editor.initialize(spec)
    assert result.capabilities.position_encoding == encoding
    assert result.server_info.name == "lathe"
    uri = editor.open("src/lib.rs", "rust")

    # A keystroke, then the code actions at the cursor.
    editor.apply(types.ApplyWorkspaceEditParams(edit=types.WorkspaceEdit(changes={uri: [
        types.TextEdit(range=types.Range(start=types.Position(1, 7), end=types.Position(1, 7)), new_text=" ")]})))
    editor.apply_edits.clear()
    here = types.Range(start=types.Position(1, 4), end=types.Position(1, 4))
    actions = await editor.client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=here,
        context=types.CodeActionContext(diagnostics=[])))
    titles = [a.title for a in actions]
    assert titles == ["Lathe: Fix", "Lathe: Explain", "Lathe: Document", "Lathe: Refactor",
                      "Lathe: Write tests", "Lathe: Review", "Lathe: Run skill…"]
    document = actions[2]
    assert document.kind == types.CodeActionKind.RefactorRewrite

    started = await editor.command(document.command.command, document.command.arguments[0])
    if not prompts:
        await editor.until("the approval to be pending", lambda: any(
            "needs approval" in m.message for m in editor.client.messages))
        pending = (await editor.status()).pendingApprovals
        await editor.command("lathe.approval.answer", {"id": pending[0].id, "decision": "allow_once"})
    answer = "Lathe: Document `add`: Documented `add`."
    token = started.get("progressToken")
    if token is None:
        # A client without window capabilities gets no progress either: the answer ends it.
        await editor.until("the answer", lambda: any(m.message == answer for m in editor.client.messages))
    else:
        progress = await editor.progress_end(token)
        assert progress[0].title == "Lathe: Document `add`"
        assert any(getattr(p, "message", "") == "running edit_file" for p in progress)
        assert progress[-1].message == "done"
    assert len(editor.prompts) == (1 if prompts else 0)
    if prompts:
        assert [a.title for a in editor.prompts[0].actions] == ["Allow once", "Allow for session", "Deny"]
    [applied] = editor.apply_edits
    if versioned:
        assert applied.edit.document_changes[0].text_document.version == 2
    else:
        assert applied.edit.document_changes is None and uri in applied.edit.changes
    assert editor.text(uri) == DOCUMENTED.replace("a + b", "a +  b")
    assert (editor.workspace / "src/lib.rs").read_text() == LIB
    assert any(m.message == answer for m in editor.client.messages)


async def test_multibyte_ranges_are_exact_for_each_encoding(start):
    text = "fn main() {\n    let s = \"漢字😀e\u0301x\";\n}\n"
    steps = [
        {"reply": {"tool_calls": [{"name": "edit_file", "arguments": {
            "path": "main.rs", "old_string": "😀e\u0301x", "new_string": "🎉e\u0301y"}}]}},
        {"expect": {"tool_result_contains": "applied in the editor"}, "reply": {"content": "Done."}},
    ]
    for spec, start_col, end_col in [("neovim@v0.7.0", 15, 20), ("emacs@v29.1", 19, 27)]:
        editor = await start({"main.rs": text}, steps)
        await editor.initialize(spec, {"approval": "auto"})
        uri = editor.open("main.rs", "rust")
        here = types.Range(start=types.Position(1, 4), end=types.Position(1, 4))
        started = await editor.command("lathe.action.run", {
            "action": "refactor", "uri": uri, "range": {"start": {"line": 1, "character": 4},
                                                        "end": {"line": 1, "character": 4}}})
        await editor.progress_end(started["progressToken"])
        [applied] = editor.apply_edits
        edits = (applied.edit.document_changes[0].edits if applied.edit.document_changes
                 else applied.edit.changes[uri])
        assert [(e.range.start.character, e.range.end.character, e.new_text) for e in edits] == [
            (start_col, end_col, "🎉e\u0301y")]
        assert editor.text(uri) == text.replace("😀e\u0301x", "🎉e\u0301y")
        assert here.start.line == 1
        await editor.client.shutdown_session()
        await editor.client.stop()
        editor.client.capabilities = None
