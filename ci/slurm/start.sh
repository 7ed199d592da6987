#!/usr/bin/env bash
# ci/slurm/start.sh - start a one-node Slurm cluster on localhost for jobsplit's tests.
#
# From nothing on a fresh Debian machine, as root (or with passwordless sudo):
#   1. installs slurmctld, slurmd, slurm-client and munge from Debian if any is missing
#      (apt-get update first, only then; a policy-rc.d keeps the packages' own
#      scripts from starting the system's daemons);
#   2. writes slurm.conf, a private munge key (mode 0400), state, spool and logs
#      under $SLURM_LOCAL_BASE;
#   3. starts munged, slurmctld and slurmd in the background, each with a PID file
#      under the base (ci/slurm/stop.sh stops exactly those PIDs);
#   4. waits until the node is idle and writes $SLURM_LOCAL_BASE/env.sh.
#
# Clients then need:   source "$SLURM_LOCAL_BASE/env.sh"    (sets SLURM_CONF)
#
# Settings that matter on a container without systemd or cgroups:
#   ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, SlurmUser=root,
#   SelectType=select/cons_tres + CR_Core (several 1-CPU array tasks share the node),
#   SchedulerParameters=batch_sched_delay=0, node CPUs = nproc.
#
# Idempotent: when the daemons of an earlier start are alive and the node answers,
# it prints the environment line and exits 0. Leftovers of a half-started cluster are
# stopped through their PID files (never by process name) and the cluster starts fresh.
#
# Exit status: 0 ready; 1 failed (the tails of the daemon logs are printed);
#              77 cannot run here (not root and no passwordless sudo): callers skip.
#
# Environment:
#   SLURM_LOCAL_BASE          base directory           (default ${TMPDIR:-/tmp}/jobsplit-slurm)
#   SLURM_LOCAL_CTLD_PORT     slurmctld port           (default 16817, off the usual 6817
#                                                       so a system Slurm never clashes)
#   SLURM_LOCAL_SLURMD_PORT   slurmd port              (default 16818)
#   SLURM_LOCAL_TIMEOUT       seconds to wait for idle (default 60)
set -euo pipefail
umask 022 # munged runs as user munge and must traverse everything created here

BASE=${SLURM_LOCAL_BASE:-${TMPDIR:-/tmp}/jobsplit-slurm}
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-16817}
SLURMD_PORT=${SLURM_LOCAL_SLURMD_PORT:-16818}
TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { printf '[slurm-start %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ 0. root?
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        say "not root: running again with sudo"
        exec sudo -n SLURM_LOCAL_BASE="$BASE" SLURM_LOCAL_CTLD_PORT="$CTLD_PORT" \
            SLURM_LOCAL_SLURMD_PORT="$SLURMD_PORT" SLURM_LOCAL_TIMEOUT="$TIMEOUT" \
            TMPDIR="${TMPDIR:-/tmp}" bash "${BASH_SOURCE[0]}" "$@"
    fi
    say "CANNOT START SLURM: this needs root or passwordless sudo (uid $(id -u))"
    exit 77
fi

ETC=$BASE/etc
CONF=$ETC/slurm.conf
RUN=$BASE/run
LOG=$BASE/log
STATE=$BASE/state
SPOOL=$BASE/spool
MUNGE_DIR=$BASE/munge
MUNGE_SOCK=$MUNGE_DIR/munge.socket.2
MUNGE_KEY=$MUNGE_DIR/munge.key
MUNGE_PID=$MUNGE_DIR/munged.pid
CTLD_PID=$RUN/slurmctld.pid
SLURMD_PID=$RUN/slurmd.pid

mkdir -p "$BASE"
touch "$BASE/.start-marker"
T_START=$SECONDS

die() {
    say "ERROR: $*"
    local f
    for f in "$LOG/slurmctld.log" "$LOG/slurmd.log" "$MUNGE_DIR/munged.log" \
        "$LOG/slurmctld.stderr" "$LOG/slurmd.stderr" "$LOG/munged.stderr"; do
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

# wait_daemon SECONDS PIDFILE COMM CMD...: wait for CMD; fail at once if the daemon dies.
wait_daemon() {
    local end=$((SECONDS + $1)) pf=$2 comm=$3
    shift 3
    until "$@" >/dev/null 2>&1; do
        if ! pid_alive "$pf" "$comm"; then
            sleep 0.5
            pid_alive "$pf" "$comm" || die "$comm exited during startup"
        fi
        ((SECONDS < end)) || die "$comm not ready after ${TIMEOUT}s"
        sleep 0.2
    done
}

# ------------------------------------------------------------------ 1. packages
missing=0
for b in slurmctld slurmd sbatch squeue sinfo scontrol scancel munged munge unmunge; do
    command -v "$b" >/dev/null 2>&1 || missing=1
done
if ((missing)); then
    say "installing slurmctld slurmd slurm-client munge (apt-get; log in $BASE/apt.log)"
    t0=$SECONDS
    added_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        # Exit 101 = "action not allowed": the packages' scripts start no daemon.
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        added_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    : >"$BASE/apt.log"
    rc=1
    for try in 1 2 3; do # retry transient mirror errors
        rc=0
        apt-get -o DPkg::Lock::Timeout=300 update -qq >>"$BASE/apt.log" 2>&1 || rc=$?
        if ((rc == 0)); then
            apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
                slurmctld slurmd slurm-client munge >>"$BASE/apt.log" 2>&1 || rc=$?
        fi
        ((rc == 0)) && break
        say "apt-get failed (exit $rc, try $try of 3)"
        sleep $((try * 5))
    done
    ((added_policy)) && rm -f /usr/sbin/policy-rc.d
    if ((rc != 0)); then
        tail -n 30 "$BASE/apt.log" >&2 || true
        die "apt-get failed (exit $rc)"
    fi
    say "packages installed in $((SECONDS - t0)) s"
fi

# slurmctld runs only where SlurmctldHost matches the short host name.
HOST=$(hostname -s 2>/dev/null || hostname)
HOST=${HOST%%.*}
[[ -n $HOST ]] || die "the host name is empty"
export SLURM_CONF=$CONF

write_env() {
    printf 'export SLURM_CONF=%q\n' "$CONF" >"$BASE/env.sh"
    say "ready in $((SECONDS - T_START)) s. Clients need: source $BASE/env.sh"
}
node_state() { sinfo -h -N -n "$HOST" -o '%T' 2>/dev/null | head -n1 || true; }

# ------------------------------------------------------------------ 2. already running?
if pid_alive "$MUNGE_PID" munged && pid_alive "$CTLD_PID" slurmctld \
    && pid_alive "$SLURMD_PID" slurmd && [[ -f $CONF ]] && wait_for 10 scontrol ping; then
    st=$(node_state)
    case $st in
        idle | mixed | allocated | completing)
            say "already running (node $HOST is $st)"
            write_env
            exit 0
            ;;
    esac
    say "daemons alive but node state is '$st': restarting"
fi
# Stop what an earlier, half-finished start left behind (by PID file only).
SLURM_LOCAL_BASE=$BASE bash "$HERE/stop.sh" --quiet || true
for pf in "$SLURMD_PID:slurmd" "$CTLD_PID:slurmctld" "$MUNGE_PID:munged"; do
    pid_alive "${pf%%:*}" "${pf##*:}" && die "${pf##*:} ($(cat "${pf%%:*}")) still runs; run ci/slurm/stop.sh"
done

port_busy() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
for p in "$CTLD_PORT" "$SLURMD_PORT"; do
    if port_busy "$p"; then
        die "port $p is in use; set SLURM_LOCAL_CTLD_PORT / SLURM_LOCAL_SLURMD_PORT"
    fi
done

# ------------------------------------------------------------------ 3. config
mkdir -p "$ETC" "$RUN" "$LOG" "$STATE" "$SPOOL"
chmod 755 "$BASE" "$ETC" "$RUN" "$LOG"
for f in "$LOG"/*.log "$LOG"/*.stderr "$MUNGE_DIR/munged.log"; do
    [[ -f $f ]] && mv -f "$f" "$f.prev" # keep one earlier log
done
find "$STATE" "$SPOOL" -mindepth 1 -delete # start clean: no jobs from an earlier run

CPUS=$(nproc)
MEM=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)

cat >"$CONF.new" <<EOF
# Written by jobsplit ci/slurm/start.sh: one node on localhost, no cgroups, no accounting.
ClusterName=jobsplitci
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCK
StateSaveLocation=$STATE
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups in a container: track processes through /proc, bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.log
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
# Cores are the consumable resource, so 1-CPU array tasks run side by side.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=5
# Finished jobs stay visible to scontrol for 5 minutes (there is no sacct database).
MinJobAge=300
NodeName=$HOST NodeHostname=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
mv -f "$CONF.new" "$CONF"
chmod 644 "$CONF"

# ------------------------------------------------------------------ 4. munged
getent passwd munge >/dev/null || die "user 'munge' is missing (is the munge package installed?)"
mkdir -p "$MUNGE_DIR"
chown munge:munge "$MUNGE_DIR"
chmod 755 "$MUNGE_DIR" # clients reach the socket in here
if [[ ! -s $MUNGE_KEY ]]; then
    dd if=/dev/urandom of="$MUNGE_KEY.new" bs=1024 count=1 status=none
    mv -f "$MUNGE_KEY.new" "$MUNGE_KEY"
fi
chown munge:munge "$MUNGE_KEY"
chmod 0400 "$MUNGE_KEY"
rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock" "$MUNGE_PID"
say "starting munged"
setpriv --reuid=munge --regid=munge --init-groups \
    munged --socket="$MUNGE_SOCK" --key-file="$MUNGE_KEY" --pid-file="$MUNGE_PID" \
    --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed" \
    </dev/null >"$LOG/munged.stderr" 2>&1 || die "munged failed to start"
munge_works() { munge -S "$MUNGE_SOCK" -n </dev/null | unmunge -S "$MUNGE_SOCK"; }
wait_for 15 munge_works || die "munged does not answer on $MUNGE_SOCK"
wait_for 5 pid_alive "$MUNGE_PID" munged || die "munged wrote no PID file"

# ------------------------------------------------------------------ 5. slurmctld, slurmd
say "starting slurmctld (port $CTLD_PORT)"
rm -f "$CTLD_PID" "$SLURMD_PID"
slurmctld -f "$CONF" -c </dev/null >"$LOG/slurmctld.stderr" 2>&1 || die "slurmctld failed to start"
wait_for 20 pid_alive "$CTLD_PID" slurmctld || die "slurmctld did not start (no live PID file)"
wait_daemon "$TIMEOUT" "$CTLD_PID" slurmctld scontrol ping

say "starting slurmd (port $SLURMD_PORT, $CPUS CPUs)"
slurmd -f "$CONF" -N "$HOST" </dev/null >"$LOG/slurmd.stderr" 2>&1 || die "slurmd failed to start"
wait_for 20 pid_alive "$SLURMD_PID" slurmd || die "slurmd did not start (no live PID file)"
registered() {
    local st
    st=$(node_state)
    [[ -n $st && $st != unknown* ]]
}
wait_daemon "$TIMEOUT" "$SLURMD_PID" slurmd registered

# ------------------------------------------------------------------ 6. node idle
end=$((SECONDS + TIMEOUT))
resumed=0
while :; do
    st=$(node_state)
    [[ $st == idle ]] && break
    if [[ $st == *drain* || $st == down* || $st == inval* ]] && ((resumed == 0)); then
        say "node is '$st': resuming it"
        scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
        resumed=1
    fi
    ((SECONDS < end)) || die "node $HOST is not idle after ${TIMEOUT}s (state '$st')"
    sleep 0.3
done
say "node $HOST idle: munged $(cat "$MUNGE_PID"), slurmctld $(cat "$CTLD_PID"), slurmd $(cat "$SLURMD_PID")"
write_env
