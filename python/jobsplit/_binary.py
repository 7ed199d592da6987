"""Finding the jobsplit binary: the one installed with this package first, then
``$JOBSPLIT_BIN``, then ``jobsplit`` on ``PATH``."""

import os
import shutil
import sysconfig

EXE = "jobsplit" + (sysconfig.get_config_var("EXE") or "")


def _same(a, b):
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def installed():
    """The binary the wheel installed beside this package, or None: the scripts directory of
    the install scheme whose site-packages holds the package (a venv's ``bin/``, ``~/.local/bin``
    for ``pip install --user``, the ``uv tool`` or ``pipx`` environment's ``bin/``), or ``bin/``
    beside the package for ``pip install --target DIR``. Found whether or not that directory is
    on ``PATH`` (a venv's Python run without activating it)."""
    site = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = [os.path.join(site, "bin", EXE)]
    for scheme in sysconfig.get_scheme_names():
        try:
            paths = sysconfig.get_paths(scheme)
        except KeyError:
            continue
        if any(_same(site, paths[k]) for k in ("purelib", "platlib") if k in paths and os.path.isdir(paths[k])):
            candidates.insert(0, os.path.join(paths["scripts"], EXE))
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def binary():
    """The jobsplit executable: the one installed with this package (see :func:`installed`),
    else ``$JOBSPLIT_BIN`` if set, else ``jobsplit`` on ``PATH``."""
    own = installed()
    if own:
        return own
    path = os.environ.get("JOBSPLIT_BIN")
    if path:
        if not os.access(path, os.X_OK):
            raise FileNotFoundError(f"JOBSPLIT_BIN={path} is not an executable file")
        return path
    found = shutil.which("jobsplit")
    if not found:
        raise FileNotFoundError(
            "the jobsplit binary is not installed with this package nor on PATH: install the "
            "package with it (pip install . in the jobsplit repository), or set JOBSPLIT_BIN to "
            "its path"
        )
    return found
