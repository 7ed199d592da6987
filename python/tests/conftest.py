"""The tests run against the package installed from the wheel (`make test-python` installs it
into a fresh venv and sets JOBSPLIT_TEST_WHEEL to the wheel), or else against the source tree: the package
in python/ (for these tests and the scripts they start) and the binary cargo built."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOURCE = os.path.dirname(HERE)
WHEEL = bool(os.environ.get("JOBSPLIT_TEST_WHEEL"))

if not WHEEL:
    sys.path.insert(0, SOURCE)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [SOURCE, os.environ.get("PYTHONPATH")]))
    if not os.environ.get("JOBSPLIT_BIN"):
        for build in ("debug", "release"):
            candidate = os.path.join(ROOT, "target", build, "jobsplit")
            if os.access(candidate, os.X_OK):
                os.environ["JOBSPLIT_BIN"] = candidate
                break
for name in list(os.environ):
    if name.startswith("JOBSPLIT_") and name not in ("JOBSPLIT_BIN", "JOBSPLIT_TEST_WHEEL"):
        del os.environ[name]
