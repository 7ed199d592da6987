#!/bin/sh
# Run the study of indexed-job.yaml on Kubernetes: the Indexed Job, then, once it has ended
# (complete OR failed), the merge Job; prints the merge's log.
#
#   sh run-study.sh            (kubectl must reach the cluster; run from anywhere)
#
# Kubernetes has no dependency between Jobs, so this script is the `afterany` of Slurm: it
# waits until the study Job's condition is Complete or Failed, never 24 h on a failed Job,
# and merges in both cases (a failed shard's jobs are then listed in merged/missing.txt;
# rescue them as docs/cluster.md says). `kubectl wait` waits for one condition only, so the
# script polls both with `kubectl get` (any kubectl version, any POSIX shell).
#
# Exit status: 0 every shard and the merge ended ok; 1 the study or the merge failed (jobs
# are missing: see the merge log); 2 a Job did not end within TIMEOUT seconds.
# Environment: TIMEOUT (default 86400 s for the study, the merge gets the same), POLL
# (seconds between checks, default 10). To run it again, first delete both Jobs
# (kubectl delete job squares squares-merge): a Job's spec cannot be changed in place.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
yaml=$here/indexed-job.yaml
timeout=${TIMEOUT:-86400}
poll=${POLL:-10}

# wait_job NAME: prints Complete or Failed once the Job has either condition; returns 2 if
# neither came within $timeout seconds.
wait_job() {
    waited=0
    while :; do
        conditions=$(kubectl get "job/$1" -o 'jsonpath={.status.conditions[?(@.status=="True")].type}')
        for c in $conditions; do
            case $c in
                Complete | Failed)
                    echo "$c"
                    return 0
                    ;;
            esac
        done
        if [ "$waited" -ge "$timeout" ]; then
            echo "job/$1 neither complete nor failed after $timeout s (conditions: ${conditions:-none})" >&2
            return 2
        fi
        sleep "$poll"
        waited=$((waited + poll))
    done
}

status=0
kubectl apply -f "$yaml" -l jobsplit/step=run
study=$(wait_job squares) || exit 2
echo "job/squares: $study"
[ "$study" = Complete ] || status=1

kubectl apply -f "$yaml" -l jobsplit/step=merge
merge=$(wait_job squares-merge) || exit 2
echo "job/squares-merge: $merge"
kubectl logs job/squares-merge || true
[ "$merge" = Complete ] || status=1
exit "$status"
