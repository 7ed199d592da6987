"""A Study driven over ssh from here (``python study.py launch|watch|collect --merge``,
docs/remote.md), with an ssh stand-in that runs each remote command with ``sh`` in a directory
standing for the host's home and without this package on its Python path: the script, its
package and the job list must be shipped, and the config must hold no path of this machine.
The real hosts are tests/remote/run.sh's."""

import csv
import os
import subprocess
import sys
import textwrap

FAKE_SSH = """#!/bin/sh
homes=$(dirname "$0")/homes
while [ $# -gt 0 ]; do
  case $1 in -O) exit 0 ;; --) shift; break ;; *) shift ;; esac
done
dest=$1; shift
unset PYTHONPATH
mkdir -p "$homes/$dest" && cd "$homes/$dest" && exec sh -c "$1"
"""

STUDY = textwrap.dedent('''
    import jobsplit
    from helper import double

    study = jobsplit.Study([{"x": i} for i in range(20)], double, seed="s", ship=["helper.py"],
                           remote_python=PYTHON,
                           machines={"a": {"weight": 1, "cores": 2, "ssh": "h1"},
                                     "b": {"weight": 1, "cores": 2, "ssh": "h2"}})
    if __name__ == "__main__":
        study.main()
''')


def test_a_study_launched_watched_and_collected_from_here(tmp_path):
    ssh = tmp_path / "fakessh"
    ssh.write_text(FAKE_SSH)
    ssh.chmod(0o755)
    study = tmp_path / "study"
    study.mkdir()
    (study / "study.py").write_text(STUDY.replace("PYTHON", repr(sys.executable)))
    (study / "helper.py").write_text("def double(r):\n    return {'y': 2 * r['x']}\n")
    env = dict(os.environ, JOBSPLIT_SSH=str(ssh))

    def study_py(*args):
        return subprocess.run([sys.executable, "study.py", *args], cwd=study, env=env,
                              capture_output=True, text=True, timeout=600)

    launch = study_py("launch")
    assert launch.returncode == 0, launch.stdout + launch.stderr
    # Each host started (a quick host's run may have ended before launch looked: "started,
    # and finished already").
    assert launch.stdout.count(": started") == 2, launch.stdout
    config = (study / ".jobsplit" / "remote.toml").read_text()
    assert str(tmp_path) not in config, config
    host = tmp_path / "homes" / "h1" / "jobsplit" / "study"
    for shipped in ("study.py", "helper.py", ".jobsplit/py/jobsplit/__init__.py", ".jobsplit/items.jsonl"):
        assert (host / shipped).is_file(), shipped
    watch = study_py("watch", "--interval", "0.3s")
    assert watch.returncode == 0, watch.stdout + watch.stderr
    status = study_py("status", "--remote")
    assert status.returncode == 0 and "20/20 done (20 ok" in status.stdout, status.stdout + status.stderr
    collect = study_py("collect", "--merge")
    assert collect.returncode == 0, collect.stdout + collect.stderr
    with open(study / "merged" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(int(r["index"]) for r in rows) == list(range(20))
    assert all(r["status"] == "ok" and int(r["y"]) == 2 * int(r["index"]) for r in rows), rows
    # Launched again: every share done, nothing started or sent.
    again = study_py("launch")
    assert again.stdout.count("done: nothing started; nothing sent") == 2, again.stdout
