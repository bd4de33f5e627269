#!/usr/bin/env bash
# `hush run -- /bin/true` beside a plain spawn of `/bin/true`, at each sandbox configuration this
# machine offers (network off, on, and allow-listed through the proxy), and
# `hush run -- /bin/echo hi` (output, so the redaction rules are compiled), in one run: median,
# min and max wall time of RUNS spawns per row (after 5 warm-ups; rows take turns),
# spawned from Python so every row pays the same fork/exec cost. Also `hush --version` (binary
# start-up alone) and the enforcement line of each configuration.
#
# The policy rows run `hush run --policy` with bench/data/run-policy.toml (the `ide` profile, so
# the filesystem rules and the denies split around are a realistic size), without and with an
# audit log.
#
# Usage: bench/run.sh            (from the repository root)
# Env:   RUNS (default 100); BASE=/path/to/an/older/hush adds its rows beside ours, taking turns
#        in the same rounds (before/after comparisons on a busy machine)
set -u
RUNS=${RUNS:-100}
cargo build --release -q --bin hush || exit 2
H=$PWD/target/release/hush
for flags in "" "--no-namespaces" "--network on --no-namespaces" "--allow-host 127.0.0.1:9"; do
  echo "hush run $flags: $($H run -v $flags -- /bin/true 2>&1)"
done
echo
P=$PWD/bench/data/run-policy.toml
AUDIT=$(mktemp -d)/audit.jsonl
echo "hush run --policy: $($H run -v --policy "$P" -- /bin/true 2>&1)"
echo
python3 - "$H" "$RUNS" "$P" "$AUDIT" "${BASE:-}" <<'PY'
import statistics, subprocess, sys, time
h, runs, policy, audit, old = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rows = [
    ("/bin/true (plain spawn)", ["/bin/true"]),
    ("hush --version (start-up)", [h, "--version"]),
    ("hush run: isolated (default)", [h, "run", "--", "/bin/true"]),
    ("hush run: strict (--no-namespaces)", [h, "run", "--no-namespaces", "--", "/bin/true"]),
    ("hush run: --network on --no-namespaces", [h, "run", "--network", "on", "--no-namespaces", "--", "/bin/true"]),
    ("hush run: --allow-host (proxy, isolated)", [h, "run", "--allow-host", "127.0.0.1:9", "--", "/bin/true"]),
    ("hush run: --allow-host --no-namespaces", [h, "run", "--allow-host", "127.0.0.1:9", "--no-namespaces", "--", "/bin/true"]),
    ("hush run --max-processes 64 (watchdog, isolated)", [h, "run", "--max-processes", "64", "--", "/bin/true"]),
    ("hush run --max-processes 64 --no-namespaces", [h, "run", "--max-processes", "64", "--no-namespaces", "--", "/bin/true"]),
    ("hush run --policy (ide profile)", [h, "run", "--policy", policy, "--", "/bin/true"]),
    ("hush run --policy --audit-log", [h, "run", "--policy", policy, "--audit-log", audit, "--", "/bin/true"]),
    ("/bin/echo hi (plain spawn)", ["/bin/echo", "hi"]),
    ("hush run -- /bin/echo hi (rules compiled)", [h, "run", "--", "/bin/echo", "hi"]),
]
if old:
    rows[2:2] = [
        ("BASE run: isolated (default)", [old, "run", "--", "/bin/true"]),
        ("BASE run: strict (--no-namespaces)", [old, "run", "--no-namespaces", "--", "/bin/true"]),
        ("BASE run: --network on --no-namespaces", [old, "run", "--network", "on", "--no-namespaces", "--", "/bin/true"]),
    ]
    rows += [
        ("BASE run --policy (ide profile)", [old, "run", "--policy", policy, "--", "/bin/true"]),
        ("BASE run -- /bin/echo hi (rules compiled)", [old, "run", "--", "/bin/echo", "hi"]),
    ]
# Round-robin: every row takes its turn in each round, so load from other processes falls on all
# rows alike.
for name, cmd in rows:
    for _ in range(5):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
times = {name: [] for name, _ in rows}
for _ in range(runs):
    for name, cmd in rows:
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times[name].append((time.perf_counter() - t) * 1e3)
base = None
print("%-42s %9s %9s %9s %10s" % ("command, %d runs" % runs, "median", "min", "max", "overhead"))
for name, _ in rows:
    t = times[name]
    med = statistics.median(t)
    base = med if base is None else base
    print("%-42s %6.2f ms %6.2f ms %6.2f ms %7.2f ms" % (name, med, min(t), max(t), med - base))

# A long-running wrapper: one `hush run --policy --commands -` process, `runs` commands.
per = []
for _ in range(5):
    t = time.perf_counter()
    subprocess.run([h, "run", "--policy", policy, "--commands", "-"], input=b'["/bin/true"]\n' * runs,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    per.append((time.perf_counter() - t) * 1e3 / runs)
print("%-42s %6.2f ms (median of 5 batches of %d)" % ("--policy --commands, per command", statistics.median(per), runs))
PY
