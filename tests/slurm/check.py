"""Checks of tests/slurm/run.sh: one study's shard outputs and merge against the plan.

    python3 check.py NAME OUT MERGED PLAN_JSON SHARDS NJOBS
    python3 check.py plan - - PLAN_JSON SHARDS NJOBS      (the plan alone)

Prints one "PASS: ..." or "FAIL: ..." line per check; run.sh counts them.
"""

import csv
import json
import os
import sys

FIXED = "index,key,machine,status,exit_code,attempt,started_at,duration_s,error".split(",")


def main():
    name, out, merged, plan_path, shards, njobs = sys.argv[1:]
    shards, njobs = int(shards), int(njobs)

    def result(good, what):
        print(("PASS: " if good else "FAIL: ") + name + ": " + what)
        return good

    plan = json.load(open(plan_path))
    names = [m.get("name") for m in plan.get("machines", [])]
    want_names = ["shard-%d" % i for i in range(shards)]
    assigned = {m["name"]: sorted(m.get("jobs", [])) for m in plan.get("machines", [])}
    every = sorted(i for jobs in assigned.values() for i in jobs)
    if name == "plan":  # the plan alone, checked once
        result(
            plan.get("algorithm") == "split-v1" and names == want_names,
            "split-v1 for machines %s (got %s, %s)"
            % (",".join(want_names), plan.get("algorithm"), names),
        )
        result(plan.get("jobs") == njobs, "%d jobs (got %s)" % (njobs, plan.get("jobs")))
        result(every == list(range(njobs)), "each of the %d jobs goes to one shard" % njobs)
        return
    owner = {i: shard for shard, jobs in assigned.items() for i in jobs}

    for shard in want_names:
        d = os.path.join(out, shard)
        manifest = os.path.join(d, "manifest.json")
        try:
            m = json.load(open(manifest))
        except (OSError, ValueError) as e:
            result(False, "%s: manifest.json: %s" % (shard, e))
            continue
        named = m.get("machine") == shard if "machine" in m else shard in json.dumps(m)
        result(named, "%s: manifest.json names %s" % (shard, shard))
        if "plan_digest" in m and "plan_digest" in plan:
            result(
                m["plan_digest"] == plan["plan_digest"],
                "%s: manifest plan_digest %s equals the plan's %s"
                % (shard, m["plan_digest"], plan["plan_digest"]),
            )
        result(os.path.isfile(os.path.join(d, "log.gz")), "%s: log.gz exists" % shard)
        try:
            rows = list(csv.DictReader(open(os.path.join(d, "results.csv"), newline="")))
        except OSError as e:
            result(False, "%s: results.csv: %s" % (shard, e))
            continue
        ran = sorted(int(r["index"]) for r in rows)
        result(
            ran == assigned.get(shard),
            "%s ran exactly the %d jobs the plan gave it (ran %s, plan %s)"
            % (shard, len(assigned.get(shard, [])), ran, assigned.get(shard)),
        )

    try:
        f = open(os.path.join(merged, "results.csv"), newline="")
        header = next(csv.reader(f))
        f.seek(0)
        rows = list(csv.DictReader(f))
    except (OSError, StopIteration) as e:
        result(False, "merged results.csv: %s" % e)
        return
    result(
        header[: len(FIXED)] == FIXED and "square" in header,
        "merged header is %s,...,square (got %s)" % (",".join(FIXED), ",".join(header)),
    )
    indices = sorted(int(r["index"]) for r in rows)
    result(
        indices == list(range(njobs)),
        "merged results.csv has each index 0..%d exactly once (%d rows)" % (njobs - 1, len(rows)),
    )
    bad = [
        r["index"]
        for r in rows
        if r.get("status") != "ok"
        or r.get("exit_code") not in ("0",)
        or r.get("square") != str(int(r["index"]) ** 2)
    ]
    result(not bad, "every job is ok with exit code 0 and square = index^2 (wrong: %s)" % bad[:10])
    wrong_machine = [r["index"] for r in rows if owner.get(int(r["index"])) != r.get("machine")]
    result(not wrong_machine, "every job ran on the shard the plan gave it (wrong: %s)" % wrong_machine[:10])
    try:
        missing = [l for l in open(os.path.join(merged, "missing.txt")) if l.strip() and not l.startswith("#")]
        result(not missing, "merged missing.txt lists no job (%d lines)" % len(missing))
    except OSError as e:
        result(False, "merged missing.txt: %s" % e)


if __name__ == "__main__":
    main()
