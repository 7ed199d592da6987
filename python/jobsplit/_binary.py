"""Finding the jobsplit binary."""

import os
import shutil


def binary():
    """The jobsplit executable: ``$JOBSPLIT_BIN`` if set, else ``jobsplit`` on ``PATH``."""
    path = os.environ.get("JOBSPLIT_BIN")
    if path:
        if not os.access(path, os.X_OK):
            raise FileNotFoundError(f"JOBSPLIT_BIN={path} is not an executable file")
        return path
    found = shutil.which("jobsplit")
    if not found:
        raise FileNotFoundError(
            "the jobsplit binary is not on PATH: install it (cargo install --path . in the "
            "jobsplit repository) or set JOBSPLIT_BIN to its path"
        )
    return found
