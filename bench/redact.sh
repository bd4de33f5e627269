#!/usr/bin/env bash
# `redact` on 1 GiB of generated logs beside `cat | cat`, gitleaks and kingfisher, in one run:
# wall time, throughput and peak memory. Corpora from ../shared/bench/make_corpora.sh, peers
# from ../shared/bench/install_peers.sh.
#
# Usage: bench/redact.sh            (from the repository root)
# Env:   W (corpora root, default /tmp/hush-bench), PEERS (default /tmp/hush-peers), RUNS (default 3),
#        PEER_RUNS (default 1: gitleaks needs ~2 minutes per run on this file)
set -u
W=${W:-/tmp/hush-bench}; C=$W/corpus; PEERS=${PEERS:-/tmp/hush-peers}; RUNS=${RUNS:-3}; PEER_RUNS=${PEER_RUNS:-1}
GL=$PEERS/native/gitleaks; KF=$PEERS/native/kingfisher
KFF="--no-validate --git-history none --no-update-check -q --format json --max-file-size 0"
[ -f "$C/logs.txt" ] || { echo "no corpora in $C: run ../shared/bench/make_corpora.sh" >&2; exit 2; }
cargo build --release -q --bin redact || exit 2
R=./target/release/redact
# Reports go to a scratch dir: gitleaks replaces its --report-path (it would turn /dev/null into a file).
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT

. "$(dirname "$0")/measure.sh"

L=$(du -sb "$C/logs.txt" | cut -f1)
cat "$C/logs.txt" >/dev/null
echo "logs.txt: $L bytes; median of $RUNS runs ($PEER_RUNS for the peers); peak RSS of the whole pipeline's slowest process"
measure "cat | cat"                    "$L" "$RUNS" "cat $C/logs.txt | cat"
measure "cat | redact"                 "$L" "$RUNS" "cat $C/logs.txt | $R"
measure "redact < file"                "$L" "$RUNS" "$R < $C/logs.txt"
measure "gitleaks stdin"               "$L" "$PEER_RUNS" "$GL stdin --no-banner --exit-code 0 --report-format json --report-path $OUT/gl.json < $C/logs.txt"
measure "kingfisher -j1 (file)"        "$L" "$PEER_RUNS" "$KF scan $C/logs.txt -j 1 $KFF -o $OUT/kf.json"
echo
echo "secrets left in redact's output (planted values from logs_truth.jsonl):"
$R < "$C/logs.txt" > "$OUT/clean.txt"
python3 - "$C/logs_truth.jsonl" "$OUT/clean.txt" <<'PY'
import json, sys
truth = [json.loads(l) for l in open(sys.argv[1])]
data = open(sys.argv[2], "rb").read()
left = [t for t in truth if t["secret"].encode() in data]
print("  %d of %d planted secrets survive" % (len(left), len(truth)))
PY
echo
echo "start-up: redact </dev/null with the built-in rules, 30 runs:"
python3 - "$R" <<'PY'
import statistics, subprocess, sys, time
times = []
for _ in range(30):
    t = time.perf_counter()
    subprocess.run([sys.argv[1]], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    times.append((time.perf_counter() - t) * 1e3)
print("  median %.1f ms, min %.1f ms, max %.1f ms" % (statistics.median(times), min(times), max(times)))
PY
