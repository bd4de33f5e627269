#!/usr/bin/env bash
# Engine throughput beside gitleaks and kingfisher, one thread each, on the corpora from
# ../shared/bench/make_corpora.sh, in one run. Also prints recall on the planted corpora.
#
# Usage: bench/engine.sh            (from the repository root)
# Env:   W (corpora root, default /tmp/hush-bench), PEERS (default /tmp/hush-peers), RUNS (default 3)
#
# The hush figure is the `throughput` example: it reads each file whole and runs RuleSet::find
# over it in ~4 MiB line-aligned chunks on one thread; wall time includes start-up and reading.
set -u
W=${W:-/tmp/hush-bench}; C=$W/corpus; PEERS=${PEERS:-/tmp/hush-peers}; RUNS=${RUNS:-3}
GL=$PEERS/native/gitleaks; KF=$PEERS/native/kingfisher
KFF="--no-validate --git-history none --no-update-check -q --format json --max-file-size 0"
# Reports go to a scratch file: gitleaks replaces its --report-path, which turns /dev/null into a
# regular file when pointed at it.
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
[ -d "$C" ] || { echo "no corpora in $C: run ../shared/bench/make_corpora.sh" >&2; exit 2; }
[ -x "$GL" ] && [ -x "$KF" ] || { echo "no peers in $PEERS: run ../shared/bench/install_peers.sh" >&2; exit 2; }
cargo build --release -q -p hush-patterns --example throughput || exit 2
T=./target/release/examples/throughput

. "$(dirname "$0")/measure.sh"

L=$(du -sb "$C/logs.txt" | cut -f1); S=$(du -sb "$C/src" | cut -f1)
cat "$C/logs.txt" >/dev/null; find "$C/src" -type f -print0 | xargs -0 cat >/dev/null
echo "logs.txt: $L bytes; src/: $S bytes; median of $RUNS runs (gitleaks on logs: 1 run)"
measure "hush engine, 1 thread (logs)"      "$L" "$RUNS" "$T $C/logs.txt"
measure "kingfisher -j1 (logs)"             "$L" "$RUNS" "$KF scan $C/logs.txt -j 1 $KFF -o $OUT/kf.json"
measure "gitleaks stdin (logs)"             "$L" 1       "$GL stdin --no-banner --exit-code 0 --report-format json --report-path $OUT/gl.json < $C/logs.txt"
measure "hush engine, 1 thread (src)"       "$S" "$RUNS" "$T $C/src"
measure "kingfisher -j1 (src)"              "$S" "$RUNS" "$KF scan $C/src -j 1 $KFF -o $OUT/kf.json"
measure "gitleaks dir (src, 2 cores)"       "$S" 1       "$GL dir $C/src --no-banner --exit-code 0 --report-format json --report-path $OUT/gl.json"
echo
echo "recall:"
$T --truth "$C/logs_truth.jsonl" "$C/logs.txt" | grep -E "^recall|missed"
$T --truth "$C/planted_truth.jsonl" "$C/planted" | grep -E "^recall|missed"
