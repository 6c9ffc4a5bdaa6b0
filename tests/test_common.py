"""Plumbing: an interrupted parallel stage leaves no temporary file behind; messages and
their levels."""
import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tqdm import tqdm

from deepfake_dvc.cli import add_verbosity, run_command
from deepfake_dvc.log import log, set_log_level
from deepfake_dvc.params import run_stage
from tests.conftest import ROOT

SLOW_WRITER = """
import sys, time
from pathlib import Path
from deepfake_dvc.cli import run_command
from deepfake_dvc.files import atomic_path
from deepfake_dvc.parallel import parallel_map

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


def err_lines(capsys):
    """stderr's lines, progress-bar redraws (carriage returns) split off."""
    return [line.strip() for line in re.split(r"[\r\n]", capsys.readouterr().err) if line.strip()]


def test_a_message_during_a_progress_bar_comes_out_whole_on_its_own_line(capsys):
    def main(argv):
        for i in tqdm(range(3), desc="work", file=sys.stderr):
            if i == 1:
                log.warning("halfway there")
        log.info("done")

    assert run_command(main) == 0
    lines = err_lines(capsys)
    assert "warning: halfway there" in lines and lines[-1] == "done"
    assert any(line.startswith("work: 100%") for line in lines)


def test_an_error_is_one_line_and_sets_the_exit_status(capsys):
    from deepfake_dvc.errors import ConfigError

    def main(argv):
        raise ConfigError("lr: -1 is below 0; use a number > 0")

    assert run_command(main) == 2
    assert err_lines(capsys) == ["error: lr: -1 is below 0; use a number > 0"]


@pytest.mark.parametrize("flags, shown", [
    ([], ["info", "warning: warning", "error: error"]),
    (["-v"], ["debug: debug", "info", "warning: warning", "error: error"]),
    (["-q"], ["warning: warning", "error: error"]),
])
def test_verbose_and_quiet_choose_the_messages(capsys, restore_log_level, flags, shown):
    parser = argparse.ArgumentParser()
    add_verbosity(parser)

    def main(argv):
        set_log_level(parser.parse_args(argv).log_level)
        for level in ("debug", "info", "warning", "error"):
            getattr(log, level)(level)

    assert run_command(main, flags) == 0
    assert err_lines(capsys) == shown


@pytest.mark.parametrize("level, shown, status", [
    ("warning", ["warning: warning"], 0),
    ("loud", ["error: parameter 'log_level' is 'loud' (text): use one of debug, info, warning, "
              "error"], 2),
])
def test_a_stage_logs_at_the_params_log_level(tmp_path, monkeypatch, capsys, restore_log_level,
                                               level, shown, status):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(f"log_level: {level}\n")

    def main(argv):
        log.info("info")
        log.warning("warning")

    assert run_stage(main) == status
    assert err_lines(capsys) == shown


def warn_from_worker(item):
    log.warning(f"item {item}: skipped")
    return item


def test_a_workers_message_is_printed_by_the_parent_on_its_own_line(capsys):
    from deepfake_dvc.parallel import parallel_map

    def main(argv):
        assert parallel_map(warn_from_worker, range(3), 2, "work") == [0, 1, 2]

    assert run_command(main) == 0
    lines = err_lines(capsys)
    assert sorted(line for line in lines if line.startswith("warning:")) == [
        f"warning: item {i}: skipped" for i in range(3)]


def test_a_write_the_machine_refuses_is_a_machine_error_naming_the_path(tmp_path, small_disk):
    from deepfake_dvc.errors import MachineError
    from deepfake_dvc.files import write_bytes_atomic
    disk = small_disk(tmp_path / "disk", 16)
    with pytest.raises(MachineError, match=r"cannot write '.*big.bin': No space left on device"):
        write_bytes_atomic(disk / "big.bin", b"x" * 100_000)
    assert list(disk.iterdir()) == []  # no temporary left


@pytest.mark.parametrize("special", ["/dev/null", "folder"])
def test_a_special_file_or_folder_is_never_replaced(tmp_path, special):
    from deepfake_dvc.errors import ConfigError
    from deepfake_dvc.files import write_text_atomic
    target = tmp_path / special
    target.mkdir(exist_ok=True) if special == "folder" else None
    with pytest.raises(ConfigError, match="exists and is not a regular file; not replaced"):
        write_text_atomic(target, "text")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_a_closed_pipe_ends_quietly_without_a_traceback():
    printer = "import sys\nfrom deepfake_dvc.cli import run_command\n" \
              "def main(argv):\n    for i in range(100000):\n        print('line', i)\n" \
              "sys.exit(run_command(main))\n"
    done = subprocess.run(f"{sys.executable} -c \"{printer}\" | head -c 10", shell=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True)
    assert done.stdout == "line 0\nlin" and done.stderr == ""


LIBRARY_USER = """
import logging
import deepfake_dvc.check, deepfake_dvc.faces, deepfake_dvc.parallel
from deepfake_dvc.log import log
handlers = [type(h).__name__ for h in log.handlers]
logging.basicConfig(format="routed %(name)s %(levelname)s %(message)s")
log.warning("careful")
print(handlers)
"""


def test_the_library_prints_nothing_itself_and_a_program_routes_its_messages():
    done = subprocess.run([sys.executable, "-c", LIBRARY_USER], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.stdout.strip() == "['NullHandler']"
    assert done.stderr.strip().splitlines()[-1] == "routed deepfake_dvc WARNING careful"


def test_a_huge_message_is_clipped_on_the_terminal(capsys):
    log.warning("x" * 50_000_000)
    err = capsys.readouterr().err
    assert len(err) < 3000 and err.rstrip().endswith("(49998000 more characters)")


CAREFUL_PRINTER = """
import sys
from deepfake_dvc.cli import run_command
from deepfake_dvc.log import log

def main(argv):
    print("verdict")
    log.warning("careful")
    with open(sys.argv[1], "w") as f:
        f.write("done")

sys.exit(run_command(main))
"""


@pytest.mark.parametrize("closed", ["<&-", ">&-", "2>&-", ">&- 2>&-",
                                    "2</dev/null", "1</dev/null"])  # read-only, as pyenv leaves
def test_a_closed_standard_stream_fails_nothing(tmp_path, closed):
    (tmp_path / "printer.py").write_text(CAREFUL_PRINTER)
    done = subprocess.run(f"{sys.executable} printer.py out {closed}", shell=True,
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_text() == "done"


def test_an_executor_registered_elsewhere_maps_in_order(monkeypatch):
    from deepfake_dvc import parallel
    calls = []

    def backwards(func, items, workers, setup):  # arrives last first
        calls.append(workers)
        yield from reversed([(index, func(item)) for index, item in enumerate(items)])

    monkeypatch.setitem(parallel.EXECUTORS, "backwards", backwards)
    assert parallel.parallel_map(str, range(5), 2, "work", executor="backwards") == list("01234")
    assert calls == [2]
    assert parallel.parallel_map(str, range(5), 1, "work", executor="backwards") == list("01234")
    assert calls == [2, 1]  # asked with one worker too (only "local" then runs in this process)


def doubled_with_a_file(job):
    from deepfake_dvc.parallel import Files
    i, folder = job
    return Files(2 * i, {Path(folder) / f"{i}.bin": bytes([i]) * 1000})


@pytest.mark.parametrize("workers", [1, 2])
def test_the_files_a_worker_returns_are_written_by_the_map(tmp_path, workers):
    from deepfake_dvc.parallel import parallel_map
    out = tmp_path / "out"
    assert parallel_map(doubled_with_a_file, [(i, out) for i in range(3)], workers,
                        "work") == [0, 2, 4]
    assert sorted(p.name for p in out.iterdir()) == ["0.bin", "1.bin", "2.bin"]  # no temporary
    assert (out / "2.bin").read_bytes() == bytes([2]) * 1000


def test_without_ray_the_ray_executor_says_how_to_install_it(monkeypatch):
    from deepfake_dvc import parallel
    from deepfake_dvc.errors import ConfigError
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ConfigError, match="executor: ray needs Ray: pip install ray"):
        parallel.parallel_map(str, range(3), 2, "work", executor="ray")
