# What tests/remote/{run,steal,steal_faults,steal_mesh}.sh share, sourced with the script's own arguments
# after it sets NAME (its temporary directory and default SSHHOSTS_BASE): the binary ($1, else
# JOBSPLIT_BIN, else the release build), the check helpers, the loud skip without root, a
# temporary directory removed at exit (KEEP=1 keeps it), and `start_hosts N [VAR=VALUE...]`,
# which starts N separate ssh hosts (tests/remote/sshhosts) and sources their env.sh.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${1:-${JOBSPLIT_BIN:-$REPO/target/release/jobsplit}}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
SH=$REPO/tests/remote/sshhosts

pass=0
fail=0
ok() { echo "ok   - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

if [[ $(id -u) -ne 0 ]]; then
    echo "!!! tests/remote/$(basename "$0") SKIPPED: needs root (sshd, namespaces) !!!" >&2
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
[[ -x $BIN ]] || { echo "no jobsplit binary at $BIN (run make static)" >&2; exit 1; }

TMP=$(mktemp -d "/tmp/jobsplit-$NAME.XXXXXX")
export SSHHOSTS_BASE=${SSHHOSTS_BASE:-/tmp/sshhosts-$NAME}
cleanup() {
    bash "$SH/stop.sh" "$SSHHOSTS_BASE" >/dev/null 2>&1
    [[ -n ${KEEP:-} ]] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

start_hosts() { # start_hosts N [VAR=VALUE...]: the VARs go to sshhosts' start.sh
    bash "$SH/stop.sh" "$SSHHOSTS_BASE" >/dev/null 2>&1
    if ! env "${@:2}" bash "$SH/start.sh" "$1" "$SSHHOSTS_BASE" >"$TMP/start.log" 2>&1; then
        cat "$TMP/start.log" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    source "$SSHHOSTS_BASE/env.sh"
}
