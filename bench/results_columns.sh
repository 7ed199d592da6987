#!/bin/sh
# Times a run whose jobs bring new result columns (issue 19, defect 14): JOBS jobs on 2 slots,
# of which K each write a result with a column of its own (`{"c<i>": 1}` to $JOBSPLIT_RESULT)
# and the others run `true`; the plan spreads the K among the others. Every new column used to
# rewrite the whole results.csv (rows x columns^2); now a burst is folded in at once. Prints the
# run's wall time per K and its excess over K = 0 (the same jobs without new columns).
#
#   bench/results_columns.sh [JOBSPLIT] [K...]   (env: JOBS, default 10000; K default 0 500 1000 2000)
set -eu
bin=$(realpath "${1:-target/release/jobsplit}")
[ $# -gt 0 ] && shift
ks=${*:-0 500 1000 2000}
jobs=${JOBS:-10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
echo '{"bench": [1, 2]}' > machines.json
base=
printf '%6s %6s %10s %10s %12s\n' jobs K "wall s" "excess s" "columns"
for k in $ks; do
    : > jobs.txt
    i=0
    while [ "$i" -lt "$jobs" ]; do
        if [ "$i" -lt "$k" ]; then
            echo "echo '{\"c$i\": 1}' > \"\$JOBSPLIT_RESULT\"" >> jobs.txt
        else
            echo "true # $i" >> jobs.txt
        fi
        i=$((i + 1))
    done
    rm -rf out
    start=$(date +%s.%N)
    "$bin" run --jobs jobs.txt --machines machines.json --machine bench --yes --quiet
    end=$(date +%s.%N)
    wall=$(echo "$end - $start" | bc)
    [ -z "$base" ] && base=$wall
    cols=$(head -n 1 out/bench/results.csv | tr ',' '\n' | wc -l)
    printf '%6s %6s %10.2f %10.2f %12s\n' "$jobs" "$k" "$wall" "$(echo "$wall - $base" | bc)" "$cols"
done
