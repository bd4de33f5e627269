#!/usr/bin/env python3
"""Round-trip latency of MCP tool calls, for bench/mcp.sh.

Usage: mcp_client.py CALLS PAYLOAD_BYTES -- SERVER_CMD ARGS
Starts the command, initializes, lists tools, then makes CALLS sequential `tools/call echo`
requests whose argument holds PAYLOAD_BYTES of text, each waiting for its answer. Prints the
median and 99th percentile round trip in microseconds.
"""
import json
import subprocess
import sys
import time

calls, size = int(sys.argv[1]), int(sys.argv[2])
cmd = sys.argv[sys.argv.index("--") + 1:]
p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
out = p.stdout


def rpc(i, method, params):
    p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}) + "\n").encode())
    return out.readline()


rpc(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}})
rpc(1, "tools/list", {})
text = ("lorem ipsum dolor sit amet " * (size // 27 + 1))[:size]
times = []
for i in range(calls):
    t0 = time.perf_counter_ns()
    line = rpc(i + 2, "tools/call", {"name": "echo", "arguments": {"text": text}})
    times.append((time.perf_counter_ns() - t0) / 1000)
    assert b'"isError": false' in line or b'"isError":false' in line, line[:200]
p.stdin.close()
p.wait()
times.sort()
print("%.0f %.0f" % (times[len(times) // 2], times[int(len(times) * 0.99)]))
