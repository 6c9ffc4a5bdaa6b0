"""What an edit re-runs, as the real `dvc status` says it: touching a module re-runs exactly
the stages that import it, and the messages and command-line modules re-run none."""
import json
import shutil

import pytest
import yaml

from tests.conftest import ROOT, copy_project, init_repo, run
from tests.test_dvc_yaml import OUTPUT_NEUTRAL, STAGES, code_deps

MODULES = sorted(p.relative_to(ROOT).as_posix() for package in ("deepfake_dvc", "stages")
                 for p in (ROOT / package).glob("*.py"))
LOCKED = sorted(set(yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"]) & set(STAGES))
DATA_STAGES = {"make_demo", "detect_faces", "split"}
# Edits that must never repeat the preprocessing: messages, the command line, pictures and
# plots, the card's wording, inference, and the stages after the data.
NO_DATA_RERUN = {"deepfake_dvc/log.py", "deepfake_dvc/cli.py", "deepfake_dvc/figures.py",
                 "deepfake_dvc/plots.py", "deepfake_dvc/pictures.py",
                 "deepfake_dvc/calibration.py", "deepfake_dvc/scoring.py",
                 "deepfake_dvc/model.py", "deepfake_dvc/inference.py", "deepfake_dvc/check.py",
                 "stages/train.py", "stages/evaluate.py", "stages/eval_score.py"}


@pytest.fixture(scope="module")
def locked_project(tmp_path_factory):
    """The project's code, pipeline and dvc.lock in a fresh git + DVC repository."""
    project = copy_project(tmp_path_factory.mktemp("caching") / "project")
    shutil.copy(ROOT / "dvc.lock", project / "dvc.lock")
    return init_repo(project)


def stages_rerun(project, module):
    """The locked stages whose changed deps, by `dvc status`, include module once a comment
    is added to it."""
    path = project / module
    original = path.read_text()
    path.write_text(original + "# an edit that changes nothing\n")
    try:
        status = json.loads(run(["dvc", "status", "--json"], project).stdout or "{}")
    finally:
        path.write_text(original)
    return {stage for stage, changes in status.items() if stage in LOCKED
            for change in changes if isinstance(change, dict)
            and module in change.get("changed deps", {})}


def test_every_module_that_cannot_change_outputs_is_a_real_module():
    assert OUTPUT_NEUTRAL <= set(MODULES) and NO_DATA_RERUN <= set(MODULES)


def test_touching_a_module_reruns_exactly_the_stages_that_import_it(locked_project):
    rerun = {module: stages_rerun(locked_project, module) for module in MODULES}
    expected = {module: {s for s in LOCKED if module in code_deps(s)} for module in MODULES}
    assert rerun == expected
    assert all(not rerun[module] for module in OUTPUT_NEUTRAL)
    assert all(not rerun[module] & DATA_STAGES for module in NO_DATA_RERUN)
