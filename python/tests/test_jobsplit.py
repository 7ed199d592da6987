import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

import jobsplit
from mapfuncs import picky, square

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_map_returns_results_in_item_order_with_the_jobs_seeds(tmp_path):
    out = tmp_path / "run"
    results = jobsplit.map(square, list(range(10)), threads=2, seed="s1", params={"p": 3}, out=str(out))
    assert [r["sq"] for r in results] == [x * x for x in range(10)]
    assert [r["index"] for r in results] == list(range(10))
    assert all(r["p"] == 3 and math.isnan(r["nan"]) for r in results)
    assert len({r["pid"] for r in results}) <= 2, "persistent workers, not a process per job"
    assert len({r["seed"] for r in results}) == 10
    # The same items as a JSONL job list give the same seeds (the same work).
    again = jobsplit.map(square, list(range(10)), threads=1, seed="s1", params={"p": 3})
    assert [r["seed"] for r in again] == [r["seed"] for r in results]
    other = jobsplit.map(square, [0], seed="s2", params={"p": 3})
    assert other[0]["seed"] != results[0]["seed"]


def test_map_failures_raise_or_take_their_place():
    with pytest.raises(jobsplit.JobsFailed) as e:
        jobsplit.map(picky, [1, 2, 3, 4], threads=2)
    assert "ValueError: three is not allowed" in str(e.value)
    got = jobsplit.map(picky, [1, 2, 3, 4], threads=2, errors="return")
    assert got[:2] == [1.5, 2.5] and got[3] == 4.5
    assert isinstance(got[2], jobsplit.JobError) and got[2].status == "failed"


def test_map_refuses_a_lambda():
    with pytest.raises(ValueError, match="lambda"):
        jobsplit.map(lambda x: x, [1])


STUDY = textwrap.dedent('''
    import math, sys
    import jobsplit

    def simulate(point):
        rng = jobsplit.rng()
        draws = [rng.random() for _ in range(200)]
        jobsplit.result(alpha=point["alpha"], mean=sum(draws) / len(draws),
                        seed=str(jobsplit.job.seed), odd=float("inf") if point["alpha"] > 3 else 1.0)

    points = [{"alpha": a, "tag": "t%d" % a} for a in range(6)]
    study = jobsplit.Study(points, simulate, seed="fixed", params={"reps": 200, "name": "é \\"q\\""},
                           machines={"ws1": {"weight": 1, "cores": 1}, "ws2": {"weight": 2, "cores": 1},
                                     "ws3": {"weight": 1, "cores": 2}})
    if __name__ == "__main__":
        study.main()
''')


def run(cwd, *args):
    env = dict(os.environ)  # PYTHONPATH: the source package unless the wheel is tested (conftest)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_a_study_on_three_machines_merges_and_loads(tmp_path):
    (tmp_path / "study.py").write_text(STUDY)
    plan = run(tmp_path, "study.py", "plan", "--json")
    assert plan.returncode == 0, plan.stderr
    digest = json.loads(plan.stdout)["plan_digest"]

    # The same items as a JSONL job list: the same plan (digest, so keys and seeds).
    items = "\n".join(json.dumps({"alpha": a, "tag": "t%d" % a}) for a in range(6)) + "\n"
    (tmp_path / "items.jsonl").write_text(items)
    (tmp_path / "plain.toml").write_text(
        'seed = "fixed"\nmachines = ".jobsplit/machines.json"\n[params]\nreps = 200\nname = "é \\"q\\""\n'
        '[jobs]\nfile = "items.jsonl"\n')
    plain = subprocess.run([jobsplit.binary(), "plan", "--json", "--config", "plain.toml"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["plan_digest"] == digest

    for machine in ("ws1", "ws2", "ws3"):
        r = run(tmp_path, "study.py", "run", "--machine", machine, "--quiet")
        assert r.returncode == 0, r.stderr
    merged = run(tmp_path, "study.py", "merge")
    assert merged.returncode == 0, merged.stderr
    rows = records(jobsplit.load(str(tmp_path / "merged")))
    assert sorted(r["index"] for r in rows) == list(range(6))
    for r in rows:
        assert r["status"] == "ok" and r["exit_code"] is None and r["attempt"] == 1
        assert r["started_at"].tzinfo is not None and isinstance(r["duration_s"], float)
        assert 0.3 < r["mean"] < 0.7
        assert r["odd"] == (math.inf if r["alpha"] > 3 else 1.0)
        # The item's fields are beside its results (numbers as numbers); a worker has no command.
        assert r["input_alpha"] == r["alpha"] and r["input_tag"] == "t%d" % r["alpha"]
        assert "command" not in r
    # A rerun resumes: nothing left to do, the same rows.
    again = run(tmp_path, "study.py", "run", "--machine", "ws1", "--quiet")
    assert again.returncode == 0, again.stderr


GROWING = textwrap.dedent('''
    import os
    import jobsplit

    def work(item):
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "marker"), "a") as f:
            f.write("%d\\n" % item)
        jobsplit.result(twice=2 * item)

    items = list(range(int(os.environ["N_ITEMS"])))
    study = jobsplit.Study(items, work, seed="grow",
                           machines={"ws1": [1, 1], "ws2": [2, 1], "ws3": [1, 2]})
    if __name__ == "__main__":
        study.main()
''')


def test_a_study_grows_by_appending_items_and_no_item_runs_twice(tmp_path):
    (tmp_path / "study.py").write_text(GROWING)
    for n in (5, 9, 12):
        for machine in ("ws1", "ws2", "ws3"):
            env = dict(os.environ, N_ITEMS=str(n))  # PYTHONPATH: conftest's
            r = subprocess.run([sys.executable, "study.py", "run", "--machine", machine, "--quiet"],
                               cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
    ran = sorted(int(x) for x in (tmp_path / "marker").read_text().split())
    assert ran == list(range(12)), "an item ran twice or not at all"
    epochs = (tmp_path / ".jobsplit" / "items.jsonl.epochs").read_text().splitlines()
    assert [line.split()[1:3] for line in epochs[1:]] == [["0", "5"], ["5", "4"], ["9", "3"]]
    env = dict(os.environ, N_ITEMS="12")  # PYTHONPATH: conftest's
    merged = subprocess.run([sys.executable, "study.py", "merge"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert merged.returncode == 0, merged.stderr
    rows = records(jobsplit.load(str(tmp_path / "merged")))
    assert sorted((r["index"], r["twice"]) for r in rows) == [(i, 2 * i) for i in range(12)]


def test_a_command_job_writes_nan_through_the_package(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("import jobsplit\njobsplit.result(x=float('nan'), i=jobsplit.job.index, s=jobsplit.job.seed)\n")
    (tmp_path / "jobs.txt").write_text(f"{sys.executable} job.py\n")
    (tmp_path / "machines.json").write_text('{"solo": [1, 1]}')
    env = dict(os.environ)  # PYTHONPATH: the source package unless the wheel is tested (conftest)
    r = subprocess.run([jobsplit.binary(), "run", "--machine", "solo", "--yes", "--quiet"],
                       cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    row = records(jobsplit.load(str(tmp_path / "out" / "solo")))[0]
    assert math.isnan(row["x"]) and row["i"] == 0 and row["s"] > 0


def records(loaded):
    """`load`'s rows as a list of dicts, whether it gave a DataFrame (pandas installed) or a
    list; a DataFrame's missing values become None."""
    try:
        import pandas
    except ImportError:
        return loaded
    assert isinstance(loaded, pandas.DataFrame)
    return [{k: (None if v is pandas.NA else v) for k, v in row.items()}
            for row in loaded.to_dict("records")]


def test_load_gives_a_typed_dataframe_with_pandas(tmp_path):
    pandas = pytest.importorskip("pandas")
    script = tmp_path / "job.py"
    script.write_text("import jobsplit\njobsplit.result(x=float('nan') if jobsplit.job.index else 1.5, "
                      "word='w' + str(jobsplit.job.index))\n")
    (tmp_path / "jobs.txt").write_text(f"{sys.executable} job.py\n" * 3)
    (tmp_path / "machines.json").write_text('{"solo": [1, 1]}')
    env = dict(os.environ)  # PYTHONPATH: the source package unless the wheel is tested (conftest)
    r = subprocess.run([jobsplit.binary(), "run", "--machine", "solo", "--yes", "--quiet"],
                       cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    frame = jobsplit.load(str(tmp_path / "out" / "solo"))
    assert isinstance(frame, pandas.DataFrame) and len(frame) == 3
    assert str(frame["exit_code"].dtype) == "Int64"
    assert str(frame["started_at"].dt.tz) == "UTC"
    assert frame["x"].dtype.kind == "f" and frame["index"].dtype.kind == "i"
    # Rows come in the order they ran: the plan's shuffle, which depends on the job lines (here
    # the path of the Python running the tests), so they are compared by index.
    assert frame.sort_values("index")["word"].tolist() == ["w0", "w1", "w2"]
    # The line and the command as run come first, as text.
    assert list(frame.columns[9:]) == ["input", "command", "x", "word"]
    assert frame["command"].tolist() == [f"{sys.executable} job.py"] * 3


EXAMPLES = os.path.join(os.path.dirname(PYTHON_DIR), "examples", "python")


def test_the_examples_run(tmp_path):
    sweep = run(tmp_path, os.path.join(EXAMPLES, "sweep.py"))
    assert sweep.returncode == 0, sweep.stderr
    assert len(sweep.stdout.splitlines()) == 15
    study = os.path.join(EXAMPLES, "monte_carlo.py")
    for machine in ("ws1", "ws2"):
        r = run(tmp_path, study, "run", "--machine", machine, "--quiet")
        assert r.returncode == 0, r.stderr
    assert run(tmp_path, study, "merge").returncode == 0
    rows = records(jobsplit.load(str(tmp_path / "merged")))
    assert len(rows) == 60 and all(r["status"] == "ok" for r in rows)
    big = [r["pi"] for r in rows if r["n"] == 5000]
    assert abs(sum(big) / len(big) - math.pi) < 0.05


def test_the_readme_study_runs_as_shown(tmp_path):
    readme = open(os.path.join(os.path.dirname(PYTHON_DIR), "README.md"), encoding="utf-8").read()
    block = readme.split("A study in 15 lines, `study.py`:\n\n```python\n", 1)[1].split("```", 1)[0]
    assert len(block.strip().splitlines()) <= 15
    (tmp_path / "study.py").write_text(block)
    assert run(tmp_path, "study.py", "plan").returncode == 0
    for machine in ("ws1", "ws2"):
        r = run(tmp_path, "study.py", "run", "--machine", machine, "--threads", "2", "--quiet")
        assert r.returncode == 0, r.stderr
    assert run(tmp_path, "study.py", "merge").returncode == 0
    rows = records(jobsplit.load(str(tmp_path / "merged")))
    assert len(rows) == 100 and all(r["status"] == "ok" for r in rows)
    assert abs(sum(r["pi"] for r in rows) / 100 - math.pi) < 0.1


def _rust_example(name):
    """Builds the crate's example `name` with cargo and returns its executable (skips without
    cargo)."""
    import shutil

    cargo = os.environ.get("CARGO") or shutil.which("cargo")
    if not cargo:
        pytest.skip("cargo is not installed: the Rust side cannot be built")
    root = os.path.dirname(PYTHON_DIR)
    out = subprocess.run([cargo, "build", "--quiet", "--example", name, "--message-format=json"],
                         cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == name:
            if msg.get("executable"):
                return msg["executable"]
    raise AssertionError(f"cargo named no executable for example {name}")


def test_seeds_and_keys_equal_the_rust_map(tmp_path):
    from mapfuncs import identity

    exe = _rust_example("map_seeds")
    items = [0, 1, -7, 2.5, 0.1, 1e300, 12345678901234567890, "é \"q\" \t", None, True,
             [1, {"b": 2, "a": [1.0, 3]}], {"z": 1, "a": "x"}, ""]
    params = {"p": 3, "name": "é", "f": 0.25, "nested": {"y": [1, 2], "x": "z"}}  # TOML: no null
    for seed in ("s1", None):
        request = json.dumps({"items": items, "seed": seed, "params": params})
        rust = subprocess.run([exe], input=request, capture_output=True, text=True)
        assert rust.returncode == 0, rust.stderr
        want = [json.loads(line) for line in rust.stdout.splitlines()]
        assert len(want) == len(items)
        assert all(w["first"] == w["seed"] for w in want), "the generator's first draw is the seed"
        got = jobsplit.map(identity, items, threads=2, seed=seed, params=params)
        assert [(g["index"], g["key"], g["seed"]) for g in got] == \
            [(w["index"], w["key"], w["seed"]) for w in want], f"seed={seed!r}"
