# Sourced by the bench scripts: `measure NAME BYTES RUNS CMD...` prints the median wall time of
# RUNS runs of CMD (after one warm-up when RUNS > 1), MB/s, and the peak RSS of the median run.
measure() {
  local name=$1 size=$2 runs=$3; shift 3
  # one warm-up run, except for single runs (the slow peers: the input is already in the page cache)
  [ "$runs" -gt 1 ] && { sh -c "$*" >/dev/null 2>&1 || true; }
  for _ in $(seq "$runs"); do
    # peers exit non-zero when they find something; keep only time's own line
    /usr/bin/time -f "TIME %e %M" sh -c "$*" 2>&1 >/dev/null | grep '^TIME ' | cut -d' ' -f2-
  done | sort -n | awk -v n="$name" -v s="$size" -v r="$runs" '
    { w[NR]=$1; m[NR]=$2 } END { i=int((r+1)/2); printf "%-34s %8.2f s %9.1f MB/s %8.1f MiB\n", n, w[i], s/1e6/w[i], m[i]/1024 }'
}
