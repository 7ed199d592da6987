#!/usr/bin/env bash
# bench/remote.sh [JOBSPLIT] - a study from one place over ssh, side by side with GNU parallel.
#
# 3 separate hosts (tests/remote/sshhosts) x JOBS_PER_HOST (default 1000) short jobs, each writing
# one small file. Timed from the command on the laptop to a merged results.csv with every job's
# file on the laptop: `jobsplit launch; jobsplit watch; jobsplit collect --merge`, then
# `parallel --ssh ... -S 2/host1,2/host2,2/host3 --basefile job.sh --return {}.out --cleanup`.
# PARALLEL_JOBS_PER_HOST sets GNU parallel's count apart (it takes ~0.2 s a job). Also: launch time per host, and an unchanged collect's time and bytes per host. Root only
# (sshd, namespaces); installs GNU parallel and rsync from Debian packages when missing. A
# benchmark, not a test: it prints figures.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$REPO/target/release/jobsplit}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
N=${JOBS_PER_HOST:-1000}
PN=${PARALLEL_JOBS_PER_HOST:-$N} # GNU parallel takes ~0.2 s a job: fewer keeps the bench short
SH=$REPO/tests/remote/sshhosts
export SSHHOSTS_BASE=${SSHHOSTS_BASE:-/tmp/sshhosts-remote-bench}
[[ $(id -u) -eq 0 ]] || { echo "bench/remote.sh needs root (sshd, namespaces)" >&2; exit 1; }
command -v parallel >/dev/null && command -v rsync >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq parallel rsync >/dev/null; }
TMP=$(mktemp -d /tmp/jobsplit-bench-remote.XXXXXX)
trap 'bash "$SH/stop.sh" "$SSHHOSTS_BASE" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
bash "$SH/stop.sh" "$SSHHOSTS_BASE" >/dev/null 2>&1 || true
bash "$SH/start.sh" 3 "$SSHHOSTS_BASE" >/dev/null
source "$SSHHOSTS_BASE/env.sh"
export JOBSPLIT_SSH=$SSHHOSTS_SSH
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l | xargs printf '%.2f'; }
total=$((3 * N))

# ---- jobsplit
S=$TMP/study
mkdir -p "$S" && cd "$S"
seq 0 $((total - 1)) >jobs.txt
cat >machines.json <<'EOF2'
{"h1": {"weight": 1, "cores": 2, "ssh": "host1"}, "h2": {"weight": 1, "cores": 2, "ssh": "host2"},
 "h3": {"weight": 1, "cores": 2, "ssh": "host3"}}
EOF2
cat >jobsplit.toml <<'EOF2'
[jobs]
file = "jobs.txt"
command = "mkdir -p \"$JOBSPLIT_OUT\" && echo {} > \"$JOBSPLIT_OUT/o.txt\""
[run]
status_interval = "0.2s"
EOF2
t0=$(now)
"$BIN" launch --binary "$BIN" >"$TMP/launch.out"
t1=$(now)
"$BIN" watch --interval 0.2s >/dev/null
"$BIN" collect --merge --out merged >"$TMP/collect.out"
t2=$(now)
files=$(find merged/jobs -name o.txt | wc -l)
"$BIN" collect >"$TMP/again.out"
t3=$(now)
"$BIN" launch --binary "$BIN" >"$TMP/relaunch.out"
t4=$(now)
load() { echo "(load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"; }
echo "jobsplit: $total jobs on 3 hosts x 2 slots, command to merged with every file here: $(secs "$t0" "$t2") s ($files files) $(load)"
echo "  launch (3 hosts at once, binary and payload sent): $(secs "$t0" "$t1") s"
sed 's/^/    /' "$TMP/launch.out"
echo "  unchanged collect (3 hosts at once): $(secs "$t2" "$t3") s $(load)"
sed 's/^/    /' "$TMP/again.out"
echo "  launch of the done study (3 hosts at once, nothing to send): $(secs "$t3" "$t4") s $(load)"
sed 's/^/    /' "$TMP/relaunch.out"
# The user's own persistent masters (docs/remote.md): the connections outlive each command.
KEEP="$SSHHOSTS_SSH -o ControlPath=$TMP/cm-%C -o ControlPersist=60"
JOBSPLIT_SSH=$KEEP "$BIN" collect >/dev/null
t5=$(now)
JOBSPLIT_SSH=$KEEP "$BIN" collect >"$TMP/again-kept.out"
t6=$(now)
JOBSPLIT_SSH=$KEEP "$BIN" launch --binary "$BIN" >"$TMP/relaunch-kept.out"
t7=$(now)
echo "  with ControlPath and ControlPersist in JOBSPLIT_SSH (connections kept between commands):"
echo "    unchanged collect: $(secs "$t5" "$t6") s $(load)"
sed 's/^/      /' "$TMP/again-kept.out"
echo "    launch of the done study: $(secs "$t6" "$t7") s $(load)"
sed 's/^/      /' "$TMP/relaunch-kept.out"
for h in host1 host2 host3; do $KEEP -O exit "$h" >/dev/null 2>&1 || true; done

# ---- GNU parallel
P=$TMP/par
mkdir -p "$P" && cd "$P"
printf '#!/bin/sh\necho "$1"\n' >job.sh
seq 0 $((3 * PN - 1)) >jobs
t0=$(now)
parallel --ssh "$SSHHOSTS_SSH" -S 2/host1,2/host2,2/host3 --basefile job.sh \
    --return '{}.out' --cleanup 'sh job.sh {} > {}.out' :::: jobs 2>"$TMP/par.err" || true
t1=$(now)
pfiles=$(ls "$P"/*.out 2>/dev/null | wc -l)
echo "GNU parallel --sshlogin --basefile --return --cleanup: $((3 * PN)) jobs in $(secs "$t0" "$t1") s ($pfiles files back) $(load)"
