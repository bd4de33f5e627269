#!/usr/bin/env python3
"""The official MCP Python SDK's stdio client, for hush's end-to-end tests with real servers.

Usage: sdk_calls.py CALLS_JSON -- CMD ARGS
CALLS_JSON is a list of [tool, arguments]. Initializes, lists tools, makes each call in order and
prints one JSON object: the server name, the tool names, and each call's isError and text.
"""
import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

calls = json.loads(sys.argv[1])
cmd = sys.argv[sys.argv.index("--") + 1:]


async def main():
    params = StdioServerParameters(command=cmd[0], args=cmd[1:])
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            results = []
            for name, args in calls:
                r = await session.call_tool(name, args)
                text = "".join(c.text for c in r.content if getattr(c, "text", None) is not None)
                is_error = getattr(r, "is_error", None)
                if is_error is None:
                    is_error = r.isError
                results.append({"isError": is_error, "text": text})
            print(json.dumps({
                "server": (getattr(init, "server_info", None) or init.serverInfo).name,
                "tools": [t.name for t in tools.tools],
                "calls": results,
            }))


asyncio.run(main())
