#!/bin/sh
# Times `jobsplit merge` of 1M rows in 10 output dirs (bench/gen_outputs.py, cached) and prints
# wall seconds and peak RSS per round; with a second binary, runs them in alternation so that a
# busy machine slows both alike.
#
#   bench/merge_bench.sh [JOBSPLIT [BASELINE_JOBSPLIT]] [ROUNDS]   (env: ROWS, DATA, INPUTS=1 for
#   rows with input columns and a command, as runs write them since issue 12)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-target/release/jobsplit}
base=${2:-}
rounds=${3:-5}
rows=${ROWS:-1000000}
inputs=${INPUTS:-}
data=${DATA:-target/bench/merge-data-$rows${inputs:+-inputs}}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
if [ ! -f "$data/m09/manifest.json" ]; then
    python3 "$here/gen_outputs.py" "$data" "$rows" --machines 10 ${inputs:+--inputs}
fi
cat "$data"/*/results.csv "$data"/*/log.gz > /dev/null    # into the page cache
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
one() {
    rm -rf "$out/merged"
    /usr/bin/time -f "$2: %e s wall, %M KB peak RSS, %U s user, %S s sys" \
        "$1" merge "$data" --out "$out/merged" > /dev/null 2> "$out/err" || true
    tail -n 1 "$out/err"
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
i=0
while [ "$i" -lt "$rounds" ]; do
    one "$bin" jobsplit
    [ -n "$base" ] && one "$base" baseline
    i=$((i + 1))
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
