#!/usr/bin/env bash
# tests/gridengine/start.sh - start a private one-node Grid Engine cell on localhost for
# jobsplit's tests.
#
# From nothing on a fresh Debian machine, as root (or with passwordless sudo):
#   1. installs gridengine-master, gridengine-exec and gridengine-client from Debian if any
#      is missing (apt-get update first, only then). debconf is preseeded not to configure
#      the system's own cell, and a policy-rc.d keeps the packages' scripts from starting
#      daemons (the packages pull in an MTA, exim4, which is never started either);
#   2. builds a private SGE_ROOT under $SGE_LOCAL_BASE (links to the packaged binaries, the
#      cell `jobsplit`, a Berkeley DB spool, qmaster and execd spool directories) with a
#      global configuration that lets root submit (min_uid 0), sends no mail, reports load
#      every 2 s and writes a finished job's accounting (qacct) at once;
#   3. starts sge_qmaster and sge_execd on private ports, adds this host as admin, submit
#      and execution host, a queue `all.q` of SGE_LOCAL_SLOTS slots with no load threshold
#      (a busy CI machine must not put it in alarm), a parallel environment `smp`, and a
#      scheduler that runs every second (Debian's default is 15 s);
#   4. waits until the queue takes jobs and writes $SGE_LOCAL_BASE/env.sh.
#
# Clients then need:   source "$SGE_LOCAL_BASE/env.sh"   (SGE_ROOT, SGE_CELL, the ports)
#
# Idempotent: when the daemons of an earlier start are alive and answer, it exits 0.
# tests/gridengine/stop.sh stops exactly the daemons whose PID files are under the base.
#
# Exit status: 0 ready; 1 failed (the tails of the daemon logs are printed);
#              77 cannot run here (not root and no passwordless sudo): callers skip.
#
# Environment:
#   SGE_LOCAL_BASE          base directory            (default ${TMPDIR:-/tmp}/jobsplit-gridengine)
#   SGE_LOCAL_QMASTER_PORT  sge_qmaster port          (default 16444, off the usual 6444)
#   SGE_LOCAL_EXECD_PORT    sge_execd port            (default 16445)
#   SGE_LOCAL_SLOTS         slots of the one queue    (default 4)
#   SGE_LOCAL_TIMEOUT       seconds to wait for ready (default 60)
set -euo pipefail
umask 022

BASE=${SGE_LOCAL_BASE:-${TMPDIR:-/tmp}/jobsplit-gridengine}
QMASTER_PORT=${SGE_LOCAL_QMASTER_PORT:-16444}
EXECD_PORT=${SGE_LOCAL_EXECD_PORT:-16445}
SLOTS=${SGE_LOCAL_SLOTS:-4}
TIMEOUT=${SGE_LOCAL_TIMEOUT:-60}
PACKAGED_ROOT=/var/lib/gridengine
CELL=jobsplit

say() { printf '[gridengine-start %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ 0. root?
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        say "not root: running again with sudo"
        exec sudo -n SGE_LOCAL_BASE="$BASE" SGE_LOCAL_QMASTER_PORT="$QMASTER_PORT" \
            SGE_LOCAL_EXECD_PORT="$EXECD_PORT" SGE_LOCAL_SLOTS="$SLOTS" \
            SGE_LOCAL_TIMEOUT="$TIMEOUT" TMPDIR="${TMPDIR:-/tmp}" bash "${BASH_SOURCE[0]}" "$@"
    fi
    say "CANNOT START GRID ENGINE: this needs root or passwordless sudo (uid $(id -u))"
    exit 77
fi

ROOT=$BASE/root
COMMON=$ROOT/$CELL/common
SPOOLDB=$BASE/spooldb
QMASTER_SPOOL=$BASE/qmaster
EXECD_SPOOL=$BASE/execd
ENV_SH=$BASE/env.sh

mkdir -p "$BASE"
touch "$BASE/.start-marker"
T_START=$SECONDS

die() {
    say "ERROR: $*"
    local f
    for f in "$QMASTER_SPOOL/messages" "$EXECD_SPOOL"/*/messages "$BASE/qmaster.stderr" \
        "$BASE/execd.stderr"; do
        if [[ -s $f && $f -nt $BASE/.start-marker ]]; then
            echo "----- last lines of $f" >&2
            tail -n 20 "$f" >&2
        fi
    done
    exit 1
}

# pid_alive PIDFILE COMM: the PID in PIDFILE is a live (not zombie) process named COMM.
pid_alive() {
    local pf=$1 comm=$2 pid st
    [[ -s $pf ]] || return 1
    pid=$(tr -dc '0-9' <"$pf")
    [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || return 1
    st=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [[ ${st:0:1} != [ZX] ]]
}

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < end)) || return 1
        sleep 0.2
    done
}

# ------------------------------------------------------------------ 1. packages
missing=0
for b in qsub qstat qconf qdel qacct; do
    command -v "$b" >/dev/null 2>&1 || missing=1
done
for b in /usr/sbin/sge_qmaster /usr/sbin/sge_execd /usr/lib/gridengine/spoolinit; do
    [[ -x $b ]] || missing=1
done
if ((missing)); then
    say "installing gridengine-master gridengine-exec gridengine-client (apt-get; log in $BASE/apt.log)"
    t0=$SECONDS
    added_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        # Exit 101 = "action not allowed": the packages' scripts start no daemon.
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        added_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # Not the system's cell: this script makes its own under the base.
    debconf-set-selections <<EOF
gridengine-common shared/gridengineconfig boolean false
gridengine-common shared/gridenginecell string default
gridengine-common shared/gridenginemaster string $(hostname)
EOF
    : >"$BASE/apt.log"
    rc=1
    for try in 1 2 3; do # retry transient mirror errors
        rc=0
        apt-get -o DPkg::Lock::Timeout=300 update -qq >>"$BASE/apt.log" 2>&1 || rc=$?
        if ((rc == 0)); then
            apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
                gridengine-master gridengine-exec gridengine-client >>"$BASE/apt.log" 2>&1 || rc=$?
        fi
        ((rc == 0)) && break
        say "apt-get failed (exit $rc, try $try of 3)"
        sleep $((try * 5))
    done
    ((added_policy)) && rm -f /usr/sbin/policy-rc.d
    ((rc == 0)) || {
        tail -n 30 "$BASE/apt.log" >&2
        die "apt-get install failed"
    }
    say "installed in $((SECONDS - t0)) s"
fi

export SGE_ROOT=$ROOT SGE_CELL=$CELL SGE_QMASTER_PORT=$QMASTER_PORT SGE_EXECD_PORT=$EXECD_PORT
# The daemons name a peer by the reverse lookup of its address: on a machine whose hostname
# maps to 127.0.0.1 that is "localhost", not the hostname. Use the name they will see (and
# alias the hostname to it, below).
addr=$(getent ahostsv4 "$(hostname)" | awk 'NR == 1 { print $1 }')
HOST=$(/usr/lib/gridengine/gethostbyaddr -name "${addr:-127.0.0.1}" 2>/dev/null) || HOST=$(hostname)
QMASTER_PID=$QMASTER_SPOOL/qmaster.pid
EXECD_PID=$EXECD_SPOOL/$HOST/execd.pid

write_env() {
    cat >"$ENV_SH" <<EOF
# Written by tests/gridengine/start.sh: the environment of the private Grid Engine cell.
export SGE_ROOT=$ROOT SGE_CELL=$CELL SGE_QMASTER_PORT=$QMASTER_PORT SGE_EXECD_PORT=$EXECD_PORT
EOF
}

# ------------------------------------------------------------------ already running?
if pid_alive "$QMASTER_PID" sge_qmaster && pid_alive "$EXECD_PID" sge_execd &&
    qstat -f -q all.q >/dev/null 2>&1; then
    write_env
    say "already running (SGE_ROOT=$ROOT)"
    echo "source $ENV_SH"
    exit 0
fi
if [[ -e $ROOT ]]; then
    say "stopping the leftovers of an earlier start"
    bash "$(dirname "${BASH_SOURCE[0]}")/stop.sh" --quiet || true
    rm -rf "$ROOT" "$SPOOLDB" "$QMASTER_SPOOL" "$EXECD_SPOOL"
fi

# ------------------------------------------------------------------ 2. the private cell
mkdir -p "$COMMON" "$SPOOLDB" "$QMASTER_SPOOL/job_scripts" "$EXECD_SPOOL"
for d in bin lib util utilbin; do
    ln -s "$PACKAGED_ROOT/$d" "$ROOT/$d"
done
# admin_user none: the daemons stay root, so the spool under the base needs no chown.
cat >"$COMMON/bootstrap" <<EOF
# Version: 6.2
admin_user              none
default_domain          none
ignore_fqdn             true
spooling_method         berkeleydb
spooling_lib            libspoolb
spooling_params         $SPOOLDB
binary_path             /usr/sbin
qmaster_spool_dir       $QMASTER_SPOOL
security_mode           none
listener_threads        2
worker_threads          2
scheduler_threads       1
EOF
echo "$HOST" >"$COMMON/act_qmaster"
# A client names itself by its hostname in its connect message, which must equal the name
# the daemons resolve from its address.
if [[ $(hostname) != "$HOST" ]]; then
    echo "$HOST $(hostname)" >"$COMMON/host_aliases"
fi
# The packaged global configuration, changed where a private test cell needs it.
sed -e "s|^execd_spool_dir .*|execd_spool_dir        $EXECD_SPOOL|" \
    -e 's|^mailer .*|mailer                 /bin/true|' \
    -e 's|^min_uid .*|min_uid                0|' \
    -e 's|^min_gid .*|min_gid                0|' \
    -e 's|^load_report_time .*|load_report_time       00:00:02|' \
    -e 's|^administrator_mail .*|administrator_mail     none|' \
    -e 's|^reporting_params .*|reporting_params       accounting=true reporting=false flush_time=00:00:01 joblog=false sharelog=00:00:00 accounting_flush_time=00:00:00|' \
    /usr/share/gridengine/default-configuration >"$BASE/global.conf"
{
    /usr/lib/gridengine/spoolinit berkeleydb libspoolb "$SPOOLDB" init
    /usr/lib/gridengine/spooldefaults configuration "$BASE/global.conf"
    /usr/lib/gridengine/spooldefaults complexes /usr/share/gridengine/util/resources/centry
    /usr/lib/gridengine/spooldefaults usersets /usr/share/gridengine/util/resources/usersets
    /usr/lib/gridengine/spooldefaults managers root
} >"$BASE/init.log" 2>&1 || die "initializing the spool failed: $(tail -n 5 "$BASE/init.log")"
mkdir -p "$BASE/hosts"
printf 'hostname %s\n' "$HOST" >"$BASE/hosts/$HOST"
{
    /usr/lib/gridengine/spooldefaults adminhosts "$BASE/hosts"
    /usr/lib/gridengine/spooldefaults submithosts "$BASE/hosts"
} >>"$BASE/init.log" 2>&1 || die "adding $HOST as admin and submit host failed: $(tail -n 5 "$BASE/init.log")"
write_env

# ------------------------------------------------------------------ 3. daemons
say "starting sge_qmaster (port $QMASTER_PORT)"
/usr/sbin/sge_qmaster >"$BASE/qmaster.stderr" 2>&1 || die "sge_qmaster failed to start"
wait_for "$TIMEOUT" qconf -sh || die "sge_qmaster does not answer after ${TIMEOUT}s"

# The queue and the scheduler.
cat >"$BASE/exechost" <<EOF
hostname              $HOST
load_scaling          NONE
complex_values        NONE
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
EOF
qconf -Ae "$BASE/exechost" >>"$BASE/init.log" 2>&1 || die "qconf -Ae failed"
cat >"$BASE/smp.pe" <<EOF
pe_name            smp
slots              $SLOTS
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
qconf -Ap "$BASE/smp.pe" >>"$BASE/init.log" 2>&1 || die "qconf -Ap failed"
qconf -sq >"$BASE/queue.template" 2>/dev/null || die "qconf -sq failed"
sed -e 's|^qname .*|qname                 all.q|' \
    -e "s|^hostlist .*|hostlist              $HOST|" \
    -e "s|^slots .*|slots                 $SLOTS|" \
    -e 's|^load_thresholds .*|load_thresholds       NONE|' \
    -e 's|^pe_list .*|pe_list               smp|' \
    -e 's|^shell .*|shell                 /bin/sh|' \
    "$BASE/queue.template" >"$BASE/all.q"
qconf -Aq "$BASE/all.q" >>"$BASE/init.log" 2>&1 || die "qconf -Aq failed: $(tail -n 3 "$BASE/init.log")"
qconf -ssconf >"$BASE/sched.conf" 2>/dev/null || die "qconf -ssconf failed"
sed -i -e 's|^schedule_interval .*|schedule_interval                 0:0:1|' \
    -e 's|^flush_submit_sec .*|flush_submit_sec                  1|' \
    -e 's|^flush_finish_sec .*|flush_finish_sec                  1|' \
    "$BASE/sched.conf"
qconf -Msconf "$BASE/sched.conf" >>"$BASE/init.log" 2>&1 || die "qconf -Msconf failed"

say "starting sge_execd (port $EXECD_PORT)"
/usr/sbin/sge_execd >"$BASE/execd.stderr" 2>&1 || die "sge_execd failed to start"
wait_for "$TIMEOUT" pid_alive "$EXECD_PID" sge_execd || die "sge_execd is not running"

# ------------------------------------------------------------------ 4. ready?
# The queue takes jobs once execd has reported its load: its state is then empty, not "au".
queue_ok() {
    local st
    st=$(qstat -f -q all.q 2>/dev/null | awk -v h="all.q@$HOST" '$1 == h { print ($6 == "" ? "ok" : $6) }')
    [[ $st == ok ]]
}
wait_for "$TIMEOUT" queue_ok || die "queue all.q@$HOST not ready after ${TIMEOUT}s: $(qstat -f 2>&1 | tail -n 3)"
say "ready in $((SECONDS - T_START)) s: SGE_ROOT=$ROOT SGE_CELL=$CELL"
echo "source $ENV_SH"
