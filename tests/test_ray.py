"""executor: ray: the per-video stages on a (local, 2-CPU) Ray instance give the bytes the
local process pool gives, bad videos recorded alike; an unreachable cluster is one line; a
worker killed mid-task is retried."""
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, file_digests, run, set_params
from tests.test_preprocess_stages import make_inputs

pytest.importorskip("ray")

OUTPUTS = ("data/faces", "data/faces.csv", "data/manifest.csv", "metrics/faces.json")


def digests(project):
    """{path: SHA-256} of every file detect_faces wrote."""
    return file_digests(project, OUTPUTS)


def test_ray_writes_the_bytes_the_local_pool_writes_bad_videos_included(project):
    make_inputs(project / "videos")
    set_params(project, frames_per_video=4, executor="local")
    run("python -m stages.detect_faces", project)
    local = digests(project)
    assert any(path.endswith(".npz") for path in local)
    for out in OUTPUTS:
        run(f"rm -rf '{out}'", project)
    set_params(project, executor="ray")
    done = run("python -m stages.detect_faces", project)
    assert digests(project) == local
    assert "text.mp4" in done.stderr  # a worker's warning reaches the user
    assert not [p for p in (project / "data/faces").iterdir() if p.name.startswith(".")]


def test_an_unreachable_cluster_is_one_line_naming_it_before_any_video_is_read(project):
    make_inputs(project / "videos")
    set_params(project, executor="ray")
    done = subprocess.run([sys.executable, "-m", "stages.detect_faces"], cwd=project,
                          capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(project),
                                   RAY_ADDRESS="127.0.0.1:9"))
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: RAY_ADDRESS '127.0.0.1:9' cannot be reached"), done.stderr
    assert not list((project / "data/faces").glob("*.npz"))


KILLED_ONCE = """
import os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from deepfake_dvc.parallel import parallel_map
import tests.test_ray as here
print(parallel_map(here.square_unless_first_try, [(i, sys.argv[2]) for i in range(4)], 2,
                   "work", executor="ray"))
print(os.nice(0), parallel_map(os.nice, [0, 0], 2, "priority", executor="ray"))
"""


def square_unless_first_try(job):
    """i * i; the first time item 2 is tried, its worker process dies (as a killed one)."""
    i, folder = job
    marker = os.path.join(folder, f"tried-{i}")
    if i == 2 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(9)
    return i * i


def test_a_worker_killed_mid_task_is_retried_and_workers_run_at_our_priority(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_worker_niceness"}
    done = subprocess.run([sys.executable, "-c", KILLED_ONCE, str(ROOT), str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True,
                          env=dict(env, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr[-3000:]
    squares, priority = done.stdout.strip().splitlines()[-2:]
    assert squares == "[0, 1, 4, 9]" and (tmp_path / "tried-2").exists()
    ours = int(priority.split()[0])  # not Ray's nice 15, which starves them beside a busy
    assert priority == f"{ours} [{ours}, {ours}]"  # process: the local pool's priority
