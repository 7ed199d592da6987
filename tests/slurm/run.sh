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
# Needs root or passwordless sudo to start Slurm; without either it says so LOUDLY, prints
# "0 passed, 0 failed, 1 skipped" and exits 0. KEEP=1 keeps the temporary directory.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${1:-${JOBSPLIT_BIN:-$REPO/target/release/jobsplit}}
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

if "$BIN" slurm-script --help 2>/dev/null | grep -q -- --requeue; then
    # ------------------------------------------------------------ 5. sbatch --test-only
    # Each --time form, as slurm-script writes it, and the limit Slurm then reads.
    for pair in 1h=01:00:00 90m=01:30:00 2h30m=02:30:00 45s=00:01:00 1d=1-00:00:00 \
        30:00=00:30:00 04:00:00=04:00:00 1-12=1-12:00:00 2-12:30=2-12:30:00; do
        t=${pair%%=*} want=${pair#*=}
        dir=$WORK/testonly/${t//:/.}
        if ! generate "$dir" --shards "$SHARDS" --time "$t" --requeue; then
            bad "test-only --time $t: slurm-script failed: $(cat "$dir/generate.log")"
            continue
        fi
        errors=
        for script in array.sbatch merge.sbatch; do
            sbatch --test-only "$dir/scripts/$script" >"$dir/$script.test" 2>&1 || errors+=" $script"
        done
        sbatch --test-only --array=0-1 --output="$dir/rescue-%A_%a.out" \
            --export="ALL,JOBSPLIT_RESCUE_SHARDS=2,JOBSPLIT_RESCUE_OUT=$dir/out-rescue-1" \
            "$dir/scripts/rescue.sbatch" >"$dir/rescue.test" 2>&1 || errors+=" rescue.sbatch"
        if [[ -z $errors ]]; then
            ok "test-only --time $t: sbatch --test-only accepts array, merge and rescue"
        else
            bad "test-only --time $t: sbatch --test-only refused$errors: $(cat "$dir"/*.test)"
        fi
        mkdir -p "$dir/out"
        if submit --hold "$dir/scripts/array.sbatch" >/dev/null 2>&1; then
            got=$(job_field "$JID" TimeLimit)
            scancel "$JID" >/dev/null 2>&1
            if [[ $got == "$want" ]]; then
                ok "test-only --time $t: Slurm reads TimeLimit=$got"
            else
                bad "test-only --time $t: Slurm reads TimeLimit=$got, expected $want"
            fi
        else
            bad "test-only --time $t: sbatch --hold of the array failed"
        fi
    done
    max=$(scontrol show config | awk '$1 == "MaxArraySize" { print $3 }')
    if [[ $max =~ ^[0-9]+$ ]]; then
        dir=$WORK/maxarray
        generate "$dir/fits" --shards "$max"
        generate "$dir/over" --shards $((max + 1))
        if ! grep -q MaxArraySize "$dir/fits/generate.log" &&
            grep -q "warning: $((max + 1)) shards need array ids 0-$max but this cluster's MaxArraySize is $max" "$dir/over/generate.log"; then
            ok "MaxArraySize $max: a warning for $((max + 1)) shards, none for $max"
        else
            bad "MaxArraySize $max: $(cat "$dir/fits/generate.log" "$dir/over/generate.log")"
        fi
        if sbatch --test-only "$dir/fits/scripts/array.sbatch" >/dev/null 2>&1 &&
            ! sbatch --test-only "$dir/over/scripts/array.sbatch" >/dev/null 2>&1; then
            ok "MaxArraySize $max: sbatch takes --array=0-$((max - 1)) and refuses 0-$max, as warned"
        else
            bad "MaxArraySize $max: sbatch --test-only does not agree with the warning"
        fi
    else
        bad "scontrol show config gives no MaxArraySize"
    fi

    # ------------------------------------------------------------ 6. requeue
    # 12 jobs of a second each in 2 tasks of 1 CPU: task 0 is requeued while it runs.
    rq=$WORK/requeue
    mkdir -p "$rq/study"
    for i in $(seq 0 11); do echo "sleep 1; echo job $i"; done >"$rq/study/jobs.txt"
    (cd "$rq/study" && "$BIN" slurm-script --shards 2 --jobs jobs.txt --time 10m --requeue \
        --out "$rq/out" --merged "$rq/merged" --submit-dir "$rq/scripts") >"$rq/generate.log" 2>&1
    if (cd "$rq/study" && bash "$rq/scripts/submit.sh") >"$rq/submit.log" 2>&1; then
        read -r aid mid < <(ids_of "$rq/submit.log" | tr '\n' ' ')
        JOB_IDS+=("$aid" "$mid")
        task=${aid}_0
        end=$((SECONDS + 60))
        # Requeue once the task has finished a job (a row in its results.csv).
        until [[ $(grep -c ',ok,' "$rq/out/shard-0/results.csv" 2>/dev/null) -ge 1 ]] || ((SECONDS >= end)); do
            sleep 0.2
        done
        if scontrol requeue "$task"; then
            say "requeue: requeued $task after $(grep -c ',ok,' "$rq/out/shard-0/results.csv") ok job(s)"
            # The first attempt's jobsplit stops in order (its jobs get their grace period): on
            # a loaded machine it can outlive the requeue by seconds, and a second attempt
            # launched beside it fails. Wait for it to be gone first.
            end=$((SECONDS + 60))
            while pgrep -f -- "--shard 0/2 --out $rq/out" >/dev/null && ((SECONDS < end)); do
                sleep 0.3
            done
            # A requeued task waits (BeginTime) about 2 minutes before it may start again.
            end=$((SECONDS + 60))
            until [[ $(job_field "$task" JobState) == PENDING ]] &&
                scontrol update jobid="$task" StartTime=now 2>/dev/null || ((SECONDS >= end)); do
                sleep 0.3
            done
            if wait_gone "$aid" "$mid"; then
                log=$rq/out/slurm-${aid}_0.out
                if grep -q 'attempt 1$' "$log" && grep -q 'attempt 2$' "$log" &&
                    grep -q 'DUE TO JOB REQUEUE' "$log"; then
                    ok "requeue: one log keeps both attempts (--open-mode=append)"
                else
                    bad "requeue: $log lacks an attempt: $(cat "$log")"
                fi
                if [[ $(job_field "$task" Restarts) == 1 ]] && all_completed "$aid" 2; then
                    ok "requeue: the requeued task ran again and both tasks COMPLETED"
                else
                    bad "requeue: $(states "$aid" | tr '\n' ';') restarts $(job_field "$task" Restarts)"
                fi
                if all_completed "$mid" 1 && python3 - "$rq/merged/results.csv" <<'PY'; then
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = sorted(int(r["index"]) for r in rows if r["status"] == "ok")
sys.exit(0 if ok == list(range(12)) else 1)
PY
                    ok "requeue: the merge has all 12 jobs ok, each once"
                else
                    bad "requeue: merge $(states "$mid"): $(head -c 800 "$rq/merged/results.csv" 2>&1)"
                fi
            else
                bad "requeue: jobs $aid, $mid not finished after $TIMEOUT s"
            fi
        else
            bad "requeue: scontrol requeue $task failed"
        fi
    else
        bad "requeue: submit.sh failed: $(cat "$rq/generate.log" "$rq/submit.log")"
    fi

    # ------------------------------------------------------------ 7. time limit
    # Jobs of 5 minutes in a task of 2: --signal=B:TERM@60 stops jobsplit about a minute in.
    tl=$WORK/timelimit
    mkdir -p "$tl/study"
    printf 'echo started 0; sleep 300\necho started 1; sleep 300\n' >"$tl/study/jobs.txt"
    (cd "$tl/study" && "$BIN" slurm-script --shards 1 --jobs jobs.txt --time 2m \
        --out "$tl/out" --merged "$tl/merged" --submit-dir "$tl/scripts") >"$tl/generate.log" 2>&1
    if grep -q '^#SBATCH --signal=B:TERM@60$' "$tl/scripts/array.sbatch" &&
        (cd "$tl/study" && bash "$tl/scripts/submit.sh") >"$tl/submit.log" 2>&1; then
        read -r aid mid < <(ids_of "$tl/submit.log" | tr '\n' ' ')
        JOB_IDS+=("$aid" "$mid")
        say "time limit: array job $aid (--time 2m, SIGTERM 60 s before), merge $mid"
        if wait_gone "$aid" "$mid"; then
            st=$(states "$aid")
            if [[ $st == "0 FAILED 130:0" ]]; then
                ok "time limit: jobsplit stopped on the signal, exit 130, not TIMEOUT ($(job_field "${aid}_0" RunTime))"
            else
                bad "time limit: task state $st (expected FAILED 130:0, before the limit)"
                show_logs "$tl/out"/slurm-*.out
            fi
            if grep -q '"state": "interrupted"' "$tl/out/shard-0/manifest.json" &&
                grep -q ',interrupted,' "$tl/out/shard-0/results.csv"; then
                ok "time limit: the running job is recorded interrupted, the manifest says interrupted"
            else
                bad "time limit: $(cat "$tl/out/shard-0/manifest.json" "$tl/out/shard-0/results.csv" 2>&1 | head -c 1500)"
            fi
        else
            bad "time limit: jobs $aid, $mid not finished after $TIMEOUT s"
        fi
    else
        bad "time limit: slurm-script or submit.sh failed: $(cat "$tl/generate.log" "$tl/submit.log" 2>&1)"
    fi
else
    say "the binary's slurm-script has no --requeue yet: steps 5-7 not run"
fi

((fail == 0))
