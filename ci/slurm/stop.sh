#!/usr/bin/env bash
# ci/slurm/stop.sh - stop the cluster that ci/slurm/start.sh started.
#
# Jobs still queued or running on this private cluster are cancelled through its own
# slurmctld first, so no slurmstepd is left behind. Then slurmd, slurmctld and munged are
# stopped, each through its PID file under $SLURM_LOCAL_BASE after checking that the PID
# is a live process of that name: nothing is ever killed by name.
# Safe to run when nothing runs. Exit 0 when everything it found is stopped.
#   --quiet   print less
set -uo pipefail

BASE=${SLURM_LOCAL_BASE:-${TMPDIR:-/tmp}/jobsplit-slurm}
CONF=$BASE/etc/slurm.conf
QUIET=0
[[ ${1:-} == --quiet ]] && QUIET=1

say() { ((QUIET)) || printf '[slurm-stop %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        exec sudo -n SLURM_LOCAL_BASE="$BASE" bash "${BASH_SOURCE[0]}" "$@"
    fi
    say "not root and no passwordless sudo: nothing to stop"
    exit 0
fi

# alive PID COMM: PID is a running (not zombie) process named COMM.
alive() {
    local st
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]] || return 1
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [[ ${st:0:1} != [ZX] ]]
}
# live_pid PIDFILE COMM: print the PID in PIDFILE when it is alive with that name.
live_pid() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(tr -dc '0-9' <"$1")
    [[ -n $pid ]] && alive "$pid" "$2" || return 1
    echo "$pid"
}

# 1. Cancel every job of this private cluster (through our controller only).
if [[ -f $CONF ]] && live_pid "$BASE/run/slurmctld.pid" slurmctld >/dev/null; then
    export SLURM_CONF=$CONF
    jobs=$(timeout 10 squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ')
    if [[ -n ${jobs// /} ]]; then
        say "cancelling jobs: $jobs"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null
        for _ in $(seq 1 100); do # up to ~20 s (KillWait=5)
            [[ -z $(timeout 10 squeue -h -o '%A' 2>/dev/null) ]] && break
            sleep 0.2
        done
    fi
fi

# 2. Stop the daemons: slurmd, slurmctld, munged.
rc=0
stop_one() {
    local pf=$1 comm=$2 pid
    if ! pid=$(live_pid "$pf" "$comm"); then
        if [[ -e $pf ]]; then
            say "$comm: removing a stale PID file"
            rm -f "$pf"
        fi
        return 0
    fi
    say "stopping $comm (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 150); do # up to 15 s
        alive "$pid" "$comm" || break
        sleep 0.1
    done
    if alive "$pid" "$comm"; then
        say "$comm (pid $pid) ignored SIGTERM: sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        sleep 0.5
        if alive "$pid" "$comm"; then
            say "$comm (pid $pid) is still alive"
            rc=1
        fi
    fi
    rm -f "$pf"
}
stop_one "$BASE/run/slurmd.pid" slurmd
stop_one "$BASE/run/slurmctld.pid" slurmctld
stop_one "$BASE/munge/munged.pid" munged
rm -f "$BASE/munge/munge.socket.2" "$BASE/munge/munge.socket.2.lock"
((rc == 0)) && say "stopped"
exit $rc
