# Steps 5-7 of tests/slurm/run.sh, sourced by it once the cell runs (its helpers, $WORK and
# $STUDY are set): `sbatch --test-only` of every form of --time and the limit Slurm reads, a
# requeued task that resumes its shard and keeps both attempts in its log, and a task told to
# stop a minute before its time limit.

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
