"""dvc.yaml against the code: DVC caches a stage correctly only if its lists are right."""
import ast
import importlib
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

STAGES = {name: spec.get("do", spec)  # a foreach stage's template
          for name, spec in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items()}


def project_imports(module, seen=None):
    """The project's modules that module imports, directly or through others (as stages/x.py)."""
    seen = set() if seen is None else seen
    path = ROOT / Path(*module.split(".")).with_suffix(".py")
    seen.add(path.relative_to(ROOT).as_posix())
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            if name.startswith("stages.") and f"{name.replace('.', '/')}.py" not in seen:
                project_imports(name, seen)
    return seen


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_params_are_the_keys_its_code_reads(stage):
    module = importlib.import_module(f"stages.{stage}")
    declared = {key.split(".")[0] for key in STAGES[stage].get("params", [])}  # eval_sets.${key}
    assert declared == set(module.PARAMS)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_deps_are_the_modules_its_code_imports(stage):
    code = {d for d in STAGES[stage]["deps"] if d.startswith("stages/") and d.endswith(".py")}
    assert code == project_imports(f"stages.{stage}")


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stages_that_detect_faces_depend_on_the_saved_hog_detector(stage):
    detects = "stages/crops.py" in project_imports(f"stages.{stage}")
    assert ("stages/frontal_face_hog.svm" in STAGES[stage]["deps"]) == detects


@pytest.mark.parametrize("how_to_run", ["workers", "log_level"])
def test_how_to_run_is_no_stage_parameter(how_to_run):
    assert all(how_to_run not in spec.get("params", []) for spec in STAGES.values())


def declared_outputs(templates=True):
    """Every path dvc.yaml says a stage writes (outs, metrics and plots); a foreach stage's
    as a pattern, ${key} standing for any set name (without templates: leave those out)."""
    paths = set()
    for spec in STAGES.values():
        for kind in ("outs", "metrics", "plots"):
            for entry in spec.get(kind, []):
                path = next(iter(entry)) if isinstance(entry, dict) else entry
                if templates or "${" not in path:
                    paths.add(path.replace("${key}", "*"))
    return paths


def is_output(path, outputs):
    """Whether path is one of the outputs or inside one."""
    return any(fnmatch(path, out) or fnmatch(path, f"{out}/*") for out in outputs)
