#!/usr/bin/env bash
# `hush scan` beside gitleaks and kingfisher on the generated source tree and the planted corpus,
# at the same thread counts, in one run: wall time, throughput, peak memory, planted secrets
# found, findings reported; then `hush scan --staged` on a one-file commit, end to end.
# Corpora from ../shared/bench/make_corpora.sh, peers from ../shared/bench/install_peers.sh.
#
# Usage: bench/scan.sh              (from the repository root)
# Env:   W (corpora root, default /tmp/hush-bench), PEERS (default /tmp/hush-peers), RUNS (default 3)
set -u
W=${W:-/tmp/hush-bench}; C=$W/corpus; PEERS=${PEERS:-/tmp/hush-peers}; RUNS=${RUNS:-3}
GL=$PEERS/native/gitleaks; KF=$PEERS/native/kingfisher
KFF="--no-validate --git-history none --no-update-check -q --format json --max-file-size 0"
[ -d "$C/src" ] || { echo "no corpora in $C: run ../shared/bench/make_corpora.sh" >&2; exit 2; }
[ -x "$GL" ] && [ -x "$KF" ] || { echo "no peers in $PEERS: run ../shared/bench/install_peers.sh" >&2; exit 2; }
cargo build --release -q --bin hush || exit 2
H=$(pwd)/target/release/hush
# Reports go to a scratch dir: gitleaks replaces its --report-path (it would turn /dev/null into a file).
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
HF="--no-config --no-progress -q --format json"

. "$(dirname "$0")/measure.sh"

find "$C/src" "$C/planted" -type f -print0 | xargs -0 cat >/dev/null
S=$(du -sb "$C/src" | cut -f1); P=$(du -sb "$C/planted" | cut -f1)
echo "src/: $S bytes, planted/: $P bytes; median of $RUNS runs; peak RSS"
for j in 1 2; do
  measure "hush scan -j$j (src)"        "$S" "$RUNS" "$H scan $C/src -j $j $HF"
  measure "kingfisher -j$j (src)"       "$S" "$RUNS" "$KF scan $C/src -j $j $KFF -o $OUT/kf.json"
done
measure "gitleaks dir (src)"            "$S" 1 "$GL dir $C/src --no-banner --exit-code 0 --report-format json --report-path $OUT/gl.json"
measure "hush scan -j2 (planted)"       "$P" "$RUNS" "$H scan $C/planted -j 2 $HF"
measure "kingfisher -j2 (planted)"      "$P" "$RUNS" "$KF scan $C/planted -j 2 $KFF -o $OUT/kf.json"
measure "gitleaks dir (planted)"        "$P" "$RUNS" "$GL dir $C/planted --no-banner --exit-code 0 --report-format json --report-path $OUT/gl.json"

echo
echo "planted secrets found (truth: planted_truth.jsonl) and findings reported, on planted/:"
(cd "$C/planted" && "$H" scan . --no-config --no-progress -q --format json --show-secrets > "$OUT/hush.json")
"$KF" scan "$C/planted" $KFF -o "$OUT/kf.json" >/dev/null 2>&1
"$GL" dir "$C/planted" --no-banner --exit-code 0 --report-format json --report-path "$OUT/gl.json" >/dev/null 2>&1
python3 - "$C/planted_truth.jsonl" "$OUT" <<'PY'
import json, sys
truth = [json.loads(l) for l in open(sys.argv[1])]
def count(path):
    text = open(path).read()
    try:
        data = json.loads(text)
        n = len(data) if isinstance(data, list) else len(data.get("findings", data.get("matches", [])))
    except ValueError:
        n = sum(1 for l in text.splitlines() if l.strip().startswith("{"))
    found = sum(1 for t in truth if t["secret"] in text)
    return found, n
for name, f in [("hush", "hush.json"), ("kingfisher", "kf.json"), ("gitleaks", "gl.json")]:
    found, n = count(sys.argv[2] + "/" + f)
    print("  %-10s %3d of %d planted found, %5d findings reported" % (name, found, len(truth), n))
PY

echo
echo "hush scan --staged, one-file commit in a repository of planted/ ($(find "$C/planted" -type f | wc -l) files), 30 runs:"
R=$OUT/repo; mkdir -p "$R"; cp -r "$C/planted/." "$R/"
(cd "$R" && git init -q && git add -A && git -c user.name=b -c user.email=b@example.com commit -qm init >/dev/null)
f=$(cd "$R" && git ls-files | head -1)
(cd "$R" && echo "new line $RANDOM" >> "$f" && git add "$f")
python3 - "$H" "$R" <<'PY'
import statistics, subprocess, sys, time
times = []
for _ in range(30):
    t = time.perf_counter()
    subprocess.run([sys.argv[1], "scan", "--staged", "-q", "--no-progress"], cwd=sys.argv[2], stdout=subprocess.DEVNULL, check=True)
    times.append((time.perf_counter() - t) * 1e3)
print("  median %.1f ms, min %.1f ms, max %.1f ms" % (statistics.median(times), min(times), max(times)))
PY

echo
echo "history: a repository whose 40 commits add planted/ in batches, then delete 1 file in 10 (secrets stay in history):"
G=$OUT/history; mkdir -p "$G"; (cd "$G" && git init -q)
i=0
find "$C/planted" -type f | sort > "$OUT/files"
split -n l/40 -d "$OUT/files" "$OUT/batch."
for b in "$OUT"/batch.*; do
  while read -r f; do rel=${f#"$C/planted/"}; mkdir -p "$G/$(dirname "$rel")"; cp "$f" "$G/$rel"; done < "$b"
  (cd "$G" && git add -A && git -c user.name=b -c user.email=b@example.com commit -qm "batch $b")
done
(cd "$G" && git ls-files | awk 'NR % 10 == 0' | xargs git rm -q && git -c user.name=b -c user.email=b@example.com commit -qm "delete some")
measure "hush scan --git -j2 (history)"  "$P" "$RUNS" "cd $G && $H scan --git -j 2 $HF"
measure "kingfisher -j2 (history)"       "$P" "$RUNS" "$KF scan $G -j 2 --git-history full --no-validate --no-update-check -q --format json --max-file-size 0 -o $OUT/kfg.json"
measure "gitleaks git (history)"         "$P" 1 "$GL git $G --no-banner --exit-code 0 --report-format json --report-path $OUT/glg.json"
(cd "$G" && "$H" scan --git -j 2 --no-config --no-progress -q --format json --show-secrets > "$OUT/hush.json")
cp "$OUT/hush.json" "$OUT/hushg.json"
python3 - "$C/planted_truth.jsonl" "$OUT" <<'PY'
import json, sys
truth = [json.loads(l) for l in open(sys.argv[1])]
for name, f in [("hush", "hushg.json"), ("kingfisher", "kfg.json"), ("gitleaks", "glg.json")]:
    try:
        text = open(sys.argv[2] + "/" + f).read()
    except OSError:
        print("  %-10s no report" % name); continue
    print("  %-10s %3d of %d planted found in history" % (name, sum(1 for t in truth if t["secret"] in text), len(truth)))
PY
