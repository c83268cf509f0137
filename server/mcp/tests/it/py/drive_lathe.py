"""Drives Lathe's MCP server with the Python SDK's client and prints what it saw as JSON.

    drive_lathe.py stdio <mode> <command> [args...]   launch Lathe as a stdio server
    drive_lathe.py http <mode> <url> <token>          connect to /mcp with a bearer token

<mode> is the client's lifecycle: `legacy` (initialize; approvals by elicitation/create) or
`auto` (server/discover, the 2026-07-28 revision; approvals by input_required rounds).
The script runs a task whose tool call needs approval (answered "allow once" by the
elicitation callback), replies in the session, reads the transcript resource, and runs a
command with `sandbox_exec` (asked about the same way).
"""

import asyncio
import json
import os
import sys

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


async def main() -> None:
    kind, mode = sys.argv[1], sys.argv[2]
    if kind == "stdio":
        transport = StdioServerParameters(command=sys.argv[3], args=sys.argv[4:], env=dict(os.environ))
    else:
        url, token = sys.argv[3], sys.argv[4]
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120)
        transport = streamable_http_client(url, http_client=http)

    asked = []

    async def on_elicit(context, params):
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"decision": "allow_once"})

    progress = []

    async def on_progress(value, total, message):
        progress.append(message)

    notified = []

    async def on_message(message):
        notified.append(type(message).__name__)

    out = {}
    async with Client(
        transport,
        mode=mode,
        elicitation_callback=on_elicit,
        message_handler=on_message,
        read_timeout_seconds=120,
    ) as client:
        out["protocol"] = client.protocol_version
        out["server"] = client.server_info.name if client.server_info else None
        tools = await client.list_tools()
        out["tools"] = sorted(t.name for t in tools.tools)
        out["annotations"] = {
            t.name: [t.annotations.read_only_hint, t.annotations.destructive_hint] for t in tools.tools
        }
        out["has_output_schemas"] = all(t.output_schema is not None for t in tools.tools)
        run = await client.call_tool(
            "run_task", {"prompt": "Echo hi through the blocking server"}, progress_callback=on_progress
        )
        structured = run.structured_content or {}
        session = structured.get("sessionId")
        out["run"] = {
            "isError": run.is_error,
            "status": structured.get("status"),
            "answer": structured.get("answer"),
            "diffSummary": structured.get("diffSummary"),
        }
        out["asked"] = list(asked)
        out["progress"] = progress
        reply = await client.call_tool("reply", {"sessionId": session, "message": "Thanks"})
        out["reply"] = {"isError": reply.is_error, "answer": (reply.structured_content or {}).get("answer")}
        sessions = await client.call_tool("list_sessions", {})
        out["sessions"] = [s["id"] == session for s in sessions.structured_content["sessions"]]
        resource = await client.read_resource(f"lathe://sessions/{session}")
        out["transcript_types"] = [c.mime_type for c in resource.contents]
        out["transcript"] = resource.contents[0].text
        events = json.loads(resource.contents[1].text)["events"]
        out["event_types"] = sorted({e["type"] for e in events})
        diff = await client.read_resource(f"lathe://sessions/{session}/diff")
        out["diff"] = {"mime": diff.contents[0].mime_type, "text": diff.contents[0].text}
        completed = await client.complete(
            types.ResourceTemplateReference(type="ref/resource", uri="lathe://sessions/{id}"),
            {"name": "id", "value": session[:8]},
        )
        out["completes_session"] = session in completed.completion.values
        templates = await client.list_resource_templates()
        out["templates"] = [t.uri_template for t in templates.resource_templates]
        prompts = await client.list_prompts()
        out["prompt_count"] = len(prompts.prompts)
        fix = await client.get_prompt("fix", {"input": "the failing test"})
        out["fix_prompt"] = "the failing test" in fix.messages[0].content.text
        done = await client.call_tool("cancel", {"sessionId": session})
        out["cancel"] = done.structured_content
        missing = await client.call_tool("code_context", {"file": "missing.rs", "line": 1})
        out["missing_file_is_error"] = missing.is_error
        asked_before = len(asked)
        ran = await client.call_tool("sandbox_exec", {"command": "echo approved"})
        out["exec"] = {"asked": asked[asked_before:], "text": ran.content[0].text}
    out["resource_list_changed"] = "ResourceListChangedNotification" in notified
    print(json.dumps(out))


asyncio.run(main())
