#!/usr/bin/env bash
# tests/remote/steal.sh - work stealing with no shared disk (issue 21, docs/remote.md):
#
#   bash tests/remote/steal.sh [PATH-TO-JOBSPLIT]   (default: the static build of `make static`)
#
# 3 separate ssh hosts (tests/remote/sshhosts, each its own disk; SSHHOSTS_BASE defaults to
# /tmp/sshhosts-steal) of simulated speeds 1, 2, 4: each job sleeps BASE / the factor in its
# host's own ~/speed, and appends its index to ~/marker on its host's disk when it ends. Equal
# weights, `launch -- --steal-remote`, `watch` arranges the steals. Then:
#   1. every job ok exactly once (merge, and the markers of all hosts together), every row
#      proven by a claim on its owner's disk naming the machine that wrote it, the fast host
#      stole from the slow one and ran more than its equal share, the slow one less;
#   2. a claim race: 3 thieves over ssh (each through one `remote-serve session`, as watch
#      claims) and the owner's own run after the same blocks at once: one winner per block, and
#      each block's claim names it;
#   3. the launcher killed mid-steal: the hosts finish what they hold, nothing twice;
#   4. a thief crashed mid-run, booted and relaunched: it resumes the blocks handed to it,
#      nothing lost, nothing twice but a job the crash cut between its end (marker) and its
#      row, which the relaunch rightly runs again;
#   5. several claims in one steal-claim call: an answer each, in order; another block size or
#      another mode on a host: the claim is refused, nothing claimed;
#   6. a study that grows: `launch -- --steal-remote --follow`, the job list appended twice
#      while the hosts run and launched again each time, watch throughout: every job exactly
#      once by the markers, blocks of the later epochs stolen from the slow host, and merge
#      proves every row by the claims of its epoch.
# Prints "N passed, N failed" last; exits 1 if any failed. Needs root (sshd, namespaces);
# without it says so LOUDLY and exits 0 with "0 passed, 0 failed, 1 skipped".
set -uo pipefail

NAME=steal
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_hosts 3
export JOBSPLIT_SSH=$SSHHOSTS_SSH
source "$(dirname "${BASH_SOURCE[0]}")/steal_lib.sh"

speeds

# ---- 1. speeds 1, 2, 4, equal weights
S=$TMP/study
write_study "$S" 60 0.4
cd "$S" || exit 1
t0=$(date +%s.%N)
"$J" launch -- --steal-remote --steal-block 2 >"$TMP/l1.out" 2>&1
check "launch --steal-remote: 3 hosts started" test "$(grep -c ': started (pid' "$TMP/l1.out")" -eq 3
"$J" watch --interval 0.3s >"$TMP/w1.out" 2>&1
rc=$?
t1=$(date +%s.%N)
check "watch: exit 0 when every host ended ($rc)" test $rc -eq 0
check "watch arranged steals" grep -q '^stole block' "$TMP/w1.out"
"$J" collect --merge --out merged >"$TMP/c1.out" 2>&1
rc=$?
check "collect --merge: exit 0 ($rc)" test $rc -eq 0
check "every job ok exactly once (60 jobs: $(oks merged/results.csv) distinct, $(rows merged/results.csv) rows)" \
    test "$(oks merged/results.csv)" -eq 60 -a "$(rows merged/results.csv)" -eq 60
check "the markers on the hosts' disks: every job ran exactly once" once 60
layout=$(ls -d "$HOSTS"/host1/home/jobsplit/study/out/.jobsplit/steal-* 2>/dev/null | head -1)
stolen=$(grep -l '"machine":"fast"' "$layout"/claims/slow/* 2>/dev/null | wc -l)
check "the fast host stole from the slow one: $stolen claims on slow's disk name fast" test "$stolen" -gt 0
check "summary.json: the rows are proven by claims" grep -q '"claims"' merged/summary.json
ran() { awk -F, -v m="$2" 'NR > 1 && $3 == m && $4 == "ok"' "$1" | wc -l; }
check "balanced: fast ran more than its equal share of 20, slow fewer (fast $(ran merged/results.csv fast), mid $(ran merged/results.csv mid), slow $(ran merged/results.csv slow))" \
    test "$(ran merged/results.csv fast)" -gt 20 -a "$(ran merged/results.csv slow)" -lt 20
grep '^arranged steals' "$TMP/w1.out" | sed 's/^/    /'
echo "    makespan $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s (ideal 60 x 0.4 / 7 = 3.4 s; static 8 s)"
grep '^stole' "$TMP/w1.out" | sed 's/^/    /' | head -5

# ---- 2. a claim race: 3 thieves and the owner's run, the same blocks at once
S2=$TMP/race
write_study "$S2" 60 0.2
cd "$S2" || exit 1
"$J" launch --machine slow -- --steal-remote --steal-block 1 >/dev/null 2>&1
R=
for _ in $(seq 100); do
    R=$(cd "$HOSTS/host1/home/jobsplit/race/out/.jobsplit" 2>/dev/null && ls -d steal-* 2>/dev/null | head -1)
    [[ -n $R && -s $HOSTS/host1/home/jobsplit/race/out/.jobsplit/$R/layout.json ]] && break
    sleep 0.05
done
race() { # race THIEF: claims blocks 19..0 of slow for THIEF on host1 through one session
    # (remote-serve session, as watch claims: a request a line, 0.1 s apart), prints the won
    local b rec
    for b in $(seq 19 -1 0); do
        rec=$(printf '{"owner":"slow","block":%s,"machine":"%s","host":"x","pid":0,"run":"run-%s","at":"t","jobs":[]}' "$b" "$1" "$1")
        printf '{"op":"steal-claim","args":["jobsplit/race","out",".jobsplit/%s","1"],"input":"%s\\n"}\n' "$R" "${rec//\"/\\\"}"
        sleep 0.1
    done | $SSHHOSTS_SSH host1 "jobsplit/race/.jobsplit-remote/jobsplit-\$(uname -m) remote-serve session" \
        >"$TMP/a-$1" 2>"$TMP/e-$1"
    echo "$?" >"$TMP/x-$1"
    # The answers come in the order asked: block 19 first.
    paste <(seq 19 -1 0) "$TMP/a-$1" | grep '\\"won\\":true' | cut -f1
}
race t1 >"$TMP/r1" & race t2 >"$TMP/r2" & race t3 >"$TMP/r3" &
wait
"$J" watch --machine slow --interval 0.3s >/dev/null 2>&1
claims=$HOSTS/host1/home/jobsplit/race/out/.jobsplit/$R/claims/slow
dup=$(cat "$TMP"/r[123] | sort | uniq -d | wc -l)
won=$(cat "$TMP"/r[123] | wc -l)
answered=$(cat "$TMP"/a-t* | grep -c '\\"won\\":')
check "race: all 60 claims answered in 3 sessions, exit 0 ($answered answers; $(cat "$TMP"/e-t* | sort | uniq -c | head -3 | tr '\n' ' '))" \
    test "$answered" -eq 60 -a -z "$(grep -v '^0$' "$TMP"/x-t*)"
check "race: the thieves won some blocks and the owner some ($won of 20 to thieves)" test "$won" -gt 0 -a "$won" -lt 20
check "race: no block won by two thieves" test "$dup" -eq 0
okrace=1
for b in $(seq 0 19); do
    holder=$(grep -o '"machine":"[^"]*"' "$claims/$b" | cut -d'"' -f4)
    won=$(grep -lx "$b" "$TMP"/r[123] 2>/dev/null | sed 's/.*r/t/')
    if [[ -n $won ]]; then [[ $holder == "$won" ]] || okrace=0; else [[ $holder == slow ]] || okrace=0; fi
done
check "race: each block's claim names its one winner ($(cat "$TMP"/r[123] | wc -l) won by thieves)" test $okrace -eq 1
ran=$(awk -F, 'NR > 1 && $4 == "ok"' "$HOSTS/host1/home/jobsplit/race/out/slow/results.csv" | wc -l)
lost=$(cat "$TMP"/r[123] | wc -l)
check "race: the owner ran exactly the blocks it won ($ran = 20 - $lost)" test "$ran" -eq $((20 - lost))

# ---- 3. the launcher killed mid-steal
for i in 1 2 3; do $SSHHOSTS_SSH "host$i" "rm -f ~/marker"; done
S3=$TMP/killed
write_study "$S3" 60 0.4
cd "$S3" || exit 1
"$J" launch -- --steal-remote --steal-block 2 >/dev/null 2>&1
"$J" watch --interval 0.3s >"$TMP/w3.out" 2>&1 &
wpid=$!
for _ in $(seq 50); do grep -q '^stole' "$TMP/w3.out" && break; sleep 0.1; done
kill -9 $wpid
wait $wpid 2>/dev/null
for _ in $(seq 120); do
    n=$(for i in 1 2 3; do bash "$SH/on.sh" "host$i" pgrep -f 'jobsplit-x86_64 run' >/dev/null && echo x; done | wc -l)
    [[ $n -eq 0 ]] && break
    sleep 0.5
done
check "launcher killed: every host ended by itself" test "$n" -eq 0
"$J" collect --merge --out merged >"$TMP/c3.out" 2>&1
check "launcher killed: collect --merge exit 0, 60 jobs ok once ($(oks merged/results.csv), $(rows merged/results.csv))" \
    test "$(oks merged/results.csv)" -eq 60 -a "$(rows merged/results.csv)" -eq 60
check "launcher killed: markers, every job exactly once" once 60

# ---- 4. a thief crashed mid-run, booted, relaunched
for i in 1 2 3; do $SSHHOSTS_SSH "host$i" "rm -f ~/marker"; done
S4=$TMP/crash
write_study "$S4" 60 0.4
cd "$S4" || exit 1
"$J" launch -- --steal-remote --steal-block 2 >/dev/null 2>&1
"$J" watch --interval 0.3s >"$TMP/w4.out" 2>&1 &
wpid=$!
for _ in $(seq 80); do grep -q '^stole.*for fast' "$TMP/w4.out" && break; sleep 0.1; done
bash "$SH/crash.sh" host3 >/dev/null 2>&1
# What host3 had done when it lost power: the jobs that ended (a marker) and those its run
# recorded ok (results.csv and its journal). A job with a marker and no ok row was killed
# between its end and its row: the relaunch rightly runs it again (it never ended as far as
# jobsplit knows).
sort "$HOSTS/host3/home/marker" 2>/dev/null >"$TMP/m4-ended"
cat "$HOSTS"/host3/home/jobsplit/crash/out/fast/results*.csv* 2>/dev/null |
    awk -F, '$4 == "ok" { print $1 }' | sort -u >"$TMP/m4-ok"
comm -23 "$TMP/m4-ended" "$TMP/m4-ok" >"$TMP/m4-cut"
sleep 0.5
bash "$SH/boot.sh" host3 >/dev/null 2>&1
"$J" launch --machine fast -- --steal-remote --steal-block 2 >"$TMP/l4.out" 2>&1
check "crash: the thief relaunched" grep -Eq 'fast \(host3\): (resumed|started) \(pid' "$TMP/l4.out"
wait $wpid
"$J" watch --interval 0.3s >/dev/null 2>&1
"$J" collect --merge --out merged >"$TMP/c4.out" 2>&1
check "crash: collect --merge exit 0, 60 jobs ok once ($(oks merged/results.csv), $(rows merged/results.csv))" \
    test "$(oks merged/results.csv)" -eq 60 -a "$(rows merged/results.csv)" -eq 60
markers | uniq -c | awk '$1 > 1 { print $2, $1 }' >"$TMP/m4-twice"
# Twice is right only for a job host3 ended and had not yet recorded when it crashed (at most
# one per core), run once more there by its relaunch; any other job ran exactly once.
twice_ok() {
    awk '$2 != 2 { exit 1 }' "$TMP/m4-twice" &&
        test "$(wc -l <"$TMP/m4-twice")" -le 1 &&
        test -z "$(cut -d' ' -f1 "$TMP/m4-twice" | sort | comm -23 - "$TMP/m4-cut")" &&
        test -z "$(cut -d' ' -f1 "$TMP/m4-twice" | sort | comm -23 - <(sort "$HOSTS/host3/home/marker" | uniq -d))"
}
check "crash: no job ended twice but one cut between its end and its row ($(tr '\n' ' ' <"$TMP/m4-twice" | sed 's/ $//'); cut: $(tr '\n' ' ' <"$TMP/m4-cut"))" twice_ok

# ---- 5. several claims in one call; another block size refused on the owner's disk
cd "$S" || exit 1
L=$(basename "$layout")
holders=$(for b in 0 9; do cat "$layout/claims/slow/$b" | grep -o '"machine":"[^"]*"'; done | tr '\n' ' ')
for b in 0 9; do
    printf '{"owner":"slow","block":%s,"machine":"mid","host":"x","pid":0,"run":"r","at":"t","jobs":[]}\n' "$b"
done | $SSHHOSTS_SSH host1 "jobsplit/study/.jobsplit-remote/jobsplit-\$(uname -m) remote-serve steal-claim jobsplit/study out .jobsplit/$L 2" >"$TMP/m.out" 2>&1
got=$(grep -o '"won":false,"holder":{[^}]*"machine":"[^"]*"' "$TMP/m.out" | grep -o '"machine":"[^"]*"' | tr '\n' ' ')
check "two claims in one call: an answer each, in order, both lost to their holders ($got = $holders)" \
    test "$(wc -l <"$TMP/m.out")" -eq 2 -a "$got" = "$holders"
before=$(ls "$layout/claims/slow" | wc -l)
printf '{"owner":"slow","block":999,"machine":"fast","host":"x","pid":0,"run":"r","at":"t","jobs":[]}\n' |
    $SSHHOSTS_SSH host1 "jobsplit/study/.jobsplit-remote/jobsplit-\$(uname -m) remote-serve steal-claim jobsplit/study out .jobsplit/$L 4" >"$TMP/b.out" 2>&1
rc=$?
check "a claim with another block size: refused ($rc), nothing claimed" \
    sh -c "test $rc -ne 0 && grep -q 'blocks of 2' '$TMP/b.out' && test $(ls "$layout/claims/slow" | wc -l) -eq $before"

# ---- 6. a study that grows twice while the hosts run it, balanced epoch by epoch
for i in 1 2 3; do $SSHHOSTS_SSH "host$i" "rm -f ~/marker"; done
S6=$TMP/grow
write_study "$S6" 30 0.4
cd "$S6" || exit 1
grow_launch() { "$J" launch -- --steal-remote --follow --steal-block 2 >"$TMP/l6-$1.out" 2>&1; }
grow_launch 0
check "grow: launch --steal-remote --follow: 3 hosts started" test "$(grep -c ': started (pid' "$TMP/l6-0.out")" -eq 3
"$J" watch --interval 0.3s >"$TMP/w6.out" 2>&1 &
wpid=$!
for _ in $(seq 100); do [[ $(markers | wc -l) -ge 5 ]] && break; sleep 0.1; done
seq 30 59 >>jobs.txt
grow_launch 1
check "grow: the first append is shipped to the 3 running followers" test "$(grep -c 'running already' "$TMP/l6-1.out")" -eq 3
for _ in $(seq 300); do markers | awk '$1 >= 30 { f = 1 } END { exit !f }' && break; sleep 0.1; done
seq 60 89 >>jobs.txt
grow_launch 2
check "grow: the second append is shipped to the 3 running followers (they had run $(markers | wc -l) of 60)" \
    test "$(grep -c 'running already' "$TMP/l6-2.out")" -eq 3
for _ in $(seq 600); do [[ $(markers | wc -l) -ge 90 ]] && break; sleep 0.1; done
kill -INT $wpid
wait $wpid 2>/dev/null
check "grow: the markers on the hosts' disks: every job of the 3 epochs ran exactly once" once 90
check "grow: watch arranged steals" grep -q '^stole block' "$TMP/w6.out"
"$J" stop >/dev/null 2>&1
for _ in $(seq 100); do
    n=$(for i in 1 2 3; do bash "$SH/on.sh" "host$i" pgrep -f 'jobsplit-x86_64 run' >/dev/null && echo x; done | wc -l)
    [[ $n -eq 0 ]] && break
    sleep 0.2
done
later=0
for l in "$HOSTS"/host1/home/jobsplit/grow/out/.jobsplit/steal-*; do
    grep -q '"epoch"' "$l/layout.json" || continue
    later=$((later + $(grep -L '"machine":"slow"' "$l"/claims/slow/* 2>/dev/null | wc -l)))
done
check "grow: blocks of the later epochs stolen from slow ($later claims on its disk name another machine)" test "$later" -gt 0
"$J" collect --merge --out merged >"$TMP/c6.out" 2>&1
rc=$?
check "grow: collect --merge exit 0 ($rc), 90 jobs ok once ($(oks merged/results.csv), $(rows merged/results.csv))" \
    test $rc -eq 0 -a "$(oks merged/results.csv)" -eq 90 -a "$(rows merged/results.csv)" -eq 90
check "grow: merge proves every row by the claims" grep -q 'proved by claims' "$TMP/c6.out"
grep '^arranged steals' "$TMP/w6.out" | sed 's/^/    /'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
