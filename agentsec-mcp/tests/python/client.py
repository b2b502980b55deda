"""An independent MCP client for the agentsec-mcp tests: the official Python
MCP SDK (pinned in .ci/run) against an agentsec server over Streamable HTTP.

Prints one JSON object per line for the Rust test to check. After the first
call of the irreversible tool it prints the pending approval id and waits
for a line on stdin (the test approves the call in between).

Environment: MCP_URL, MCP_TOKEN (valid), MCP_TOKEN_EXPIRED,
MCP_TOKEN_OTHER_AUDIENCE.
"""

import asyncio
import json
import os
import sys

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

URL = os.environ["MCP_URL"]
APPROVAL_KEY = "io.agentsec/approval"


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def result_fields(result):
    texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    return {
        "is_error": result.is_error,
        "text": "\n".join(texts),
        "structured": result.structured_content,
    }


async def refused_requests():
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"accept": "application/json, text/event-stream"}
    cases = {
        "missing": None,
        "expired": os.environ["MCP_TOKEN_EXPIRED"],
        "other_audience": os.environ["MCP_TOKEN_OTHER_AUDIENCE"],
    }
    out = {}
    async with httpx2.AsyncClient() as client:
        for name, token in cases.items():
            h = dict(headers)
            if token is not None:
                h["authorization"] = f"Bearer {token}"
            response = await client.post(URL, json=body, headers=h)
            out[name] = {
                "status": response.status_code,
                "www_authenticate": response.headers.get("www-authenticate"),
            }
    emit("refused", **out)


async def session_steps():
    http = create_mcp_http_client(headers={"authorization": f"Bearer {os.environ['MCP_TOKEN']}"})
    async with http:
        async with streamable_http_client(URL, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                emit("initialized", protocol_version=init.protocol_version,
                     server=init.server_info.name)

                listed = await session.list_tools()
                emit("tools", tools=[
                    {
                        "name": tool.name,
                        "annotations": tool.annotations.model_dump(by_alias=True, exclude_none=True)
                        if tool.annotations else None,
                        "input_schema": tool.input_schema,
                    }
                    for tool in listed.tools
                ])

                read_result = await session.call_tool("lookup_order", {"order_id": "o-7"})
                emit("read", **result_fields(read_result))

                page = await session.call_tool("fetch_page", {"url": "https://example.org"})
                emit("untrusted", **result_fields(page))

                refund = {"order_id": "o-7", "amount_cents": 700}
                first = await session.call_tool("refund", refund)
                emit("irreversible_first", **result_fields(first))
                approval_id = (first.structured_content or {}).get("approval_id")
                emit("pending", approval_id=approval_id)
                line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
                if line.strip() != "approved":
                    emit("aborted", line=line)
                    return

                second = await session.call_tool("refund", refund, meta={APPROVAL_KEY: approval_id})
                emit("irreversible_second", **result_fields(second))
                third = await session.call_tool("refund", refund, meta={APPROVAL_KEY: approval_id})
                emit("irreversible_third", **result_fields(third))


async def main():
    await refused_requests()
    await session_steps()
    emit("done")


asyncio.run(main())
