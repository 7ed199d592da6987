"""The progress bar of map() and Study runs: tqdm's on a terminal (a real pseudo-terminal) and
in a Jupyter kernel (an IPython shell of the kernel's class, whose output is not a terminal);
nothing when told to be quiet, without tqdm, or with nobody watching."""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("tqdm")

HERE = os.path.dirname(os.path.abspath(__file__))

#: Makes this Python look like a Jupyter kernel to the package (tqdm.auto then draws text:
#: there is no real kernel to draw a widget in).
NOTEBOOK = textwrap.dedent("""
    import sys, types
    class ZMQInteractiveShell:
        config = {}
    sys.modules["IPython"] = types.SimpleNamespace(get_ipython=ZMQInteractiveShell)
""")

#: Makes tqdm impossible to import, as when it is not installed.
NO_TQDM = "import sys\nsys.modules['tqdm'] = None\n"

MAP = textwrap.dedent("""
    import jobsplit
    from mapfuncs import square
    if __name__ == "__main__":
        print("results", len(jobsplit.map(square, range(12), threads=2, quiet=QUIET)))
""")


def script(tmp_path, *parts):
    path = tmp_path / "script.py"
    path.write_text("".join(parts))
    return str(path)


def env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")])))


def on_terminal(path, cwd):
    """Everything the script writes to its terminal (stdout and stderr are a pty)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100
    p = subprocess.Popen([sys.executable, path], cwd=cwd, env=env(), stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert p.wait(timeout=120) == 0, out.decode(errors="replace")
    return out.decode(errors="replace")


def piped(path, cwd):
    p = subprocess.run([sys.executable, path], cwd=cwd, env=env(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout, p.stderr


def test_map_shows_a_bar_on_a_terminal(tmp_path):
    out = on_terminal(script(tmp_path, MAP.replace("QUIET", "False")), tmp_path)
    assert "jobsplit.map" in out and "12/12" in out and "100%" in out, out
    assert "results 12" in out


def test_map_shows_nothing_when_quiet_or_without_tqdm(tmp_path):
    quiet = on_terminal(script(tmp_path, MAP.replace("QUIET", "True")), tmp_path)
    assert quiet.strip() == "results 12", quiet
    without = on_terminal(script(tmp_path, NO_TQDM, MAP.replace("QUIET", "False")), tmp_path)
    assert without.strip() == "results 12", without


def test_map_shows_nothing_with_nobody_watching(tmp_path):
    stdout, stderr = piped(script(tmp_path, MAP.replace("QUIET", "False")), tmp_path)
    assert (stdout, stderr) == ("results 12\n", "")


def test_map_shows_a_bar_in_a_notebook(tmp_path):
    stdout, stderr = piped(script(tmp_path, NOTEBOOK, MAP.replace("QUIET", "False")), tmp_path)
    assert stdout == "results 12\n"
    assert "jobsplit.map" in stderr and "12/12" in stderr, stderr
    stdout, stderr = piped(script(tmp_path, NOTEBOOK, MAP.replace("QUIET", "True")), tmp_path)
    assert (stdout, stderr) == ("results 12\n", "")


STUDY = textwrap.dedent("""
    import jobsplit
    from mapfuncs import square
    study = jobsplit.Study(list(range(9)), square, seed="bar",
                           machines={"ws1": {"weight": 1, "cores": 2}, "ws2": {"weight": 2, "cores": 1}})
    if __name__ == "__main__":
        study.main(["run", "--machine", "ws1", "--yes"] + ARGS)
""")


def test_a_study_run_shows_a_bar_in_a_notebook_unless_quiet(tmp_path):
    # ws1's share of 9 jobs at weights 1 and 2 (and cores 2 and 1) is 4 jobs.
    _, stderr = piped(script(tmp_path, NOTEBOOK, STUDY.replace("ARGS", "[]")), tmp_path)
    assert "jobsplit run" in stderr and "4/4" in stderr, stderr
    _, stderr = piped(script(tmp_path, NOTEBOOK, STUDY.replace("ARGS", "['--quiet', '--out', 'out2']")), tmp_path)
    assert "jobsplit run" not in stderr and "4/4" not in stderr, stderr
