#!/usr/bin/env bash
# tests/gridengine/stop.sh - stop the private Grid Engine cell of tests/gridengine/start.sh.
#
# Stops exactly the sge_execd and sge_qmaster whose PID files are under $SGE_LOCAL_BASE
# (never by process name): SIGTERM, then SIGKILL after 10 s. Jobs still running under that
# execd are killed with it (their shepherds are its children). --quiet: no progress lines.
set -uo pipefail

BASE=${SGE_LOCAL_BASE:-${TMPDIR:-/tmp}/jobsplit-gridengine}
quiet=0
[[ ${1:-} == --quiet ]] && quiet=1
say() { ((quiet)) || printf '[gridengine-stop %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n SGE_LOCAL_BASE="$BASE" bash "${BASH_SOURCE[0]}" "$@"
fi

# stop PIDFILE COMM: TERM, wait up to 10 s, then KILL.
stop() {
    local pf=$1 comm=$2 pid i
    [[ -s $pf ]] || return 0
    pid=$(tr -dc '0-9' <"$pf")
    [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || return 0
    say "stopping $comm (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        [[ -d /proc/$pid ]] || return 0
        sleep 0.2
    done
    say "$comm (pid $pid) did not stop: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

# Ask the daemons to shut down in order first (execd, then qmaster), if they answer.
if [[ -s $BASE/env.sh ]] && command -v qconf >/dev/null 2>&1; then
    # shellcheck disable=SC1091
    source "$BASE/env.sh"
    timeout 10 qconf -ke all >/dev/null 2>&1 || true
    timeout 10 qconf -km >/dev/null 2>&1 || true
fi

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
