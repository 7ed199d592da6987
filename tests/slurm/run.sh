#!/usr/bin/env bash
# tests/slurm/run.sh - end-to-end test of the static jobsplit binary on a real Slurm.
#
#   bash tests/slurm/run.sh [PATH-TO-JOBSPLIT]      (or JOBSPLIT_BIN=...; default:
#                                                     target/release/jobsplit, static)
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
#      checks the merged result;
#   4b. slurm-script --steal as a throttled array (%2): the tasks steal through the shared OUT,
#      the late ones find their shares taken; the merge proves every job ran exactly once;
#   5. `sbatch --test-only` of the generated array, merge and rescue scripts for every form
#      of --time (1h, 90m, 45s, 1d, 30:00, 1-12, ...), and the time limit Slurm reads from a
#      held submission of each; the MaxArraySize warning against the real `scontrol`;
#   6. a requeue: `scontrol requeue` of a running task of a --requeue array; the task runs
#      again, resumes its shard, and its one log keeps both attempts (--open-mode=append);
#   7. a time limit: a task of --time 2m whose jobs would run 5 minutes is told to stop by
#      --signal=B:TERM@60, records its jobs as interrupted and exits 130 before the limit.
# Cancels its jobs and stops the daemons on exit. Prints "N passed, N failed" last.
#
# The start, the check helpers and the cleanup it shares with tests/gridengine/run.sh are in
# tests/batch_lib.sh.
#
# Needs root or passwordless sudo to start Slurm; without either it says so LOUDLY, prints
# "0 passed, 0 failed, 1 skipped" and exits 0. KEEP=1 keeps the temporary directory.
set -uo pipefail

NAME=slurm ENGINE=Slurm START=ci/slurm/start.sh STOP=ci/slurm/stop.sh CANCEL=scancel
LIVE=SLURM_CONF FIRST_PORT=16817 TIMEOUT=${SLURM_TEST_TIMEOUT:-180}
# shellcheck source=tests/batch_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../batch_lib.sh"
export SLURM_LOCAL_BASE=$WORK/slurm
export SLURM_LOCAL_CTLD_PORT=$port SLURM_LOCAL_SLURMD_PORT=$((port + 1))

# ---------------------------------------------------------------- Slurm
start_cell "$SLURM_LOCAL_BASE"
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

# job_field ID FIELD: FIELD=value of `scontrol -o show job ID` (first line).
job_field() {
    scontrol -o show job "$1" 2>/dev/null | head -1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}
# generate DIR ARGS...: slurm-script from the study's directory into DIR/scripts.
generate() {
    local dir=$1
    shift
    mkdir -p "$dir"
    (cd "$STUDY" && "$BIN" slurm-script --jobs jobs.txt --out "$dir/out" --merged "$dir/merged" \
        --submit-dir "$dir/scripts" "$@") >"$dir/generate.log" 2>&1
}
# ids_of LOG: the array and merge job ids submit.sh printed.
ids_of() { grep -o '^[a-z]* job [0-9]*' "$1" | awk '{ print $3 }'; }

# ---------------------------------------------------------------- 4b. slurm-script --steal
# A throttled array (%2: half the tasks start only when the first two ended) whose tasks steal
# from each other through the shared OUT: the late tasks find their shares taken and end at
# once; the merge proves every job ran exactly once by the claims.
if "$BIN" slurm-script --help 2>/dev/null | grep -q -- --steal; then
    dir=$WORK/steal
    if generate "$dir" --shards "$SHARDS" --steal --steal-block 2 --time 00:10:00; then
        sed -i "s/^#SBATCH --array=0-$((SHARDS - 1))\$/#SBATCH --array=0-$((SHARDS - 1))%2/" "$dir/scripts/array.sbatch"
        if grep -q -- "--array=0-$((SHARDS - 1))%2" "$dir/scripts/array.sbatch" &&
            grep -q -- '--steal' "$dir/scripts/array.sbatch"; then
            ok "steal: slurm-script --steal writes run --steal; the array throttled to %2"
        else
            bad "steal: array.sbatch: $(grep -E 'array=|exec' "$dir/scripts/array.sbatch")"
        fi
        if (cd "$STUDY" && bash "$dir/scripts/submit.sh") >"$dir/submit.log" 2>&1; then
            ids=$(ids_of "$dir/submit.log")
            read -r -d '' -a more <<<"$ids" || true
            JOB_IDS+=("${more[@]}")
            # shellcheck disable=SC2086
            if wait_gone $ids; then
                set -- $ids
                if all_completed "$1" "$SHARDS" && all_completed "$2" 1; then
                    ok "steal: $SHARDS throttled tasks and the merge COMPLETED with exit 0"
                else
                    bad "steal: states: $(states "$1" | tr '\n' ';') merge $(states "$2")"
                    show_logs "$dir"/out/slurm-*.out "$dir"/out/merge-*.out
                fi
                if python3 - "$dir" "$NJOBS" <<'PY'; then
import csv, json, sys
d, n = sys.argv[1], int(sys.argv[2])
rows = list(csv.DictReader(open(f"{d}/merged/results.csv", newline="")))
ok = sorted(int(r["index"]) for r in rows if r["status"] == "ok")
assert ok == list(range(n)), ok
s = json.load(open(f"{d}/merged/summary.json"))
b = s["balance"]
assert sum(m["own"] + m["stolen"] for m in b["machines"]) == n, b
assert s.get("duplicates", 0) == 0, s
PY
                    ok "steal: merged/results.csv has every job ok once, proved by the claims"
                else
                    bad "steal: the merge does not prove exactly once"
                    show_logs "$dir"/out/merge-*.out
                fi
            else
                bad "steal: jobs $ids not finished after $TIMEOUT s"
            fi
        else
            bad "steal: submit.sh failed: $(cat "$dir/submit.log")"
        fi
    else
        bad "steal: slurm-script --steal failed: $(cat "$dir/generate.log")"
    fi
fi

# Steps 5-7: the time limits Slurm reads, a requeue and a time limit reached (tests/slurm/limits.sh).
# shellcheck source=tests/slurm/limits.sh
source "$REPO/tests/slurm/limits.sh"

((fail == 0))
