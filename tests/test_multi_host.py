"""Training on several hosts: train as two workers of a TF_CONFIG cluster on this machine's CPU,
each in its own copy of the project (two hosts that share nothing), against one process."""
import json
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from tests.conftest import command_env, copy_project, file_digests, run, set_params
from tests.test_pipeline import SMALL

LOSSES = "dvclive/train/plots/metrics/train/loss.tsv"
STATE = "models/checkpoint/state.json"
RUN = dict(SMALL, epochs=4, lr=3e-3, target_accuracy="none")  # all 4 epochs, no early stop


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """A project with its crops and split made, and a way to copy it to a new 'host'."""
    base = copy_project(tmp_path_factory.mktemp("hosts") / "base")
    set_params(base, **RUN)
    run(" && ".join(f"{sys.executable} -m stages.{stage}" for stage in
                    ("make_demo", "inputs", "detect_faces", "split")), base)

    def host(name):
        return shutil.copytree(base, base.parent / name)
    return host


def free_ports(count):
    """count TCP ports nothing listens on now."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(folders):
    """`python -m stages.train` in each folder, as the workers of one cluster (the first is
    worker 0, the chief); their Popen objects, stdout and stderr going to files there."""
    cluster = dict(worker=[f"localhost:{port}" for port in free_ports(len(folders))])
    workers = []
    for index, folder in enumerate(folders):
        env = dict(command_env(folder), TF_CONFIG=json.dumps(dict(
            cluster=cluster, task=dict(type="worker", index=index))))
        with open(folder.parent / f"{folder.name}.log", "w") as out:
            workers.append(subprocess.Popen([sys.executable, "-m", "stages.train"], cwd=folder,
                                            env=env, stdout=out, stderr=subprocess.STDOUT))
    return workers


def finished(workers, folders, timeout=600):
    """Wait for the workers; the output of each, asserting they succeeded."""
    outputs = []
    for worker, folder in zip(workers, folders):
        worker.wait(timeout=timeout)
        output = (folder.parent / f"{folder.name}.log").read_text()
        assert worker.returncode == 0, output[-3000:]
        outputs.append(output)
    return outputs


def losses(folder):
    return pd.read_csv(folder / LOSSES, sep="\t")["loss"].tolist()


@pytest.fixture(scope="module")
def trained(hosts):
    """One process; two workers; two workers killed after epoch 1 and started again."""
    single = hosts("single")
    run([sys.executable, "-m", "stages.train"], single)
    pair = [hosts("chief"), hosts("worker")]
    before = file_digests(pair[1])
    outputs = finished(start_workers(pair), pair)
    resumed = [hosts("chief2"), hosts("worker2")]
    workers = start_workers(resumed)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and workers[0].poll() is None:
        try:
            if json.loads((resumed[0] / STATE).read_text()).get("epochs_done", 0) >= 1:
                break
        except (OSError, ValueError):  # not written yet, or being replaced
            pass
        time.sleep(0.05)
    workers[1].send_signal(signal.SIGKILL)  # its host lost
    workers[0].wait(timeout=300)
    lost = (resumed[0].parent / f"{resumed[0].name}.log").read_text()
    again = finished(start_workers(resumed), resumed)
    return dict(single=single, pair=pair, outputs=outputs, before=before, resumed=resumed,
                lost=(workers[0].returncode, lost), again=again)


def test_two_workers_train_like_one_process(trained):
    one, two = losses(trained["single"]), losses(trained["pair"][0])
    assert len(one) == len(two) == RUN["epochs"]
    assert two == pytest.approx(one, rel=0.25)  # each worker normalises half a batch
    assert np.sign(np.diff(two)).tolist() == np.sign(np.diff(one)).tolist()  # the same shape
    chief = trained["pair"][0]
    for path in ("models/model.keras", "models/training.json", "plots/loss.png", STATE):
        assert (chief / path).stat().st_size > 0, path
    assert json.loads((chief / STATE).read_text())["finished"]


def test_only_the_chief_writes(trained):
    worker = trained["pair"][1]
    assert file_digests(worker) == trained["before"]
    assert "the chief writes the model" in trained["outputs"][1]


def test_a_lost_worker_stops_the_chief_with_one_line(trained):
    status, output = trained["lost"]
    assert status == 1, output[-3000:]
    assert output.strip().splitlines()[-1].startswith(
        "error: train: a worker of the cluster stopped (")
    assert "Traceback" not in output


def test_a_cluster_resumes_from_its_chiefs_checkpoint(trained):
    chief_output = trained["again"][0]
    assert f"train: resuming after epoch 1 of {RUN['epochs']}" in chief_output
    assert losses(trained["resumed"][0]) == pytest.approx(losses(trained["pair"][0]), rel=1e-4)
    assert not (trained["resumed"][1] / "models").exists()


def test_a_malformed_tf_config_is_one_line(hosts, tmp_path):
    project = hosts(tmp_path.name)
    done = subprocess.run([sys.executable, "-m", "stages.train"], cwd=project,
                          env=dict(command_env(project), TF_CONFIG="{not json"),
                          capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: TF_CONFIG cannot start")
    assert not (project / "models").exists()
