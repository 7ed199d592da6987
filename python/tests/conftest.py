import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))  # the package, uninstalled

if not os.environ.get("JOBSPLIT_BIN"):
    for build in ("debug", "release"):
        candidate = os.path.join(ROOT, "target", build, "jobsplit")
        if os.access(candidate, os.X_OK):
            os.environ["JOBSPLIT_BIN"] = candidate
            break
for name in list(os.environ):
    if name.startswith("JOBSPLIT_") and name != "JOBSPLIT_BIN":
        del os.environ[name]
