"""The official Python MCP SDK's stdio client against the shop's MCP server
binary (argv[1]), started as a subprocess as the user alice. Prints one JSON
object per line for tests/mcp_python_stdio.rs."""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


def emit(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def text_of(result):
    return "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")


async def main():
    server = StdioServerParameters(command=sys.argv[1], env={"USER": "alice"})
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            emit("initialized", protocol_version=init.protocol_version, server=init.server_info.name)
            listed = await session.list_tools()
            emit("tools", tools={
                t.name: t.annotations.model_dump(by_alias=True, exclude_none=True) for t in listed.tools
            })
            orders = await session.call_tool("list_orders", {"limit": 1})
            emit("read", is_error=orders.is_error, text=text_of(orders))
            ticket = await session.call_tool("read_ticket", {"ticket_id": "tkt_7"})
            emit("untrusted", is_error=ticket.is_error, text=text_of(ticket))
            refund = await session.call_tool("refund_order", {"order_id": "ord_1002", "amount_cents": 100})
            emit("irreversible", is_error=refund.is_error, text=text_of(refund),
                 structured=refund.structured_content)
    emit("done")


asyncio.run(main())
