"""Plumbing: an interrupted parallel stage leaves no temporary file behind."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

SLOW_WRITER = """
import sys, time
from pathlib import Path
from stages.common import atomic_path, parallel_map, run_command

def slow_write(i):
    with atomic_path(Path(sys.argv[1]) / f"{i}.npz") as tmp:
        tmp.write_bytes(b"")
        time.sleep(60)

sys.exit(run_command(lambda argv: parallel_map(slow_write, range(2), 2, "write",
                                               writes_to=[sys.argv[1]])))
"""


@pytest.mark.parametrize("whom", ["the stage", "the whole process group (Ctrl-C)"])
def test_interrupting_workers_removes_their_temporaries(tmp_path, whom):
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(tmp_path)], cwd=ROOT,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)), start_new_session=True,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob(".*.tmp*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(list(tmp_path.glob(".*.tmp*"))) == 2, "the workers never started writing"
    if whom == "the stage":
        writer.send_signal(signal.SIGINT)
    else:
        os.killpg(writer.pid, signal.SIGINT)
    _, err = writer.communicate(timeout=60)
    assert writer.returncode == 130 and err.strip().endswith("interrupted")
    assert list(tmp_path.iterdir()) == []
