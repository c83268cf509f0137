"""Fixtures for driving lathe-lsp with real LSP clients.

A test starts the `lsp_host` example (lathe-lsp on stdio with a real agent and the scripted
model) through pytest-lsp's client, which replays the captured capabilities of a real
editor. The client keeps its own copy of every open document and applies
`workspace/applyEdit` to it like an editor does (checking the version, then sending the
incremental didChange), so a test can compare the text the editor would show.
"""

import asyncio
import json
import os
import pathlib
from typing import Union

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import client_capabilities, make_test_lsp_client

HOST = os.environ.get("LATHE_LSP_HOST")
PATIENCE = 30.0


def offset(text: str, position: types.Position, encoding: str) -> int:
    """The string index of an LSP position in `text`."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: position.line])
    line = lines[position.line] if position.line < len(lines) else ""
    if encoding == "utf-8":
        column = len(line.encode("utf-8")[: position.character].decode("utf-8", "ignore"))
    elif encoding == "utf-16":
        units = line.encode("utf-16-le")[: position.character * 2]
        column = len(units.decode("utf-16-le", "ignore"))
    else:
        column = position.character
    return start + min(column, len(line))


class Editor:
    """A pytest-lsp client with documents, as a real editor has them."""

    def __init__(self, client, workspace: pathlib.Path, state: pathlib.Path, report: pathlib.Path):
        self.client = client
        self.workspace = workspace
        self.state = state
        self.report = report
        self.docs: dict[str, list] = {}
        self.encoding = "utf-16"
        self.apply_edits: list[types.ApplyWorkspaceEditParams] = []
        self.prompts: list[types.ShowMessageRequestParams] = []
        self.press = "Allow once"

    def uri(self, relative: str) -> str:
        return (self.workspace / relative).as_uri()

    async def initialize(self, spec: str, options=None) -> types.InitializeResult:
        # `<client>@<version>/no-window`: that client's capabilities without any `window`
        # capability (a client Lathe cannot prompt).
        name, _, variant = spec.partition("/")
        capabilities = client_capabilities(name)
        if variant == "no-window":
            capabilities.window = None
        result = await self.client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities,
                root_uri=self.workspace.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=self.workspace.as_uri(), name="w")],
                initialization_options=options,
            )
        )
        self.encoding = result.capabilities.position_encoding or "utf-16"
        return result

    def open(self, relative: str, language: str) -> str:
        uri = self.uri(relative)
        text = (self.workspace / relative).read_text()
        self.docs[uri] = [1, text]
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
            )
        )
        return uri

    def text(self, uri: str) -> str:
        return self.docs[uri][1]

    def apply(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        self.apply_edits.append(params)
        edit = params.edit
        per_doc = []
        for change in edit.document_changes or []:
            per_doc.append((change.text_document.uri, change.text_document.version, change.edits))
        for uri, edits in (edit.changes or {}).items():
            per_doc.append((uri, None, edits))
        for uri, version, edits in per_doc:
            doc = self.docs.get(uri)
            if doc is None:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason=f"{uri} is not open")
            if version is not None and version != doc[0]:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="stale version")
            ordered = sorted(edits, key=lambda e: offset(doc[1], e.range.start, self.encoding), reverse=True)
            changes = []
            for e in ordered:
                start = offset(doc[1], e.range.start, self.encoding)
                end = offset(doc[1], e.range.end, self.encoding)
                doc[1] = doc[1][:start] + e.new_text + doc[1][end:]
                changes.append(types.TextDocumentContentChangePartial(range=e.range, text=e.new_text))
            doc[0] += 1
            self.client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc[0]),
                    content_changes=changes,
                )
            )
        return types.ApplyWorkspaceEditResult(applied=True)

    async def command(self, name: str, argument) -> object:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=[argument])
        )

    async def status(self):
        """`lathe/status`, as pygls' attribute objects."""
        return await self.client.protocol.send_request_async("lathe/status", None)

    async def until(self, what: str, check):
        """Polls `check` (state the client records as messages arrive) until it is true."""
        deadline = asyncio.get_running_loop().time() + PATIENCE
        while not check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"waited in vain for {what}")
            await asyncio.sleep(0.02)

    async def progress_end(self, token) -> list:
        reports = self.client.progress_reports
        await self.until(
            f"the end of progress {token}",
            lambda: reports.get(token) and isinstance(reports[token][-1], types.WorkDoneProgressEnd),
        )
        return reports[token]

    def model_report(self) -> dict:
        return json.loads(self.report.read_text())


@pytest_asyncio.fixture
async def start(tmp_path):
    """`await start(files, steps)`: a workspace with `files` and a host playing `steps`."""
    if not HOST:
        pytest.fail("LATHE_LSP_HOST must name the lsp_host example binary")
    editors = []

    async def launch(files: dict[str, str], steps: list) -> Editor:
        workspace = tmp_path / "workspace"
        for relative, text in files.items():
            path = workspace / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        workspace.mkdir(exist_ok=True)
        script = tmp_path / "script.json"
        script.write_text(json.dumps({"description": "pytest", "steps": steps}))
        client = make_test_lsp_client()
        converter = client.protocol._converter

        # lsprotocol takes any code action with a `command` for a bare Command, but a
        # CodeAction literal may carry a command object (as Lathe's do): tell them apart
        # by the type of `command`, as editors do.
        def code_action_or_command(value, _):
            if isinstance(value.get("command"), str):
                return converter.structure(value, types.Command)
            return converter.structure(value, types.CodeAction)

        converter.register_structure_hook(Union[types.Command, types.CodeAction], code_action_or_command)
        editor = Editor(client, workspace.resolve(), tmp_path / "state", tmp_path / "report.json")

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams):
            return editor.apply(params)

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def show_message_request(params: types.ShowMessageRequestParams):
            editor.prompts.append(params)
            return types.MessageActionItem(title=editor.press)

        await client.start_io(
            HOST,
            "--workspace", str(workspace), "--state", str(tmp_path / "state"),
            "--script", str(script), "--report", str(tmp_path / "report.json"),
        )
        editors.append(editor)
        return editor

    yield launch
    for editor in editors:
        await editor.client.shutdown_session()
        await editor.client.stop()
