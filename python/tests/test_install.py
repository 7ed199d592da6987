"""Where the package finds the binary: the one installed beside it first, then $JOBSPLIT_BIN,
then PATH; and the wheel (`make test-python` tests it installed in a fresh venv) carries a static
binary that its Python finds without the venv being activated."""

import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

import jobsplit

FIND = "import jobsplit; print(jobsplit.binary())"


def fake(path, text="fake"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\necho {text}\n")
    os.chmod(path, 0o755)
    return path


def found(site, **env):
    """What jobsplit.binary() says in a fresh Python that imports the package from `site`."""
    full = {k: v for k, v in os.environ.items() if k not in ("JOBSPLIT_BIN", "PYTHONPATH")}
    full.update(PYTHONPATH=site, **env)
    p = subprocess.run([sys.executable, "-c", FIND], env=full, capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else "error: " + p.stderr.strip().splitlines()[-1]


def test_the_binary_installed_beside_the_package_comes_first_then_jobsplit_bin_then_path(tmp_path):
    # The layout of `pip install --target SITE`: SITE/jobsplit/ and SITE/bin/jobsplit.
    site = tmp_path / "site"
    shutil.copytree(os.path.dirname(jobsplit.__file__), site / "jobsplit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    own = fake(str(site / "bin" / "jobsplit"))
    env_bin = fake(str(tmp_path / "env" / "jobsplit"))
    on_path = fake(str(tmp_path / "path" / "jobsplit"))
    path = str(tmp_path / "path") + os.pathsep + "/usr/bin:/bin"
    assert found(str(site), JOBSPLIT_BIN=env_bin, PATH=path) == own
    os.remove(own)
    assert found(str(site), JOBSPLIT_BIN=env_bin, PATH=path) == env_bin
    assert found(str(site), PATH=path) == on_path
    assert found(str(site), JOBSPLIT_BIN=str(tmp_path / "nothing"), PATH=path) == \
        f"error: FileNotFoundError: JOBSPLIT_BIN={tmp_path / 'nothing'} is not an executable file"
    assert found(str(site), PATH="/nonexistent").startswith(
        "error: FileNotFoundError: the jobsplit binary is not installed with this package nor on PATH")


@pytest.mark.skipif(not os.environ.get("JOBSPLIT_TEST_WHEEL"), reason="the wheel is not installed (make test-python)")
def test_the_wheel_carries_a_static_binary_that_its_python_finds_unactivated(tmp_path):
    assert jobsplit.__file__.startswith(sys.prefix), f"testing {jobsplit.__file__}, not the wheel"
    own = os.path.join(sysconfig.get_path("scripts"), "jobsplit")
    assert jobsplit.binary() == own
    # The venv's Python run by path, its bin/ not on PATH, with another binary named.
    p = subprocess.run([sys.executable, "-c", FIND], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "JOBSPLIT_BIN": fake(str(tmp_path / "other"))})
    assert p.stdout.strip() == own, p.stderr
    version = subprocess.run([own, "--version"], capture_output=True, text=True, check=True).stdout
    assert version == f"jobsplit {jobsplit.__version__}\n"
    with open(own, "rb") as f:
        elf = f.read()
    assert elf[:6] == b"\x7fELF\x02\x01", "a 64-bit little-endian ELF"
    phoff, phentsize, phnum = (int.from_bytes(elf[a:a + n], "little") for a, n in ((32, 8), (54, 2), (56, 2)))
    kinds = [int.from_bytes(elf[phoff + i * phentsize:][:4], "little") for i in range(phnum)]
    assert 3 not in kinds, "the wheel's binary has a program interpreter (PT_INTERP): it is not static"


@pytest.mark.skipif(not os.path.isfile(os.environ.get("JOBSPLIT_TEST_WHEEL", "")),
                    reason="JOBSPLIT_TEST_WHEEL names no wheel (make test-python)")
def test_the_readme_python_study_runs_in_a_fresh_venv_with_the_wheel_alone(tmp_path):
    """README: a fresh venv, `pip install` of the wheel (and pandas, as the README installs
    it), then the 15-line study and the four commands after it, as written, with that venv's
    python (not activated, so nothing else on PATH helps)."""
    readme = open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "README.md"), encoding="utf-8").read()
    section = readme.split("A study in 15 lines, `study.py`:\n\n```python\n", 1)[1]
    block, after = section.split("```\n", 1)
    commands = [line.split("#")[0].strip() for line in after.lstrip("\n").split("\n\n")[0].splitlines()]
    assert len(commands) == 4 and all(c.startswith("python ") for c in commands), commands
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", os.environ["JOBSPLIT_TEST_WHEEL"], "pandas"],
                   check=True)
    (tmp_path / "study.py").write_text(block)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    outputs = []
    ws2 = commands[1].replace("--machine ws1", "--machine ws2")  # "and --machine ws2 on ws2"
    for command in commands[:2] + [ws2] + commands[2:]:
        args = command.split(" ", 2)
        args = [python] + ([args[1], args[2].strip("\"")] if args[1] == "-c" else command.split()[1:])
        p = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, f"{command}: {p.stderr}"
        outputs.append(p.stdout)
    # The last command prints the mean estimate of pi for each n.
    means = [float(line.split()[-1]) for line in outputs[-1].splitlines() if line.split()[:1] in (["1000"], ["10000"])]
    assert len(means) == 2 and all(abs(m - 3.1416) < 0.1 for m in means), outputs[-1]
