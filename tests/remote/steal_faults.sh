#!/usr/bin/env bash
# tests/remote/steal_faults.sh - failures of work stealing with no shared disk (issue 21,
# docs/remote.md, "Balance with no shared disk"):
#
#   bash tests/remote/steal_faults.sh [PATH-TO-JOBSPLIT]   (default: the build of `make static`)
#
# 3 separate ssh hosts (tests/remote/sshhosts, each its own disk; SSHHOSTS_BASE defaults to
# /tmp/sshhosts-faults) of simulated speeds 1, 2, 4: each job sleeps BASE / the factor in its
# host's own ~/speed and appends its index to ~/marker on its host's disk when it ends. Equal
# weights, `launch -- --steal-remote --steal-block 2`. Then:
#   1. a host cut off mid-run, then healed: nothing of its share is stolen while it is cut;
#   2. a host frozen, then thawed;
#   3. a host crashed, booted and relaunched (a job the crash cut between its end and its row
#      is rightly run again by the relaunch: at most one, both markers on that host);
#   4. a hand-over that failed because the thief crashed (the block claimed for it on its
#      owner's disk, not on its own): watch hands it over again once the thief is relaunched,
#      and only the thief runs it;
#   5. a host declared dead and rescued (`launch --rescue merged --dead slow` while it is cut
#      off), then coming back: the fence is on every disk, the returning run starts no other
#      block once a contact (collect) wrote it there, a plain launch starts nothing for it, and
#      merge reports exactly the jobs that ran both there and in the rescue (kept once).
# In each: every job ok in the merge exactly once, every row proven by the claims, and the
# markers show no job ran twice but where the test says so. Prints "N passed, N failed" last;
# exits 1 if any failed. Needs root (sshd, namespaces); without it says so LOUDLY and exits 0
# with "0 passed, 0 failed, 1 skipped".
set -uo pipefail

NAME=faults
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_hosts 3
# A host cut off is given up after 4 s (your -o comes before jobsplit's ConnectTimeout=10).
export JOBSPLIT_SSH="$SSHHOSTS_SSH -o ConnectTimeout=4"
source "$(dirname "${BASH_SOURCE[0]}")/steal_lib.sh"
T0=$SECONDS

stolen_during() { # stolen_during HOSTN OWNER STUDY FROM TO: claims of OWNER's blocks on its
    # disk naming another machine, made between the times FROM and TO (seconds since the epoch)
    local f at
    for f in "$(layout_of "$1" "$3")/claims/$2"/*; do
        grep -q "\"machine\":\"$2\"" "$f" && continue
        at=$(grep -o '"at":"[^"]*"' "$f" | cut -d'"' -f4)
        at=$(date -d "$at" +%s.%N 2>/dev/null) || continue
        awk -v a="$at" -v f="$4" -v t="$5" 'BEGIN { exit !(a > f && a < t) }' && echo "$f"
    done
}
# What a crashed host had done: the jobs that ended (a marker) and had no ok row yet (killed
# between the job's end and its row; its relaunch rightly runs them again).
cut_jobs() { # cut_jobs HOSTN STUDY MACHINE > file
    sort "$HOSTS/host$1/home/marker" 2>/dev/null >"$TMP/ended"
    cat "$HOSTS/host$1/home/jobsplit/$2/out/$3"/results*.csv* 2>/dev/null |
        awk -F, '$4 == "ok" { print $1 }' | sort -u | comm -23 "$TMP/ended" -
}
twice_only_cut() { # twice_only_cut CUTFILE HOSTN: no job ended twice but one listed in CUTFILE,
    # and both of its markers on host HOSTN
    markers | uniq -c | awk '$1 > 1 { print $2, $1 }' >"$TMP/twice"
    awk '$2 != 2 { exit 1 }' "$TMP/twice" &&
        test "$(wc -l <"$TMP/twice")" -le 1 &&
        test -z "$(cut -d' ' -f1 "$TMP/twice" | sort | comm -23 - "$1")" &&
        test -z "$(cut -d' ' -f1 "$TMP/twice" | sort | comm -23 - <(sort "$HOSTS/host$2/home/marker" | uniq -d))"
}
watch_bg() { # watch_bg NAME: watch in the background, its output in $TMP/NAME
    "$J" watch --interval 0.3s >"$TMP/$1" 2>&1 &
    WPID=$!
}
launch() { "$J" launch "$@" -- --steal-remote --steal-block 2 >>"$TMP/launch.out" 2>&1; }

# ---- 1. a host cut off mid-run, then healed
mkstudy "$TMP/cut" 60 0.4
t=$SECONDS
launch
watch_bg w1
for _ in $(seq 60); do grep -q '^stole' "$TMP/w1" && break; sleep 0.1; done
from=$(date +%s.%N)
bash "$SH/cut.sh" host1 >/dev/null
sleep 3
to=$(date +%s.%N)
bash "$SH/heal.sh" host1 >/dev/null
wait $WPID
rc=$?
check "cut: watch ended (exit $rc)" test $rc -eq 0
during=$(stolen_during 1 slow cut "$from" "$to" | wc -l)
check "cut: nothing of the cut host's share was claimed for another while it was cut ($during)" test "$during" -eq 0
"$J" collect --merge --out merged >"$TMP/c1" 2>&1
check "cut: collect --merge exit 0, 60 jobs ok once ($(oks merged/results.csv), $(rows merged/results.csv))" merged_once 60
check "cut: markers, every job exactly once" once 60
echo "    scenario 1: $((SECONDS - t)) s"

# ---- 2. a host frozen, then thawed
mkstudy "$TMP/freeze" 60 0.4
t=$SECONDS
launch
watch_bg w2
for _ in $(seq 60); do grep -q '^stole' "$TMP/w2" && break; sleep 0.1; done
bash "$SH/freeze.sh" host2 >/dev/null
sleep 3
bash "$SH/thaw.sh" host2 >/dev/null
wait $WPID
rc=$?
check "freeze: watch ended (exit $rc)" test $rc -eq 0
"$J" collect --merge --out merged >"$TMP/c2" 2>&1
check "freeze: collect --merge exit 0, 60 jobs ok once ($(oks merged/results.csv), $(rows merged/results.csv))" merged_once 60
check "freeze: markers, every job exactly once" once 60
echo "    scenario 2: $((SECONDS - t)) s"

# ---- 3. a host crashed, booted and relaunched (mid: an owner, and a thief once its share is claimed)
mkstudy "$TMP/crash" 60 0.4
t=$SECONDS
launch
watch_bg w3
sleep 2
bash "$SH/crash.sh" host2 >/dev/null
cut_jobs 2 crash mid >"$TMP/cut3"
sleep 0.5
bash "$SH/boot.sh" host2 >/dev/null
launch --machine mid
check "crash: relaunched" grep -Eq 'mid \(host2\): (resumed|started) \(pid' "$TMP/launch.out"
wait $WPID
"$J" watch --interval 0.3s >/dev/null 2>&1
"$J" collect --merge --out merged >"$TMP/c3" 2>&1
check "crash: collect --merge exit 0, 60 jobs ok once ($(oks merged/results.csv), $(rows merged/results.csv))" merged_once 60
check "crash: no job ended twice but one cut between its end and its row (cut: $(tr '\n' ' ' <"$TMP/cut3"))" twice_only_cut "$TMP/cut3" 2
echo "    scenario 3: $((SECONDS - t)) s"

# ---- 4. a hand-over that failed because the thief crashed
mkstudy "$TMP/handover" 60 0.4
t=$SECONDS
launch
watch_bg w4
for _ in $(seq 100); do [[ -s $(layout_of 1 handover)/layout.json ]] && break; sleep 0.05; done
L=$(basename "$(layout_of 1 handover)")
bash "$SH/crash.sh" host3 >/dev/null
cut_jobs 3 handover fast >"$TMP/cut4"
# watch's first step of a steal, whose second (the same claim on the thief's disk) could not be
# made: slow's last block (9, its jobs 18 and 19 in the plan's order) claimed for fast on slow's disk.
jobs4=$("$J" plan --json | grep -o '"name":"slow"[^]]*' | grep -o '[0-9,]*$' | cut -d, -f19,20)
printf '{"owner":"slow","block":9,"machine":"fast","host":"host3","pid":0,"run":"lost","at":"t","jobs":[%s]}\n' "$jobs4" |
    $SSHHOSTS_SSH host1 "jobsplit/handover/.jobsplit-remote/jobsplit-\$(uname -m) remote-serve steal-claim jobsplit/handover out .jobsplit/$L 2" >"$TMP/a4" 2>&1
check "hand-over: block 9 of slow (jobs $jobs4) is claimed for fast on slow's disk only" \
    sh -c "grep -q '\"won\":true' '$TMP/a4' && ! test -e '$(layout_of 3 handover)/claims/slow/9'"
sleep 0.5
bash "$SH/boot.sh" host3 >/dev/null
launch --machine fast
wait $WPID
check "hand-over: watch handed it over again" grep -q "^handed block 9 of slow to fast again" "$TMP/w4"
"$J" collect --merge --out merged >"$TMP/c4" 2>&1
check "hand-over: collect --merge exit 0, 60 jobs ok once ($(oks merged/results.csv), $(rows merged/results.csv))" merged_once 60
check "hand-over: no job ended twice but one the crash cut" twice_only_cut "$TMP/cut4" 3
onfast=1
for i in ${jobs4//,/ }; do grep -qx "$i" "$HOSTS/host3/home/marker" || onfast=0; done
check "hand-over: its jobs ran on fast, the thief its claim names" test -n "$jobs4" -a $onfast -eq 1
echo "    scenario 4: $((SECONDS - t)) s"

# ---- 5. a host declared dead and rescued while cut off, then coming back
mkstudy "$TMP/dead" 90 0.4
t=$SECONDS
launch
sleep 2
bash "$SH/cut.sh" host1 >/dev/null
# Slower still while it is away (its disk is reachable from here): it is running when it comes back.
echo 0.25 >"$HOSTS/host1/home/speed"
for _ in $(seq 200); do running 2 || running 3 || break; sleep 0.1; done
"$J" collect --merge --out merged >"$TMP/c5a" 2>&1
"$J" launch --rescue merged --dead slow >"$TMP/l5" 2>&1
rc=$?
check "dead: launch --rescue --dead slow: fenced on mid and fast, not yet on slow (cut), rescue started (exit $rc)" \
    sh -c "grep -q 'mid (host2): fenced slow' '$TMP/l5' && grep -q 'fast (host3): fenced slow' '$TMP/l5' &&
           grep -q 'slow (host1): not fenced there yet' '$TMP/l5' && grep -Eq 'fast \(host3\): started' '$TMP/l5'"
check "dead: the fence is on mid's and fast's disks and recorded here" \
    test -e "$(layout_of 2 dead)/fenced/slow" -a -e "$(layout_of 3 dead)/fenced/slow" -a -e "out/.jobsplit/$(basename "$(layout_of 2 dead)")/fenced/slow"
"$J" watch --rescue merged --dead slow --interval 0.3s >"$TMP/w5" 2>&1
"$J" collect --rescue merged --dead slow >"$TMP/c5b" 2>&1
check "dead: slow's run went on while cut off" running 1
bash "$SH/heal.sh" host1 >/dev/null
# It comes back: the next contact (here collect) writes the fence before anything else.
"$J" collect >"$TMP/c5c" 2>&1
check "dead: the fence is on slow's disk after the first contact" test -e "$(layout_of 1 dead)/fenced/slow"
claimed=$(ls "$(layout_of 1 dead)/claims/slow" | wc -l)
for _ in $(seq 100); do running 1 || break; sleep 0.1; done
check "dead: slow's run ended by itself once fenced" sh -c "! bash '$SH/on.sh' host1 pgrep -f 'jobsplit-x86_64 run' >/dev/null"
check "dead: it started no other block (claims on its disk $claimed, now $(ls "$(layout_of 1 dead)/claims/slow" | wc -l))" \
    test "$(ls "$(layout_of 1 dead)/claims/slow" | wc -l)" -eq "$claimed"
check "dead: its run said why" grep -q 'declared dead (fenced' "$HOSTS/host1/home/jobsplit/dead/.jobsplit-remote/slow.out"
echo 1 >"$HOSTS/host1/home/speed"
"$J" launch >"$TMP/l5b" 2>&1
check "dead: a plain launch starts nothing for it" grep -q 'slow (host1): declared dead (fenced): nothing started' "$TMP/l5b"
"$J" collect >"$TMP/c5d" 2>&1
"$J" merge out out-rescue --out merged2 >"$TMP/m5" 2>"$TMP/m5.err"
rc=$?
twice=$(markers | uniq -d | wc -l)
thrice=$(markers | uniq -c | awk '$1 > 2' | wc -l)
reported=$(grep -o '"ran_twice": *[0-9]*' merged2/summary.json | grep -o '[0-9]*$')
check "dead: merge exit 0, 90 jobs ok once ($rc; $(oks merged2/results.csv), $(rows merged2/results.csv))" \
    test $rc -eq 0 -a "$(oks merged2/results.csv)" -eq 90 -a "$(rows merged2/results.csv)" -eq 90
check "dead: every job ran, none three times ($(markers | uniq | wc -l) ran, $thrice thrice)" \
    test "$(markers | uniq | wc -l)" -eq 90 -a "$thrice" -eq 0
check "dead: merge reports exactly what ran twice (markers: $twice, merge: ${reported:-none})" \
    test -n "$reported" -a "$twice" -gt 0 -a "${reported:-x}" = "$twice"
check "dead: merge says so" grep -q 'slow was declared dead (fenced) and ran on' "$TMP/m5.err"
echo "    scenario 5: $((SECONDS - t)) s"

echo "    all: $((SECONDS - T0)) s"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
