#!/usr/bin/env bash
# tests/gridengine/run.sh - end-to-end test of the static jobsplit binary on a real Grid Engine.
#
#   bash tests/gridengine/run.sh [PATH-TO-JOBSPLIT]   (or JOBSPLIT_BIN=...; default:
#                                                      target/release/jobsplit, static)
#
# Starts a private one-node Grid Engine cell (tests/gridengine/start.sh: Debian's
# gridengine-* packages, installed when missing) under a fresh temporary directory, then:
#   1. with the example study of examples/slurm (40 jobs, job i writes {"square": i*i}), a
#      hand-written array job `qsub -t 1-4` with no --shard (each task finds its shard in
#      SGE_TASK_ID, SGE_TASK_FIRST, SGE_TASK_LAST, SGE_TASK_STEPSIZE) and the merge as a job
#      held on it (-hold_jid); checks every task and the merge exited 0 (qacct), that each
#      shard ran exactly the jobs `jobsplit plan --shard-count 4 --json` gave it, and that
#      merged/results.csv has every index 0..39 once, ok, square = i*i;
#   2. the same as `qsub -t 1-7:2 -tc 2` (ids 1, 3, 5, 7, two at a time): the same plan;
#   3. `jobsplit sge-script --pe smp --slots 2 --time 10m` and its submit.sh: the same checks,
#      and each task ran 2 jobs at once (NSLOTS=2 in the task, threads 2 in its manifest);
#   4. a rescue: a study whose jobs 3 and 8 fail the first time; the merge job exits 1 and
#      lists them in missing.txt; `rescue.sh 2` runs them as a 2-task array into
#      OUT-rescue-1 and merges again: every job ok exactly once, the merge job exits 0;
#   5. sge-script --steal as a throttled array (--max-running 2: -tc 2): the late tasks find
#      their shares taken; the merge proves every job ran exactly once by the claims.
# The scenarios are submitted together and run side by side on the cell's 8 slots, then
# checked; only the rescue round waits for its first merge.
# Deletes its jobs and stops the daemons on exit. Prints "N passed, N failed" last.
#
# The start, the check helpers and the cleanup it shares with tests/slurm/run.sh are in
# tests/batch_lib.sh.
#
# Needs root or passwordless sudo; without either it says so LOUDLY, prints
# "0 passed, 0 failed, 1 skipped" and exits 0. KEEP=1 keeps the temporary directory.
set -uo pipefail

NAME=gridengine ENGINE="Grid Engine" START=tests/gridengine/start.sh STOP=tests/gridengine/stop.sh
CANCEL=qdel LIVE=SGE_ROOT FIRST_PORT=16444 TIMEOUT=${SGE_TEST_TIMEOUT:-180}
# shellcheck source=tests/batch_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../batch_lib.sh"
export SGE_LOCAL_BASE=$WORK/sge SGE_LOCAL_SLOTS=8
export SGE_LOCAL_QMASTER_PORT=$port SGE_LOCAL_EXECD_PORT=$((port + 1))

# ---------------------------------------------------------------- Grid Engine
start_cell "$SGE_LOCAL_BASE"
# Nothing from the caller's shell may leak in.
unset JOBSPLIT_SHARD_COUNT JOB_COMPLETION_INDEX SLURM_ARRAY_TASK_ID PBS_ARRAY_INDEX PBS_ARRAYID LSB_JOBINDEX

# ---------------------------------------------------------------- helpers
# submit ARGS...: qsub -terse; the job id goes to $JID and is deleted on exit.
JID=
submit() {
    JID=$(qsub -terse "$@") || return 1
    JID=${JID%%.*}
    JOB_IDS+=("$JID")
}
# wait_gone ID...: until no job of them is queued or running (TIMEOUT seconds). A job Grid
# Engine could not start waits in state Eqw forever: say why and give up at once.
wait_gone() {
    local end=$((SECONDS + TIMEOUT)) id left
    while :; do
        left=0
        for id in "$@"; do
            qstat -j "$id" >/dev/null 2>&1 && left=1
        done
        ((left)) || return 0
        if qstat -s p 2>/dev/null | awk '$5 ~ /E/' | grep -q .; then
            echo "a job is in an error state:" >&2
            for id in "$@"; do qstat -j "$id" 2>/dev/null | grep -i error >&2; done
            return 1
        fi
        if ((SECONDS >= end)); then
            qstat -f >&2
            return 1
        fi
        sleep 0.3
    done
}
# exits ID: one line per task (or job), "TASK EXIT_STATUS", from the accounting (qacct).
exits() {
    qacct -j "$1" 2>/dev/null | awk '
        $1 == "taskid" { t = $2 }
        $1 == "exit_status" { print (t == "undefined" ? "-" : t), $2 }' | sort -n
}
# all_exited ID N [STATUS]: exactly N accounting records of ID, all with exit status STATUS
# (default 0); the accounting may lag the end of the job by a moment.
all_exited() {
    local want=${3:-0} st i
    for ((i = 0; i < 20; i++)); do
        st=$(exits "$1")
        if [[ $(grep -c . <<<"$st") == "$2" ]]; then
            ! grep -qv " $want\$" <<<"$st"
            return
        fi
        sleep 0.25
    done
    return 1
}
show_logs() {
    local f
    for f in "$@"; do
        [[ -f $f ]] || continue
        echo "----- $f"
        tail -n 15 "$f"
    done
}
# check OUT MERGED PLAN: the Python checks of tests/slurm (the same study and plan).
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
# ids_of LOG: the array and merge job ids submit.sh or rescue.sh printed.
ids_of() { grep -o -E '(array|merge) job [0-9]+' "$1" | awk '{ print $3 }'; }

# ---------------------------------------------------------------- the plan
(cd "$STUDY" && "$BIN" plan --jobs jobs.txt --shard-count "$SHARDS" --json) >"$WORK/plan.json" 2>"$WORK/plan.err"
rc=$?
if ((rc == 0)) && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/plan.json" 2>/dev/null; then
    ok "jobsplit plan --shard-count $SHARDS --json"
else
    bad "jobsplit plan --shard-count $SHARDS --json (exit $rc): $(head -c 500 "$WORK/plan.json" "$WORK/plan.err")"
    exit 1
fi

# Every scenario is submitted first and checked once all have ended: the cell runs them side
# by side (8 slots), which keeps this test short.

# The study as a hand-written array job: no --shard, the shard comes from Grid Engine.
cat >"$WORK/study.sge" <<EOF2
#!/bin/bash
#$ -N squares
#$ -S /bin/bash
#$ -j y
set -euo pipefail
exec "\$JOBSPLIT" run --jobs jobs.txt --out "\$OUT" --yes
EOF2

# IDS[name]="array merge": the jobs of each scenario.
declare -A IDS
# submit_array NAME TASKS [QSUB ARGS...]: the example study as array job -t TASKS, and the
# merge as a job held on it.
submit_array() {
    local name=$1 tasks=$2 out=$WORK/$1/out merged=$WORK/$1/merged aid
    shift 2
    mkdir -p "$out" # Grid Engine does not create the directory of -o
    if ! submit -t "$tasks" "$@" -wd "$STUDY" -o "$out/"'sge-$JOB_ID.$TASK_ID.out' \
        -v "JOBSPLIT=$BIN,OUT=$out" "$WORK/study.sge"; then
        bad "$name: qsub -t $tasks failed"
        return 1
    fi
    aid=$JID
    if ! submit -hold_jid "$aid" -N squares-merge -S /bin/bash -wd "$STUDY" -j y \
        -o "$out/"'sge-merge-$JOB_ID.out' -b y "exec '$BIN' merge '$out' --out '$merged'"; then
        bad "$name: qsub of the merge failed"
        return 1
    fi
    IDS[$name]="$aid $JID"
    say "$name: array job $aid (-t $tasks $*), merge job $JID"
}
# generate NAME STUDYDIR ARGS...: sge-script from STUDYDIR into $WORK/NAME/scripts (out and
# merged in $WORK/NAME).
generate() {
    local dir=$WORK/$1 study=$2
    shift 2
    mkdir -p "$dir"
    (cd "$study" && "$BIN" sge-script --jobs jobs.txt --out "$dir/out" --merged "$dir/merged" \
        --submit-dir "$dir/scripts" "$@") >"$dir/generate.log" 2>&1
}
# submit_sh NAME STUDYDIR SCRIPT [ARGS]: run $WORK/NAME/scripts/SCRIPT from STUDYDIR into
# $WORK/NAME/SCRIPT.log; the array and merge ids it printed go to IDS[NAME].
submit_sh() {
    local dir=$WORK/$1 name=$1 study=$2 script=$3 aid mid
    shift 3
    (cd "$study" && bash "$dir/scripts/$script" "$@") >"$dir/$script.log" 2>&1 || return 1
    read -r aid mid < <(ids_of "$dir/$script.log" | tr '\n' ' ')
    JOB_IDS+=("$aid" "$mid")
    [[ -n $aid && -n $mid ]] || return 1
    IDS[$name]="$aid $mid"
    say "$name: $script submitted array job $aid, merge job $mid"
}
# ended NAME [TASKS] [MERGE-STATUS]: the scenario's TASKS tasks (default SHARDS) exited 0 and
# its merge exited MERGE-STATUS (default 0).
ended() {
    local name=$1 tasks=${2:-$SHARDS} status=${3:-0} aid mid
    read -r aid mid <<<"${IDS[$name]}"
    if all_exited "$aid" "$tasks"; then
        ok "$name: $tasks array tasks exited 0"
    else
        bad "$name: array tasks: $(exits "$aid" | tr '\n' ';')"
        show_logs "$WORK/$name"/out*/sge-"$aid".*.out
    fi
    if all_exited "$mid" 1 "$status"; then
        ok "$name: the merge job (-hold_jid) exited $status"
    else
        bad "$name: merge job: $(exits "$mid")"
        show_logs "$WORK/$name"/out/sge-merge-*.out
    fi
}

t0=$SECONDS
# 1. -t 1-4, detected.
submit_array plain "1-$SHARDS"
# 2. -t 1-7:2 -tc 2: ids 1, 3, 5, 7, two at a time; the same plan.
submit_array stepped "1-$((2 * SHARDS - 1)):2" -tc 2
# 3. sge-script with 2 slots a task.
if generate generated "$STUDY" --shards "$SHARDS" --pe smp --slots 2 --time 10m; then
    ok "sge-script wrote $(ls "$WORK/generated/scripts" | tr '\n' ' ')"
    submit_sh generated "$STUDY" submit.sh || bad "generated: submit.sh failed: $(cat "$WORK/generated/submit.sh.log")"
else
    bad "sge-script failed: $(cat "$WORK/generated/generate.log")"
fi
# 4. 12 jobs; jobs 3 and 8 fail while their marker file exists.
rq=$WORK/rescue
mkdir -p "$rq/study"
for i in $(seq 0 11); do echo "test ! -e $rq/fail-$i && echo job $i"; done >"$rq/study/jobs.txt"
touch "$rq/fail-3" "$rq/fail-8"
generate rescue "$rq/study" --shards "$SHARDS" && submit_sh rescue "$rq/study" submit.sh ||
    bad "rescue: sge-script or submit.sh failed: $(cat "$rq/generate.log" "$rq/submit.sh.log" 2>&1)"
# 5. --steal, two tasks at a time (--max-running 2, -tc 2): the first two steal the shares of
# the tasks not started yet, which then find everything claimed and end at once.
if generate steal "$STUDY" --shards "$SHARDS" --steal --steal-block 2 --max-running 2 &&
    grep -q -- ' --steal --steal-block 2 ' "$WORK/steal/scripts/array.sge" &&
    grep -q '^#\$ -tc 2$' "$WORK/steal/scripts/array.sge"; then
    submit_sh steal "$STUDY" submit.sh || bad "steal: submit.sh failed: $(cat "$WORK/steal/submit.sh.log")"
else
    bad "steal: sge-script --steal: $(cat "$WORK/steal/generate.log") $(grep -E 'tc|exec' "$WORK/steal/scripts/array.sge")"
fi

# shellcheck disable=SC2046
if wait_gone $(printf '%s ' "${IDS[@]}"); then
    say "all scenarios ended $((SECONDS - t0)) s after the first qsub"
else
    bad "jobs not finished after $TIMEOUT s: ${IDS[*]}"
    exit 1
fi

# ---------------------------------------------------------------- 1-3. exactly once
for name in plain stepped generated; do
    [[ -n ${IDS[$name]:-} ]] || continue
    ended "$name"
    check "$name" "$WORK/$name/out" "$WORK/$name/merged" "$WORK/plan.json" "$SHARDS" "$NJOBS"
done
if [[ -n ${IDS[generated]:-} ]]; then
    read -r aid _ <<<"${IDS[generated]}"
    threads=$(cat "$WORK"/generated/out/shard-*/manifest.json | grep -o '"threads": *[0-9]*' | grep -o '[0-9]*$' | sort -u | tr '\n' ' ')
    if [[ $threads == "2 " ]] && grep -q ', 2 slot(s)$' "$WORK/generated/out/sge-$aid.1.out"; then
        ok "generated: -pe smp 2 gives each task NSLOTS=2, and jobsplit ran 2 jobs at once"
    else
        bad "generated: threads in the manifests: '$threads'; log: $(head -3 "$WORK/generated/out/sge-$aid.1.out")"
    fi
fi

# ---------------------------------------------------------------- 5. steal
if [[ -n ${IDS[steal]:-} ]]; then
    ended steal
    if python3 - "$WORK/steal" "$NJOBS" <<'PY'; then
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
        show_logs "$WORK"/steal/out/sge-merge-*.out
    fi
fi

# ---------------------------------------------------------------- 4. rescue
if [[ -n ${IDS[rescue]:-} ]]; then
    # The tasks whose shard holds job 3 or 8 exit 1 (some job failed), the others 0; the
    # merge exits 1 (jobs missing).
    read -r aid mid <<<"${IDS[rescue]}"
    st=$(exits "$aid" | tr '\n' ';')
    if all_exited "$mid" 1 1 && [[ $st =~ ^([1-4]\ [01]\;){4}$ && $st == *" 1;"* ]]; then
        ok "rescue: the tasks with a failed job and the merge job exit 1 ($st)"
    else
        bad "rescue: tasks $st merge $(exits "$mid")"
    fi
    missing=$(grep -v -e '^#' -e '^$' "$rq/merged/missing.txt" 2>/dev/null | cut -d, -f1 | tr '\n' ' ')
    if [[ $(grep -cv -e '^#' -e '^$' "$rq/merged/missing.txt" 2>/dev/null) == 2 ]]; then
        ok "rescue: missing.txt lists the 2 failed jobs ($missing)"
    else
        bad "rescue: missing.txt: $(cat "$rq/merged/missing.txt" 2>&1)"
    fi
    rm -f "$rq/fail-3" "$rq/fail-8"
    if submit_sh rescue "$rq/study" rescue.sh 2; then
        # shellcheck disable=SC2086
        if wait_gone ${IDS[rescue]}; then
            ended rescue 2
            if [[ -d $rq/out-rescue-1/shard-1 ]]; then
                ok "rescue: rescue.sh 2 ran a 2-task array into out-rescue-1"
            else
                bad "rescue: no out-rescue-1/shard-1: $(cat "$rq/rescue.sh.log")"
            fi
            if python3 - "$rq/merged" <<'PY'; then
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/results.csv", newline="")))
ok = sorted(int(r["index"]) for r in rows if r["status"] == "ok")
assert ok == list(range(12)), ok
assert len(rows) == 12, len(rows)
missing = [l for l in open(sys.argv[1] + "/missing.txt") if l.strip() and not l.startswith("#")]
assert not missing, missing
PY
                ok "rescue: merged/results.csv has every job ok exactly once, nothing missing"
            else
                bad "rescue: $(head -c 1500 "$rq/merged/results.csv" "$rq/merged/missing.txt" 2>&1)"
            fi
        else
            bad "rescue: round 1 (${IDS[rescue]}) not finished after $TIMEOUT s"
        fi
    else
        bad "rescue: rescue.sh failed: $(cat "$rq/rescue.sh.log")"
    fi
fi
say "done in $SECONDS s"

((fail == 0))
