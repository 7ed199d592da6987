"""A persistent worker (docs/workers.md) that answers each job with the seed jobsplit sent it,
as text (a u64 does not fit a double): tests/aarch64/compare.py reads it from results.csv."""

import json
import sys

print(json.dumps({"hello": "jobsplit-worker", "version": 1}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    print(json.dumps({"index": job["index"], "ok": True, "result": {"seed": str(job["seed"])}}), flush=True)
