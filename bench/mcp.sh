#!/usr/bin/env bash
# Latency `hush mcp` adds to a tool call: sequential `tools/call` round trips to the fake MCP
# server (tests/data/mcp/fake_server.py), directly and through `hush mcp`, in one run.
# Through hush the server runs in the sandbox (Landlock, seccomp, namespaces: the strongest
# level the machine offers), and every call goes through the full guard: argument checks,
# trust, rate limit, redaction search of the request and the result. Two guards: the built-in
# rules (flags), and a policy (`--policy`, PolicyGuard: the call is also decided by the
# policy's [[mcp]] rules with an argument constraint).
#
# Usage: bench/mcp.sh        (from the repository root)
# Env:   CALLS (default 2000), RUNS (default 3)
set -u
CALLS=${CALLS:-2000}; RUNS=${RUNS:-3}
cargo build --release -q --bin hush || exit 2
H=./target/release/hush
# The real interpreter (not a pyenv shim): the sandbox runs it, with its prefixes allowed.
read -r PY PRE BASE < <(python3 -c 'import sys; print(sys.executable, sys.prefix, sys.base_prefix)')
S="$PY tests/data/mcp/fake_server.py"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
cat > "$T/policy.toml" <<POLICY
[[filesystem]]
id = "runtime"
paths = ["/usr/**", "/lib/**", "/lib64/**", "$PRE/**", "$BASE/**", "$PWD/tests/data/mcp/**"]
rights = ["read", "execute"]

[[commands]]
id = "server"
program = "python*"

[[mcp]]
id = "echo"
server = "fake"
tool = "echo"
[mcp.args.text]
max_len = 1000000
required = true
POLICY
FLAGS=(--allow-exec "$PRE" --allow-exec "$BASE" --allow-read "$PWD/tests/data/mcp")
LIMITS=(--rate-limit 1000000 --server-rate-limit 1000000)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median round trip of $CALLS sequential tools/call (µs), median of $RUNS runs; p99 in brackets"
printf '%-10s %14s %22s %22s\n' payload direct "hush mcp (sandbox)" "hush mcp --policy"
for size in 100 16384; do
  d=(); h=(); p=(); dp=(); hp=(); pp=()
  for _ in $(seq "$RUNS"); do
    read -r m q < <(python3 bench/mcp_client.py "$CALLS" "$size" -- $S); d+=("$m"); dp+=("$q")
    read -r m q < <(python3 bench/mcp_client.py "$CALLS" "$size" -- setsid -w $H mcp --trust-file "$T/trust.json" "${LIMITS[@]}" "${FLAGS[@]}" -- $S); h+=("$m"); hp+=("$q")
    read -r m q < <(python3 bench/mcp_client.py "$CALLS" "$size" -- setsid -w $H mcp --trust-file "$T/trust.json" "${LIMITS[@]}" --policy "$T/policy.toml" --server-name fake -- $S); p+=("$m"); pp+=("$q")
  done
  D=$(printf '%s\n' "${d[@]}" | median); Hm=$(printf '%s\n' "${h[@]}" | median); Pm=$(printf '%s\n' "${p[@]}" | median)
  DP=$(printf '%s\n' "${dp[@]}" | median); HP=$(printf '%s\n' "${hp[@]}" | median); PP=$(printf '%s\n' "${pp[@]}" | median)
  printf '%-10s %8s [%4s] %8s [%4s] +%-6s %8s [%4s] +%-6s\n' "${size}B" "$D" "$DP" "$Hm" "$HP" "$((Hm - D))" "$Pm" "$PP" "$((Pm - D))"
done
