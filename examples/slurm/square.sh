#!/bin/sh
# One job of the example study: job N squares N.
#   usage: sh square.sh N
# jobsplit gives every job JOBSPLIT_JOB_INDEX (its 0-based line in jobs.txt), JOBSPLIT_SEED
# and JOBSPLIT_RESULT, a file for a JSON object whose fields become result columns.
set -eu
n=$1
if [ "${JOBSPLIT_JOB_INDEX:-}" != "$n" ]; then
    echo "square.sh $n: JOBSPLIT_JOB_INDEX is '${JOBSPLIT_JOB_INDEX:-<unset>}', expected $n" >&2
    exit 2
fi
: "${JOBSPLIT_SEED:?jobsplit sets JOBSPLIT_SEED}"
echo "job $n on $(hostname): $n * $n = $((n * n))"
printf '{"square": %d}\n' $((n * n)) >"$JOBSPLIT_RESULT"
