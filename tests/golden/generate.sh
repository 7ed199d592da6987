#!/bin/sh
# Regenerates tests/golden/expected/ from the independent Python reference, for every case in
# cases.json. Run it only when a case is added: the expected files pin split-v1, the Rust crate
# must match them, and the tripwire in tests/golden.rs must not move for an existing case.
#
#   expected/NAME.plan.json  exactly what `jobsplit plan --json ARGS` prints
#   expected/NAME.keys.json  W, D, P, S, the shuffled list, the cuts, and every job's bytes,
#                            key and seed (cases with "keys": true)
#   expected/canonical.json  canonical JSON vectors: floats by bit pattern, strings, objects
set -eu
cd "$(dirname "$0")"
python3 - <<'PY'
import json, subprocess, sys
ref = "../reference/split_v1.py"
for case in json.load(open("cases.json", encoding="utf-8")):
    name = case["name"]
    args = [sys.executable, ref] + case["args"]
    if case.get("exclude"):
        args += ["--exclude", ",".join(map(str, case["exclude"]))]
    if case.get("keys"):
        args += ["--keys", "expected/%s.keys.json" % name]
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout
    open("expected/%s.plan.json" % name, "wb").write(out)
    print("expected/%s.plan.json" % name)
PY
# Studies that grew (docs/split-v1.md section 7): each case's epochs file (DIR/JOBS.epochs, an
# input the crate reads) is written by the reference with --write-epochs, then its plan.
python3 - <<'PY'
import json, subprocess, sys
ref = "../reference/split_v1.py"
for case in json.load(open("epochs.json", encoding="utf-8")):
    name = case["name"]
    args = [sys.executable, ref] + case["args"]
    args += ["--write-epochs", ",".join(map(str, case["ends"]))]
    if case.get("exclude"):
        args += ["--exclude", ",".join(map(str, case["exclude"]))]
    if case.get("keys"):
        args += ["--keys", "expected/%s.keys.json" % name]
    out = subprocess.run(args, check=True, stdout=subprocess.PIPE).stdout
    open("expected/%s.plan.json" % name, "wb").write(out)
    print("expected/%s.plan.json" % name)
PY
python3 ../reference/split_v1.py --canonical-vectors > expected/canonical.json
echo expected/canonical.json
