# What tests/slurm/run.sh and tests/gridengine/run.sh share, sourced with the script's own
# arguments once it has set NAME (slurm, gridengine: its messages and temporary directory),
# ENGINE (the system's name as printed), START and STOP (its daemons' scripts, relative to the
# repository), CANCEL (the command that deletes its jobs), LIVE (a variable its env.sh sets),
# FIRST_PORT and TIMEOUT. It gives the binary ($1, else JOBSPLIT_BIN, else the release build),
# the example study, the check helpers, the loud skip without root, the checks of the binary
# and python3, a temporary directory $WORK, two free ports ($port and $port + 1), the cleanup
# at exit (the jobs in JOB_IDS deleted, the daemons stopped, $WORK removed unless a check
# failed or KEEP=1), and `start_cell BASE`, which starts the daemons in BASE and sources their
# env.sh.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-${JOBSPLIT_BIN:-$REPO/target/release/jobsplit}}
STUDY=$REPO/examples/slurm
SHARDS=4
NJOBS=$(grep -c . "$STUDY/jobs.txt")

pass=0
fail=0
ok() {
    echo "PASS: $*"
    pass=$((pass + 1))
}
bad() {
    echo "FAIL: $*"
    fail=$((fail + 1))
}
say() { printf '[%s-test %s] %s\n' "$NAME" "$(date +%H:%M:%S)" "$*"; }
summary() { echo "$pass passed, $fail failed"; }

skip_loudly() {
    {
        echo "###########################################################################"
        echo "##  SKIPPED: the $ENGINE end-to-end test did NOT run."
        echo "##  $*"
        echo "###########################################################################"
    } >&2
    echo "SKIPPED: tests/$NAME/run.sh: $*"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
}

if [[ $(id -u) -ne 0 ]] && ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
    skip_loudly "starting $ENGINE needs root or passwordless sudo (this is uid $(id -u))"
fi
if [[ ! -x $BIN ]]; then
    bad "no jobsplit binary at $BIN: build it with 'make static', or give its path (JOBSPLIT_BIN)"
    summary
    exit 1
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if ! command -v python3 >/dev/null 2>&1; then
    bad "python3 is needed to check the results"
    summary
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jobsplit-$NAME-test.XXXXXX")
chmod 755 "$WORK" # the daemons' users (munge for Slurm) and the jobs' user traverse it

# Two free ports next to each other for the two daemons.
port_busy() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
port=$FIRST_PORT
while port_busy "$port" || port_busy $((port + 1)); do port=$((port + 2)); done

JOB_IDS=()
cleanup() {
    trap - EXIT INT TERM
    if ((${#JOB_IDS[@]})) && [[ -n ${!LIVE:-} ]]; then
        $CANCEL "${JOB_IDS[@]}" >/dev/null 2>&1 || true
    fi
    bash "$REPO/$STOP" --quiet || echo "WARNING: $STOP failed" >&2
    if ((fail == 0)) && [[ ${KEEP:-0} != 1 ]]; then
        rm -rf "$WORK"
    else
        echo "outputs kept in $WORK"
    fi
    summary
}
trap cleanup EXIT
trap 'bad "interrupted"; exit 130' INT TERM

# start_cell BASE: starts the daemons in BASE (their start.sh reads it from the environment,
# with the ports) and sources BASE/env.sh; a start.sh that cannot run here (exit 77) is a
# loud skip, any other failure a failed check that ends the test.
start_cell() {
    say "starting $ENGINE in $1 (ports $port, $((port + 1)))"
    local t0=$SECONDS rc=0
    bash "$REPO/$START" || rc=$?
    if ((rc == 77)); then
        trap - EXIT
        rm -rf "$WORK"
        skip_loudly "$START cannot start $ENGINE here (not root, no passwordless sudo)"
    fi
    if ((rc != 0)); then
        bad "$START failed (exit $rc)"
        exit 1
    fi
    ok "$ENGINE started in $((SECONDS - t0)) s"
    # shellcheck disable=SC1091
    source "$1/env.sh"
}
