"""Fixtures: a throw-away copy of the project, and a runner for its commands; the tiers.

A test is an integration test (marked `integration`) when it, or a fixture it
uses, starts a process: a stage run as `python -m stages.X`, the real `dvc`,
the installed command, a browser. The others are unit tests, the fast tier that
a bare `python -m pytest` runs (pyproject.toml's addopts); `-m integration`
runs the rest and `-m ""` both (the README's command, and CI's).
"""
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


STARTS_A_PROCESS = ("run(", "run_killed(", "subprocess.", "Popen(", "sync_playwright")


def starts_a_process(func):
    """Whether func's own code starts a process (by this module's helpers or directly)."""
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    return any(call in source for call in STARTS_A_PROCESS)


def pytest_collection_modifyitems(items):
    """Mark the tests that start processes, themselves or through their fixtures."""
    for item in items:
        fixtures = item._fixtureinfo.name2fixturedefs.values()
        funcs = [item.function] + [defs[-1].func for defs in fixtures]
        if any(starts_a_process(func) for func in funcs):
            item.add_marker(pytest.mark.integration)


def command_env(cwd):
    """The environment the project's commands run in: its code importable, quiet, offline."""
    return dict(os.environ, DVC_NO_ANALYTICS="1", PYTHONPATH=str(cwd),
                TF_CPP_MIN_LOG_LEVEL="2", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
                GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")


def run(cmd, cwd, check=True):
    """Run a command in cwd; return the CompletedProcess (stdout and stderr as text)."""
    done = subprocess.run(cmd, cwd=cwd, env=command_env(cwd), capture_output=True, text=True,
                          shell=isinstance(cmd, str))
    if check and done.returncode:
        raise AssertionError(f"{cmd} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def run_killed(cmd, cwd, after_epoch, timeout=900):
    """Run a command in cwd and kill its training process (a killed job: SIGKILL, no clean-up)
    once train has checkpointed epoch after_epoch; return (the output, the checkpoint's state)."""
    state_file = cwd / "models" / "checkpoint" / "state.json"
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=command_env(cwd), shell=True, stdout=out,
                                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                state = json.loads(state_file.read_text())
            except (OSError, ValueError):  # not written yet, or being replaced
                state = {}
            if not state.get("finished") and state.get("epochs_done", 0) >= after_epoch:
                for child in psutil.Process(proc.pid).children(recursive=True):
                    if "stages.train" in " ".join(child.cmdline()):
                        child.kill()
                break
            time.sleep(0.05)
        proc.wait(timeout=120)  # dvc reports the failed stage and exits
        out.seek(0)
        return out.read(), json.loads(state_file.read_text())


def file_digests(root, under=("",)):
    """{path relative to root: SHA-256} of every file at or below the paths under (all of
    root by default), Python's bytecode caches aside."""
    from deepfake_dvc.files import file_digest
    paths = [root / part for part in under]
    files = [p for path in paths for p in ([path] if path.is_file() else path.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts]
    return {p.relative_to(root).as_posix(): file_digest(p) for p in files}


def set_params(project, **values):
    """Change keys of the project's params.yaml."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params.update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def copy_project(dest):
    """Copy the project's code and pipeline into dest (created); return dest."""
    dest.mkdir(parents=True)
    for package in ("deepfake_dvc", "stages"):
        shutil.copytree(ROOT / package, dest / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", "params.yaml", ".gitignore", "metrics/eval/.gitkeep",
                 "data/eval/.gitkeep", "data/robust/.gitkeep"):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, dest / name)
    return dest


def init_repo(project):
    """Make project a git + DVC repository with everything committed."""
    for cmd in ("git init -q", "dvc init -q", "git add -A", "git commit -qm init"):
        run(cmd, project)
    return project


@pytest.fixture
def project(tmp_path):
    """A copy of the project's code and pipeline in a temporary folder, reading videos/."""
    dest = copy_project(tmp_path / "project")
    set_params(dest, data_dir="videos", workers=2)
    return dest


@pytest.fixture
def dvc_project(project):
    """The project copy as a git + DVC repository with everything committed."""
    return init_repo(project)


@pytest.fixture
def small_disk():
    """small_disk(folder, kib): folder (created) becomes a tmpfs of kib KiB, a nearly full
    disk; unmounted afterwards. Skips where mounting is not allowed (not root)."""
    mounted = []

    def mount(folder, kib):
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs",
                               str(folder)], capture_output=True, text=True)
        if done.returncode:
            pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()})")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture(autouse=True)
def command_console():
    """The library's messages printed as its commands print them (one line each on stderr):
    the library alone only has a NullHandler."""
    from deepfake_dvc.log import install_console
    install_console()


@pytest.fixture
def restore_log_level():
    """The stages' log level back at info after the test."""
    yield
    from deepfake_dvc.log import set_log_level
    set_log_level("info")
