"""The files the package writes: a Study's ``.jobsplit/`` put in place whole (concurrent
``python study.py plan|run`` in one directory) and left alone when unchanged; ``map(out=DIR)``
never touching the user's own files in DIR; ``map()`` without ``out`` leaving nothing behind."""

import os
import subprocess
import sys
import tempfile
import textwrap

import jobsplit
from mapfuncs import square


STUDY = textwrap.dedent('''
    import jobsplit

    def double(x):
        return {"y": 2 * x["x"]}

    study = jobsplit.Study([{"x": i} for i in range(40)], double, seed="s",
                           machines={"a": {"weight": 1, "cores": 1}, "b": {"weight": 1, "cores": 1}})
    if __name__ == "__main__":
        study.main()
''')


def start(cwd, *args):
    env = dict(os.environ)  # PYTHONPATH: the source package unless the wheel is tested (conftest)
    return subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_concurrent_plans_and_runs_in_one_directory_all_succeed(tmp_path):
    (tmp_path / "study.py").write_text(STUDY)
    for round in range(3):
        procs = [start(tmp_path, "study.py", "plan") for _ in range(12)]
        procs += [start(tmp_path, "study.py", "run", "--machine", m, "--quiet") for m in ("a", "b")]
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, f"round {round}: {p.args}: {err}"
    # Nothing half written and no temporary file left.
    assert sorted(os.listdir(tmp_path / ".jobsplit")) == ["items.jsonl", "jobsplit.toml", "machines.json"]


def test_an_unchanged_study_leaves_its_files_alone(tmp_path):
    (tmp_path / "study.py").write_text(STUDY)
    first = start(tmp_path, "study.py", "plan")
    assert first.wait(timeout=120) == 0, first.stderr.read()
    before = {n: os.stat(tmp_path / ".jobsplit" / n) for n in os.listdir(tmp_path / ".jobsplit")}
    again = start(tmp_path, "study.py", "plan")
    assert again.wait(timeout=120) == 0, again.stderr.read()
    for name, st in before.items():
        now = os.stat(tmp_path / ".jobsplit" / name)
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), f"{name} was rewritten"


def test_map_into_a_directory_keeps_the_users_own_files(tmp_path):
    mine = {"machines.json": '{"ws1": [1, 8]}\n', "jobsplit.toml": 'machines = "machines.json"\n',
            "items.jsonl": "1\n2\n"}
    for name, text in mine.items():
        (tmp_path / name).write_text(text)
    results = jobsplit.map(square, list(range(5)), threads=2, params={"p": 1}, out=str(tmp_path))
    assert [r["sq"] for r in results] == [x * x for x in range(5)]
    for name, text in mine.items():
        assert (tmp_path / name).read_text() == text, f"map overwrote the user's {name}"
    assert (tmp_path / "jobsplit-map" / "out" / "local" / "results.csv").is_file()
    # A second call resumes: same results, no job run again.
    again = jobsplit.map(square, list(range(5)), threads=2, params={"p": 1}, out=str(tmp_path))
    assert [r["pid"] for r in again] == [r["pid"] for r in results]


def test_map_without_out_leaves_no_temporary_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert [r["sq"] for r in jobsplit.map(square, [1, 2, 3], threads=1, params={"p": 1})] == [1, 4, 9]
    try:
        jobsplit.map(square, ["not a number"], threads=1, params={"p": 1})
    except jobsplit.JobsFailed:
        pass
    assert os.listdir(tmp_path) == []


def test_map_into_a_directory_grows_by_appending_items(tmp_path):
    # The same out with more items: the earlier ones keep their results (not run again), the
    # new ones are a new epoch of the study (items.jsonl.epochs), as a job list that grows.
    first = jobsplit.map(square, list(range(5)), threads=2, params={"p": 1}, out=str(tmp_path))
    grown = jobsplit.map(square, list(range(8)), threads=2, params={"p": 1}, out=str(tmp_path))
    assert [r["sq"] for r in grown] == [x * x for x in range(8)]
    assert [r["pid"] for r in grown[:5]] == [r["pid"] for r in first]
    epochs = (tmp_path / "jobsplit-map" / "items.jsonl.epochs").read_text().splitlines()
    assert epochs[0] == "jobsplit-epochs v1"
    assert [line.split()[:3] for line in epochs[1:]] == [["0", "0", "5"], ["1", "5", "3"]]
    rows = (tmp_path / "jobsplit-map" / "out" / "local" / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 8, "an earlier item ran again"
