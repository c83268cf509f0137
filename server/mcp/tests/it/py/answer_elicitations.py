"""A person at an MCP client connected to Lathe's /mcp (Python SDK client, 2025-11-25
lifecycle, form elicitation declared). Prints JSON lines.

    answer_elicitations.py watch <url> <token>   never answers: prints {"ready": true} once
        connected, {"asked": message} per question and {"withdrawn": message} when Lathe
        withdraws it; exits when stdin closes
    answer_elicitations.py exec <url> <token> <command>   runs sandbox_exec and never answers
        its approval (prints as `watch` does), then {"result": text}
    answer_elicitations.py run <url> <token> <prompt>   runs a task: allows Lathe's approvals
        once, answers other forms with {"seats": 3, "window": true}; prints what it was asked,
        the answer and the session's transcript
"""

import asyncio
import json
import sys

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def say(value) -> None:
    print(json.dumps(value), flush=True)


async def main() -> None:
    role, url, token = sys.argv[1], sys.argv[2], sys.argv[3]
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120)
    asked = []

    async def never_answer(context, params):
        say({"asked": params.message})
        try:
            await asyncio.Event().wait()
        finally:
            say({"withdrawn": params.message})

    async def answer(context, params):
        asked.append(params.message)
        if params.message.startswith("Lathe asks to"):
            return types.ElicitResult(action="accept", content={"decision": "allow_once"})
        return types.ElicitResult(action="accept", content={"seats": 3, "window": True})

    async with Client(
        streamable_http_client(url, http_client=http),
        mode="legacy",
        elicitation_callback=answer if role == "run" else never_answer,
        read_timeout_seconds=120,
    ) as client:
        if role == "watch":
            say({"ready": True})
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
            return
        if role == "exec":
            ran = await client.call_tool("sandbox_exec", {"command": sys.argv[4]})
            say({"result": ran.content[0].text})
            return
        run = await client.call_tool("run_task", {"prompt": sys.argv[4]})
        structured = run.structured_content or {}
        resource = await client.read_resource(f"lathe://sessions/{structured.get('sessionId')}")
        say(
            {
                "asked": asked,
                "status": structured.get("status"),
                "answer": structured.get("answer"),
                "transcript": resource.contents[0].text,
            }
        )


asyncio.run(main())
