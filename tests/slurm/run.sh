#!/usr/bin/env bash
# tests/slurm/run.sh - end-to-end test of the static jobsplit binary on a real Slurm.
#
#   bash tests/slurm/run.sh [PATH-TO-JOBSPLIT]      (or JOBSPLIT_BIN=...; default: the
#                                                     static build of `make static`)
#
# Starts a private one-node Slurm (ci/slurm/start.sh) under a fresh temporary directory,
# then, with the example study of examples/slurm (40 jobs, job i writes {"square": i*i}):
#   1. submits examples/slurm/study.sbatch as a 4-task array (--array=0-3, no --shard: each
#      task finds its shard in the Slurm environment) and the merge as a job that depends on
#      it (afterany); checks every task and the merge ended COMPLETED with exit 0, the four
#      manifests, that each shard ran exactly the jobs `jobsplit plan --shard-count 4 --json`
#      gave it, and that merged/results.csv has every index 0..39 once, ok, square = i*i;
#   2. submits it again as --array=1-4%2 (ids from 1, two at a time): the same plan;
#   3. submits it as --array=1,5,9: every task must refuse to run (ids not contiguous);
#   4. if the binary has `slurm-script`: generates the study's scripts, runs submit.sh and
#      checks the merged result.
# Cancels its jobs and stops the daemons on exit. Prints "N passed, N failed" last.
#
# Needs root or passwordless sudo to start Slurm; without either it says so LOUDLY, prints
# "0 passed, 0 failed, 1 skipped" and exits 0. KEEP=1 keeps the temporary directory.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${1:-${JOBSPLIT_BIN:-$REPO/target/x86_64-unknown-linux-gnu/release/jobsplit}}
STUDY=$REPO/examples/slurm
SHARDS=4
NJOBS=$(grep -c . "$STUDY/jobs.txt")
TIMEOUT=${SLURM_TEST_TIMEOUT:-180}

pass=0
fail=0
ok() {
    echo "PASS: $*"
    pass=$((pass + 1))
}
bad() {
    echo "FAIL: $*"
    fail=$((fail + 1))
}
say() { printf '[slurm-test %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
summary() { echo "$pass passed, $fail failed"; }

skip_loudly() {
    {
        echo "###########################################################################"
        echo "##  SKIPPED: the Slurm end-to-end test did NOT run."
        echo "##  $*"
        echo "###########################################################################"
    } >&2
    echo "SKIPPED: tests/slurm/run.sh: $*"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
}

if [[ $(id -u) -ne 0 ]] && ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
    skip_loudly "starting Slurm needs root or passwordless sudo (this is uid $(id -u))"
fi
if [[ ! -x $BIN ]]; then
    bad "no jobsplit binary at $BIN: build it with 'make static', or give its path (JOBSPLIT_BIN)"
    summary
    exit 1
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if ! command -v python3 >/dev/null 2>&1; then
    bad "python3 is needed to check the results"
    summary
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jobsplit-slurm-test.XXXXXX")
chmod 755 "$WORK" # munged (user munge) and the job's user traverse it
export SLURM_LOCAL_BASE=$WORK/slurm

# Two free ports next to each other for slurmctld and slurmd.
port_busy() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
port=16817
while port_busy "$port" || port_busy $((port + 1)); do port=$((port + 2)); done
export SLURM_LOCAL_CTLD_PORT=$port SLURM_LOCAL_SLURMD_PORT=$((port + 1))

JOB_IDS=()
cleanup() {
    trap - EXIT INT TERM
    if ((${#JOB_IDS[@]})) && [[ -n ${SLURM_CONF:-} ]]; then
        scancel "${JOB_IDS[@]}" >/dev/null 2>&1 || true
    fi
    bash "$REPO/ci/slurm/stop.sh" --quiet || echo "WARNING: ci/slurm/stop.sh failed" >&2
    if ((fail == 0)) && [[ ${KEEP:-0} != 1 ]]; then
        rm -rf "$WORK"
    else
        echo "outputs kept in $WORK"
    fi
    summary
}
trap cleanup EXIT
trap 'bad "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- Slurm
say "starting Slurm in $SLURM_LOCAL_BASE (ports $port, $((port + 1)))"
t0=$SECONDS
rc=0
bash "$REPO/ci/slurm/start.sh" || rc=$?
if ((rc == 77)); then
    trap - EXIT
    rm -rf "$WORK"
    skip_loudly "ci/slurm/start.sh cannot start Slurm here (not root, no passwordless sudo)"
fi
if ((rc != 0)); then
    bad "ci/slurm/start.sh failed (exit $rc)"
    exit 1
fi
ok "Slurm started in $((SECONDS - t0)) s"
# shellcheck disable=SC1091
source "$SLURM_LOCAL_BASE/env.sh"
unset JOBSPLIT_SHARD_COUNT JOB_COMPLETION_INDEX # nothing from the caller's shell may leak in

# ---------------------------------------------------------------- helpers
# submit ARGS...: sbatch --parsable; the job id goes to $JID and is cancelled on exit.
JID=
submit() {
    JID=$(sbatch --parsable "$@") || return 1
    JID=${JID%%;*}
    JOB_IDS+=("$JID")
}
# wait_gone ID...: until no job or task of them is queued or running (TIMEOUT seconds).
wait_gone() {
    local end=$((SECONDS + TIMEOUT)) ids
    ids=$(
        IFS=,
        echo "$*"
    )
    while [[ -n $(squeue -h -j "$ids" -o %i 2>/dev/null) ]]; do
        if ((SECONDS >= end)); then
            squeue -j "$ids" >&2
            return 1
        fi
        sleep 0.3
    done
}
# states ID: one line per job or array task, "task-or-dash STATE EXIT".
states() {
    scontrol -o show job "$1" 2>/dev/null | awk '{
        t = "-"; s = "?"; e = "?"
        for (i = 1; i <= NF; i++) {
            split($i, kv, "=")
            if (kv[1] == "ArrayTaskId") t = kv[2]
            if (kv[1] == "JobState") s = kv[2]
            if (kv[1] == "ExitCode") e = kv[2]
        }
        print t, s, e }' | sort -n
}
# all_completed ID N: exactly N lines, all COMPLETED 0:0.
all_completed() {
    local st
    st=$(states "$1")
    [[ $(grep -c . <<<"$st") == "$2" ]] && ! grep -qv ' COMPLETED 0:0$' <<<"$st"
}
show_logs() {
    local f
    for f in "$@"; do
        [[ -f $f ]] || continue
        echo "----- $f"
        tail -n 15 "$f"
    done
}
# check OUT MERGED PLAN: the Python checks; prints PASS:/FAIL: lines.
check() {
    local line
    while IFS= read -r line; do
        case $line in
            PASS:*) ok "${line#PASS: }" ;;
            FAIL:*) bad "${line#FAIL: }" ;;
            *) echo "$line" ;;
        esac
    done < <(python3 "$REPO/tests/slurm/check.py" "$@" 2>&1 || echo "FAIL: check.py $* crashed")
}

# ---------------------------------------------------------------- the plan
(cd "$STUDY" && "$BIN" plan --jobs jobs.txt --shard-count "$SHARDS" --json) >"$WORK/plan.json" 2>"$WORK/plan.err"
rc=$?
if ((rc == 0)) && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/plan.json" 2>/dev/null; then
    ok "jobsplit plan --shard-count $SHARDS --json"
    check plan - - "$WORK/plan.json" "$SHARDS" "$NJOBS"
else
    bad "jobsplit plan --shard-count $SHARDS --json (exit $rc): $(head -c 500 "$WORK/plan.json" "$WORK/plan.err")"
    exit 1
fi

# run_array NAME ARRAY: the example study as array ARRAY, merged by a dependent job.
run_array() {
    local name=$1 array=$2 out=$WORK/$1/out merged=$WORK/$1/merged aid mid t0
    mkdir -p "$out" # Slurm does not create the --output directory
    t0=$SECONDS
    if ! JOBSPLIT=$BIN OUT=$out submit --array="$array" --chdir="$STUDY" \
        --output="$out/slurm-%A_%a.out" "$STUDY/study.sbatch"; then
        bad "$name: sbatch --array=$array failed"
        return
    fi
    aid=$JID
    if ! submit --dependency="afterany:$aid" --chdir="$STUDY" --output="$out/merge-%j.out" \
        --job-name=squares-merge --wrap "exec '$BIN' merge '$out' --out '$merged'"; then
        bad "$name: sbatch of the merge failed"
        return
    fi
    mid=$JID
    say "$name: array job $aid (--array=$array), merge job $mid"
    if ! wait_gone "$aid" "$mid"; then
        bad "$name: jobs $aid, $mid not finished after $TIMEOUT s"
        show_logs "$out"/slurm-*.out
        return
    fi
    say "$name: finished $((SECONDS - t0)) s after sbatch"
    states "$aid" | sed "s/^/    $name task /"
    if all_completed "$aid" "$SHARDS"; then
        ok "$name: $SHARDS array tasks COMPLETED with exit 0"
    else
        bad "$name: array tasks: $(states "$aid" | tr '\n' ';')"
        show_logs "$out"/slurm-*.out
    fi
    if all_completed "$mid" 1; then
        ok "$name: the merge job (afterany) COMPLETED with exit 0"
    else
        bad "$name: merge job: $(states "$mid")"
        show_logs "$out"/merge-*.out
    fi
    check "$name" "$out" "$merged" "$WORK/plan.json" "$SHARDS" "$NJOBS"
}

# ---------------------------------------------------------------- 1. --array=0-3
run_array plain "0-$((SHARDS - 1))"

# ---------------------------------------------------------------- 2. --array=1-4%2
run_array throttled "1-$SHARDS%2"

# ---------------------------------------------------------------- 3. --array=1,5,9
out=$WORK/gaps/out
mkdir -p "$out"
if JOBSPLIT=$BIN OUT=$out submit --array=1,5,9 --chdir="$STUDY" \
    --output="$out/slurm-%A_%a.out" "$STUDY/study.sbatch"; then
    aid=$JID
    if wait_gone "$aid"; then
        st=$(states "$aid")
        if [[ $(grep -c . <<<"$st") == 3 ]] && ! grep -q ' COMPLETED ' <<<"$st"; then
            ok "gaps: all 3 tasks of --array=1,5,9 refused to run"
        else
            bad "gaps: --array=1,5,9 tasks: $(tr '\n' ';' <<<"$st")"
        fi
        if grep -qs SLURM_ARRAY_TASK "$out"/slurm-*.out; then
            ok "gaps: the error names the SLURM_ARRAY_TASK variables"
        else
            bad "gaps: no SLURM_ARRAY_TASK variable named in the task logs"
            show_logs "$out"/slurm-*.out
        fi
        if compgen -G "$out/shard-*" >/dev/null; then
            bad "gaps: a refused task wrote $(echo "$out"/shard-*)"
        else
            ok "gaps: no shard directory written"
        fi
    else
        bad "gaps: job $aid not finished after $TIMEOUT s"
    fi
else
    bad "gaps: sbatch --array=1,5,9 failed"
fi

# ---------------------------------------------------------------- 4. slurm-script
if "$BIN" slurm-script --help >/dev/null 2>&1; then
    dir=$WORK/generated
    mkdir -p "$dir"
    if (cd "$STUDY" && "$BIN" slurm-script --shards "$SHARDS" --jobs jobs.txt --time 00:10:00 \
        --out "$dir/out" --merged "$dir/merged" --submit-dir "$dir/scripts") >"$dir/generate.log" 2>&1; then
        missing_files=
        for f in array.sbatch merge.sbatch submit.sh; do
            [[ -s $dir/scripts/$f ]] || missing_files+=" $f"
        done
        if [[ -z $missing_files ]]; then
            ok "slurm-script wrote array.sbatch, merge.sbatch and submit.sh"
        else
            bad "slurm-script did not write$missing_files in $dir/scripts"
        fi
        if (cd "$STUDY" && bash "$dir/scripts/submit.sh") >"$dir/submit.log" 2>&1; then
            ids=$(grep -o 'job [0-9]*' "$dir/submit.log" | awk '{ print $2 }')
            read -r -d '' -a more <<<"$ids" || true
            JOB_IDS+=("${more[@]}")
            # shellcheck disable=SC2086
            if wait_gone $ids; then
                check generated "$dir/out" "$dir/merged" "$WORK/plan.json" "$SHARDS" "$NJOBS"
            else
                bad "generated: jobs $ids not finished after $TIMEOUT s"
            fi
        else
            bad "generated: submit.sh failed: $(cat "$dir/submit.log")"
        fi
    else
        bad "slurm-script failed: $(cat "$dir/generate.log")"
    fi
else
    say "the binary has no slurm-script subcommand yet: step 4 not run"
fi

((fail == 0))
