#!/bin/sh
# A stand-in for a research program: a parameter point in, a JSON result out.
# It uses the job's own seed, so a rerun anywhere gives the same number.
alpha=$1
beta=$2
awk -v a="$alpha" -v b="$beta" -v s="$JOBSPLIT_SEED" -v steps="$JOBSPLIT_PARAM_STEPS" 'BEGIN {
    srand(s % 2147483647); x = 0
    for (i = 0; i < steps; i++) x += a * rand() - b * x / steps
    printf "{\"alpha\": %s, \"beta\": %s, \"x\": %.6f}\n", a, b, x
}' > "$JOBSPLIT_RESULT"
echo "simulated alpha=$alpha beta=$beta"
