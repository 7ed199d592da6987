#!/bin/sh
# Times `jobsplit merge` of a study whose jobs keep files (issue 12, collected files): 2 machines
# x JOBS/2 jobs, each writing 2 small files into $JOBSPLIT_OUT, with --job-logs. Merges with the
# files collected (hard links), with --no-files, and into a tmpfs (copies, when /dev/shm is one),
# ROUNDS times each, in alternation.
#
#   bench/merge_files.sh [JOBSPLIT] [ROUNDS]   (env: JOBS, default 10000)
set -eu
bin=$(realpath "${1:-target/release/jobsplit}")
rounds=${2:-3}
jobs=${JOBS:-10000}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
work=$(mktemp -d)
shm=
if [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
    shm=$(mktemp -d /dev/shm/jobsplit-bench.XXXXXX)
fi
trap 'rm -rf "$work" ${shm:+"$shm"}' EXIT
cd "$work"
seq 0 $((jobs - 1)) > jobs.txt
echo '{"a": [1, 2], "b": [1, 2]}' > machines.json
cmd='mkdir -p "$JOBSPLIT_OUT/sub" && echo {} > "$JOBSPLIT_OUT/a.txt" && echo {} > "$JOBSPLIT_OUT/sub/b.txt"'
for m in a b; do
    "$bin" run --jobs jobs.txt --cmd "$cmd" --machines machines.json --machine "$m" \
        --job-logs --yes --quiet
done
echo "study: $jobs jobs on 2 machines, 2 files each + a per-job log ($(du -sh out | cut -f1) in out/)"
one() {
    label=$1
    shift
    rm -rf "$@" merged "$shm/merged" 2>/dev/null || true
    sync
    /usr/bin/time -f "$label: %e s wall, %M KB peak RSS" "$bin" merge out "$@" > stdout 2> err || true
    tail -n 1 err
    grep collected stdout || true
}
i=0
while [ "$i" -lt "$rounds" ]; do
    one "merge, files linked" -o merged
    one "merge --no-files   " -o merged --no-files
    [ -n "$shm" ] && one "merge, files copied (tmpfs)" -o "$shm/merged"
    i=$((i + 1))
done
