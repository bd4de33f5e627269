#!/usr/bin/env python3
"""The official MCP Python SDK's stdio client against a server, for hush's interop test.

Usage: sdk_client.py -- CMD ARGS
Initializes, lists tools, calls `get_current_time` (UTC) and `convert_time`, and prints one JSON
object: the server name, the tool names, and each call's isError and text.
"""
import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

cmd = sys.argv[sys.argv.index("--") + 1:]


async def main():
    params = StdioServerParameters(command=cmd[0], args=cmd[1:])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            calls = {}
            for name, args in [
                ("get_current_time", {"timezone": "UTC"}),
                ("convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Europe/Paris"}),
            ]:
                r = await session.call_tool(name, args)
                calls[name] = {"isError": r.is_error, "text": r.content[0].text if r.content else ""}
            print(json.dumps({
                "server": init.server_info.name,
                "tools": [t.name for t in tools.tools],
                "calls": calls,
            }))


asyncio.run(main())
