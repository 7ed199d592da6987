#!/usr/bin/env bash
# tests/gridengine/stop.sh - stop the private Grid Engine cell of tests/gridengine/start.sh.
#
# Stops exactly the sge_execd and sge_qmaster whose PID files are under $SGE_LOCAL_BASE
# (never by process name): SIGTERM, then SIGKILL after 3 s (the cell is thrown away, so a
# slow orderly shutdown of sge_qmaster buys nothing). The jobs still running under that execd
# are killed first. --quiet: no progress lines.
set -uo pipefail

BASE=${SGE_LOCAL_BASE:-${TMPDIR:-/tmp}/jobsplit-gridengine}
quiet=0
[[ ${1:-} == --quiet ]] && quiet=1
say() { ((quiet)) || printf '[gridengine-stop %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n SGE_LOCAL_BASE="$BASE" bash "${BASH_SOURCE[0]}" "$@"
fi

# running PID: PID is a process that has not ended (a daemon whose parent does not reap it,
# as in a container whose init does not, stays a zombie once it has ended).
running() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    [[ ${st:0:1} != [ZX] ]]
}

# stop PIDFILE COMM: TERM, wait up to 3 s, then KILL.
stop() {
    local pf=$1 comm=$2 pid i
    [[ -s $pf ]] || return 0
    pid=$(tr -dc '0-9' <"$pf")
    [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || return 0
    say "stopping $comm (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 15; i++)); do
        running "$pid" || return 0
        sleep 0.2
    done
    say "$comm (pid $pid) did not stop: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

# Jobs first: shepherds of running jobs are children of execd; kill their process groups.
for pf in "$BASE"/execd/*/execd.pid; do
    [[ -e $pf ]] || continue
    pid=$(tr -dc '0-9' <"$pf")
    if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == sge_execd ]]; then
        for child in $(pgrep -P "$pid" 2>/dev/null); do
            [[ $(cat "/proc/$child/comm" 2>/dev/null) == sge_shepherd ]] || continue
            for job in $(pgrep -P "$child" 2>/dev/null); do
                kill -KILL -- "-$job" 2>/dev/null || kill -KILL "$job" 2>/dev/null || true
            done
        done
    fi
    stop "$pf" sge_execd
done
stop "$BASE/qmaster/qmaster.pid" sge_qmaster
exit 0
