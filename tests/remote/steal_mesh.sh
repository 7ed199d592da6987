#!/usr/bin/env bash
# tests/remote/steal_mesh.sh - hosts that steal by themselves, with no launcher (issue 21,
# docs/remote.md, "Stealing with no launcher: --steal-mesh"):
#
#   bash tests/remote/steal_mesh.sh [PATH-TO-JOBSPLIT]   (default: the static build of `make static`)
#
# 3 separate ssh hosts (tests/remote/sshhosts with SSHHOSTS_MESH=1: each its own disk, and each
# can ssh to the others by name; SSHHOSTS_BASE defaults to /tmp/sshhosts-mesh) of simulated
# speeds 1, 2, 4: each job sleeps BASE / the factor in its host's own ~/speed and appends its
# index to ~/marker on its host's disk when it ends. Equal weights, `launch -- --steal-remote
# --steal-mesh`, and no `watch` unless said. Then:
#   1. no launcher: every job ok exactly once (merge, and the markers of all hosts together),
#      every row proven by a claim on its owner's disk, the fast host stole from the slow one by
#      itself (claims on slow's disk naming fast, made by fast's run: its pid, not watch's 0)
#      and ran more than its equal share; what a self-steal's claim cost (fast's status.json);
#   2. a claim race: the hosts stealing by themselves and watch arranging steals at once: one
#      claim per block on its owner's disk, the same on the thief's, every job exactly once;
#   3. a host declared dead while cut off (`launch --rescue merged --dead slow`: fenced on mid
#      and fast only), with no launcher after: slow learns it from a peer (the fence appears on
#      its own disk, which nobody else can reach), starts no other block and says why; healed,
#      merge reports exactly what ran twice;
#   4. a peer cut off mid-run: the others go on and end, nothing of its share is taken while it
#      is away; healed, it finishes its share: every job exactly once.
# STEAL_MESH=0 runs the same with `--steal-remote` alone (the hosts as before --steal-mesh): the
# checks of stealing with no launcher and of learning a fence from a peer then fail.
# Prints "N passed, N failed" last; exits 1 if any failed. Needs root (sshd, namespaces);
# without it says so LOUDLY and exits 0 with "0 passed, 0 failed, 1 skipped".
set -uo pipefail

NAME=mesh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
start_hosts 3 SSHHOSTS_MESH=1
export JOBSPLIT_SSH="$SSHHOSTS_SSH -o ConnectTimeout=4"
source "$(dirname "${BASH_SOURCE[0]}")/steal_lib.sh"
T0=$SECONDS

ran() { awk -F, -v m="$2" 'NR > 1 && $3 == m && $4 == "ok"' "$1" | wc -l; }
all_ended() { # all_ended SECONDS: waits until no run is alive on any host
    local _
    for _ in $(seq $(($1 * 10))); do
        running 1 || running 2 || running 3 || return 0
        sleep 0.1
    done
    return 1
}
by_self() { # by_self HOSTN STUDY OWNER THIEF: claims of OWNER's blocks on its disk naming THIEF,
    # made by THIEF's own run (a pid; watch's claims name pid 0)
    grep -l "\"machine\":\"$4\"" "$(layout_of "$1" "$2")/claims/$3"/* 2>/dev/null |
        xargs -r grep -L '"pid":0,' | wc -l
}
MESH=--steal-mesh
[[ ${STEAL_MESH:-1} == 0 ]] && MESH=
launch() { "$J" launch "$@" -- --steal-remote $MESH --steal-block 2 >>"$TMP/launch.out" 2>&1; }

# ---- 1. speeds 1, 2, 4, no launcher watching
mkstudy "$TMP/alone" 60 0.4
launch
check "launch --steal-remote --steal-mesh: 3 hosts started" test "$(grep -c ': started (pid' "$TMP/launch.out")" -eq 3
check "launch wrote the address book on each host" \
    sh -c "grep -q '\"machine\":\"mid\",\"ssh\":\"host2\"' '$HOSTS'/host1/home/jobsplit/alone/.jobsplit-remote/peers.json"
all_ended 60
"$J" collect --merge --out merged >"$TMP/c1" 2>&1
rc=$?
check "collect --merge: exit 0 ($rc)" test $rc -eq 0
check "every job ok exactly once (60 jobs: $(oks merged/results.csv) distinct, $(rows merged/results.csv) rows)" merged_once 60
check "the markers on the hosts' disks: every job ran exactly once" once 60
self=$(by_self 1 alone slow fast)
check "the fast host stole from the slow one by itself: $self claims on slow's disk name fast's run" test "$self" -gt 0
check "summary.json: the rows are proven by claims" grep -q '"claims"' merged/summary.json
check "balanced with no launcher: fast ran more than its equal share of 20, slow fewer (fast $(ran merged/results.csv fast), mid $(ran merged/results.csv mid), slow $(ran merged/results.csv slow))" \
    test "$(ran merged/results.csv fast)" -gt 20 -a "$(ran merged/results.csv slow)" -lt 20
status=$HOSTS/host3/home/jobsplit/alone/out/fast/status.json
calls=$(grep -o '"peer_claims": *[0-9]*' "$status" | grep -o '[0-9]*$')
ms=$(grep -o '"peer_claim_ms": *[0-9.]*' "$status" | grep -o '[0-9.]*$')
span() { # the first run's start to the last run's end, in seconds
    local a b
    a=$(grep -ho '"started_at": *"[^"]*"' out/*/manifest.json | cut -d'"' -f4 | sort | head -1)
    b=$(grep -ho '"ended_at": *"[^"]*"' out/*/manifest.json | cut -d'"' -f4 | sort | tail -1)
    awk -v a="$(date -d "$a" +%s.%N)" -v b="$(date -d "$b" +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}
echo "    self-steals: fast made ${calls:-0} claims on peers' disks, ${ms:-?} ms a claim; runs took $(span) s from the first start to the last end (ideal 60 x 0.4 / 7 = 3.4 s; static 8 s)"

# ---- 2. a claim race: self-stealing hosts and watch at once
mkstudy "$TMP/race" 60 0.3
launch
"$J" watch --interval 0.3s >"$TMP/w2" 2>&1
rc=$?
all_ended 30
"$J" collect --merge --out merged >"$TMP/c2" 2>&1
check "race: watch exit 0 ($rc), collect --merge: every job ok once ($(oks merged/results.csv), $(rows merged/results.csv))" \
    sh -c "test $rc -eq 0 && test $(oks merged/results.csv) -eq 60 -a $(rows merged/results.csv) -eq 60"
check "race: the markers, every job exactly once" once 60
handed=$(grep -c '^stole block' "$TMP/w2")
selfs=$(($(by_self 1 race slow fast) + $(by_self 1 race slow mid) + $(by_self 2 race mid fast)))
check "race: blocks went both ways ($selfs stolen by the hosts themselves, $handed lines of watch's)" test "$selfs" -gt 0
agree=1
for owner in 1:slow 2:mid 3:fast; do
    n=${owner%%:*} o=${owner#*:}
    for f in "$(layout_of "$n" race)/claims/$o"/*; do
        holder=$(grep -o '"machine":"[^"]*"' "$f" | cut -d'"' -f4)
        [[ $holder == "$o" ]] && continue
        case $holder in slow) t=1 ;; mid) t=2 ;; *) t=3 ;; esac
        mine=$(layout_of "$t" race)/claims/$o/$(basename "$f")
        grep -q "\"machine\":\"$holder\"" "$mine" 2>/dev/null || agree=0
    done
done
check "race: every stolen block's claim on its owner's disk is on its one thief's disk too" test $agree -eq 1

# ---- 3. a host declared dead while cut off, no launcher after
mkstudy "$TMP/dead" 90 0.4
t=$SECONDS
launch
sleep 2
bash "$SH/cut.sh" host1 >/dev/null
# Slower still while it is away: it is running when the fence comes.
echo 0.25 >"$HOSTS/host1/home/speed"
for _ in $(seq 300); do running 2 || running 3 || break; sleep 0.1; done
"$J" collect --merge --out merged >"$TMP/c3a" 2>&1
check "dead: slow still running, cut off, before the rescue" running 1
"$J" launch --rescue merged --dead slow >"$TMP/l3" 2>&1
rc=$?
fence=$(layout_of 1 dead)/fenced/slow
check "dead: launch --rescue --dead slow: fenced on mid and fast, not on slow (cut), rescue started (exit $rc)" \
    sh -c "grep -q 'mid (host2): fenced slow' '$TMP/l3' && grep -q 'fast (host3): fenced slow' '$TMP/l3' &&
           grep -q 'slow (host1): not fenced there yet' '$TMP/l3'"
for _ in $(seq 100); do [[ -e $fence ]] && break; sleep 0.1; done
claimed=$(ls "$(layout_of 1 dead)/claims/slow" | wc -l)
check "dead: slow learned it from a peer: the fence is on its own disk, cut off, with no launcher" test -e "$fence"
for _ in $(seq 100); do running 1 || break; sleep 0.1; done
check "dead: slow's run ended by itself" sh -c "! bash '$SH/on.sh' host1 pgrep -f 'jobsplit-x86_64 run' >/dev/null"
check "dead: it started no other block (claims on its disk $claimed, now $(ls "$(layout_of 1 dead)/claims/slow" | wc -l))" \
    test "$(ls "$(layout_of 1 dead)/claims/slow" | wc -l)" -eq "$claimed"
check "dead: its run said why" grep -q 'declared dead (fenced' "$HOSTS/host1/home/jobsplit/dead/.jobsplit-remote/slow.out"
bash "$SH/heal.sh" host1 >/dev/null
echo 1 >"$HOSTS/host1/home/speed"
"$J" watch --rescue merged --dead slow --interval 0.3s >/dev/null 2>&1
"$J" collect --rescue merged --dead slow >/dev/null 2>&1
"$J" collect >"$TMP/c3b" 2>&1
"$J" merge out out-rescue --out merged2 >"$TMP/m3" 2>"$TMP/m3.err"
rc=$?
twice=$(markers | uniq -d | wc -l)
reported=$(grep -o '"ran_twice": *[0-9]*' merged2/summary.json 2>/dev/null | grep -o '[0-9]*$')
check "dead: merge exit 0, 90 jobs ok once ($rc; $(oks merged2/results.csv), $(rows merged2/results.csv))" \
    test $rc -eq 0 -a "$(oks merged2/results.csv)" -eq 90 -a "$(rows merged2/results.csv)" -eq 90
check "dead: every job ran ($(markers | uniq | wc -l) of 90)" test "$(markers | uniq | wc -l)" -eq 90
check "dead: merge reports exactly what ran twice (markers: $twice, merge: ${reported:-0})" \
    test "${reported:-0}" = "$twice"
echo "    scenario 3: $((SECONDS - t)) s"

# ---- 4. a peer cut off mid-run: the others go on
mkstudy "$TMP/cutpeer" 60 0.4
t=$SECONDS
launch
sleep 0.5
bash "$SH/cut.sh" host1 >/dev/null
# Slower still while it is away: it is running when the others end.
echo 0.25 >"$HOSTS/host1/home/speed"
taken() { grep -L '"machine":"slow"' "$(layout_of 1 cutpeer)/claims/slow"/* 2>/dev/null | wc -l; }
sleep 0.5
cut_at=$(taken)
for _ in $(seq 300); do running 2 || running 3 || break; sleep 0.1; done
check "cut peer: mid and fast ended while slow is cut off ($((SECONDS - t)) s)" sh -c "! bash '$SH/on.sh' host2 pgrep -f 'jobsplit-x86_64 run' >/dev/null && ! bash '$SH/on.sh' host3 pgrep -f 'jobsplit-x86_64 run' >/dev/null"
check "cut peer: nothing of slow's share was taken while it was cut off (for others: $cut_at at the cut, $(taken) now)" \
    test "$(taken)" -eq "$cut_at"
check "cut peer: slow ran on while cut off" running 1
bash "$SH/heal.sh" host1 >/dev/null
echo 1 >"$HOSTS/host1/home/speed"
all_ended 60
"$J" collect --merge --out merged >"$TMP/c4" 2>&1
rc=$?
check "cut peer: collect --merge exit 0 ($rc), every job ok once ($(oks merged/results.csv), $(rows merged/results.csv))" \
    sh -c "test $rc -eq 0 && test $(oks merged/results.csv) -eq 60 -a $(rows merged/results.csv) -eq 60"
check "cut peer: the markers, every job exactly once" once 60
echo "    scenario 4: $((SECONDS - t)) s"

echo "    all: $((SECONDS - T0)) s"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
