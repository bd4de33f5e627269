#!/usr/bin/env bash
# Latency `hush mcp` adds to a tool call: sequential `tools/call` round trips to the fake MCP
# server (tests/data/mcp/fake_server.py), directly and through `hush mcp`, in one run.
# Every call goes through the full guard: argument checks, trust, rate limit, redaction search
# of the request and the result.
#
# Usage: bench/mcp.sh        (from the repository root)
# Env:   CALLS (default 2000), RUNS (default 3)
set -u
CALLS=${CALLS:-2000}; RUNS=${RUNS:-3}
cargo build --release -q --bin hush || exit 2
H=./target/release/hush
S="python3 tests/data/mcp/fake_server.py"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median round trip of $CALLS sequential tools/call (µs), median of $RUNS runs; p99 in brackets"
printf '%-10s %14s %14s %10s\n' payload direct "hush mcp" added
for size in 100 16384; do
  d=(); h=(); dp=(); hp=()
  for _ in $(seq "$RUNS"); do
    read -r m p < <(python3 bench/mcp_client.py "$CALLS" "$size" -- $S); d+=("$m"); dp+=("$p")
    read -r m p < <(python3 bench/mcp_client.py "$CALLS" "$size" -- setsid -w $H mcp --trust-file "$T/trust.json" --rate-limit 1000000 --server-rate-limit 1000000 -- $S); h+=("$m"); hp+=("$p")
  done
  D=$(printf '%s\n' "${d[@]}" | median); Hm=$(printf '%s\n' "${h[@]}" | median)
  DP=$(printf '%s\n' "${dp[@]}" | median); HP=$(printf '%s\n' "${hp[@]}" | median)
  printf '%-10s %8s [%4s] %8s [%4s] %10s\n' "${size}B" "$D" "$DP" "$Hm" "$HP" "$((Hm - D))"
done
