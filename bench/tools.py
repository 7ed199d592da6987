"""The programs the benchmark compares: found, installed when missing, or reported unavailable.

CI and fresh machines have only python3, cargo and gcc, so the harness installs its peers:
GNU parallel from Debian's packages (apt-get, as root or through `sudo -n`), rust-parallel with
`cargo install --locked` into target/bench/tools (kept between runs). The spawn floor is built
from benches/spawn_floor.rs with rustc. Any of these failing makes its rows read
"not available: <why>"; it never stops the benchmark.

GNU time and hyperfine are not needed: peak RSS comes from os.wait4 (the rusage GNU time
reports as %M) and the timing loop interleaves tools round by round, which hyperfine cannot.
"""

import os
import shutil

from harness import Unavailable, capture, run_once

RUST_PARALLEL_VERSION = None  # None: the newest; pin with a string such as "1.18.1"


class Tools:
    def __init__(self, root, work, install=True, log=print):
        self.root = root
        self.work = work
        self.install = install
        self.log = log
        self._found = {}
        self._apt_updated = False

    def get(self, name):
        """The path of a tool, or raises Unavailable saying why (remembered per run)."""
        if name not in self._found:
            finder = getattr(self, "_find_" + name.replace("-", "_"))
            try:
                self._found[name] = finder()
            except Unavailable as e:
                self._found[name] = e
        found = self._found[name]
        if isinstance(found, Unavailable):
            raise found
        return found

    def version(self, name):
        """A one-line version string for the report, or the reason it is unavailable."""
        try:
            path = self.get(name)
        except Unavailable as e:
            return f"not available: {e}"
        lines = (capture([path, "--version"]) or "?").strip().splitlines()
        return lines[0] if lines else "?"

    # --- finders -------------------------------------------------------------------------

    def _find_parallel(self):
        path = shutil.which("parallel")
        if path and _is_gnu_parallel(path):
            return path
        self._apt_install("parallel")
        path = shutil.which("parallel")
        if path and _is_gnu_parallel(path):
            return path
        raise Unavailable("`parallel` is not GNU parallel (moreutils?) and apt did not fix it")

    def _find_rust_parallel(self):
        tools = os.path.join(self.work, "tools")
        path = os.path.join(tools, "bin", "rust-parallel")
        if os.access(path, os.X_OK):
            return path
        on_path = shutil.which("rust-parallel")
        if on_path:
            return on_path
        if not self.install:
            raise Unavailable("not installed (--no-install)")
        cargo = shutil.which("cargo")
        if not cargo:
            raise Unavailable("cargo not found")
        self.log("installing rust-parallel with cargo install (once; about 1-2 minutes)...")
        argv = [cargo, "install", "rust-parallel", "--locked", "--root", tools]
        if RUST_PARALLEL_VERSION:
            argv += ["--version", RUST_PARALLEL_VERSION]
        r = run_once(argv, timeout=1200)
        if r.code != 0 or not os.access(path, os.X_OK):
            raise Unavailable(f"cargo install rust-parallel failed ({r.error()})")
        return path

    def _find_spawn_floor(self):
        src = os.path.join(self.root, "benches", "spawn_floor.rs")
        out = os.path.join(self.work, "spawn_floor")
        if os.access(out, os.X_OK) and os.path.getmtime(out) >= os.path.getmtime(src):
            return out
        rustc = shutil.which("rustc")
        if not rustc:
            raise Unavailable("rustc not found")
        r = run_once([rustc, "-O", "--edition", "2021", src, "-o", out], timeout=600)
        if r.code != 0:
            raise Unavailable(f"rustc benches/spawn_floor.rs failed ({r.error()})")
        return out

    # --- apt -----------------------------------------------------------------------------

    def _apt_install(self, package):
        if not self.install:
            raise Unavailable(f"{package} not installed (--no-install)")
        apt = shutil.which("apt-get")
        if not apt:
            raise Unavailable(f"{package} not installed and no apt-get here")
        prefix = []
        if os.geteuid() != 0:
            sudo = shutil.which("sudo")
            if not sudo or run_once([sudo, "-n", "true"]).code != 0:
                raise Unavailable(f"{package} not installed; apt-get needs root (no sudo -n)")
            prefix = [sudo, "-n"]
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        if not self._apt_updated:
            self.log("apt-get update...")
            run_once(prefix + [apt, "update", "-qq"], env=env, timeout=600)
            self._apt_updated = True
        self.log(f"apt-get install -y {package}...")
        r = run_once(prefix + [apt, "install", "-y", "-qq", package], env=env, timeout=900)
        if r.code != 0:
            raise Unavailable(f"apt-get install {package} failed ({r.error()})")


def _is_gnu_parallel(path):
    return "GNU parallel" in (capture([path, "--version"]) or "")
