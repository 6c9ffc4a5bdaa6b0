"""dvc.yaml against the code: DVC caches a stage correctly only if its lists are right."""
import ast
import importlib
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

STAGES = {name: spec.get("do", spec)  # a foreach stage's template
          for name, spec in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].items()}


PACKAGES = ("stages", "deepfake_dvc")
# Modules no stage's outputs can depend on: the packages' markers (the NullHandler), the
# messages (wording, one-line format, progress bars) and the commands' arguments and exit
# statuses. dvc.yaml leaves them out of every stage's deps, so editing them re-runs nothing.
OUTPUT_NEUTRAL = {"stages/__init__.py", "deepfake_dvc/__init__.py", "deepfake_dvc/log.py",
                  "deepfake_dvc/cli.py"}


def module_path(name):
    """stages.x or deepfake_dvc.x as the file it is (a package as its __init__.py)."""
    path = ROOT / Path(*name.split("."))
    return (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).relative_to(ROOT)


def imported_names(node):
    """The project's module names an import statement loads (its packages' __init__ too)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module:
        names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    else:
        return []
    found = []
    for name in names:
        parts = name.split(".")
        if parts[0] in PACKAGES:
            found += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [n for n in found if (ROOT / Path(*n.split("."))).with_suffix(".py").is_file()
            or (ROOT / Path(*n.split(".")) / "__init__.py").is_file()]


def project_imports(module, seen=None):
    """The project's modules that module imports, directly or through others, as their
    paths (deepfake_dvc/x.py), packages' __init__.py included."""
    seen = set() if seen is None else seen
    path = module_path(module)
    seen.add(path.as_posix())
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        for name in imported_names(node):
            if module_path(name).as_posix() not in seen:
                project_imports(name, seen)
    return seen


def code_deps(stage):
    """The modules dvc.yaml must list as stage's deps: all it imports but the neutral ones."""
    return project_imports(f"stages.{stage}") - OUTPUT_NEUTRAL


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_params_are_the_keys_its_code_reads(stage):
    module = importlib.import_module(f"stages.{stage}")
    declared = {key.split(".")[0] for key in STAGES[stage].get("params", [])}  # eval_sets.${key}
    assert declared == set(module.PARAMS)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_deps_are_the_modules_its_code_imports(stage):
    code = {d for d in STAGES[stage]["deps"] if d.endswith(".py")}
    assert code == code_deps(stage)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stages_that_detect_faces_depend_on_the_saved_hog_detector(stage):
    detects = "deepfake_dvc/detectors/dlib_hog.py" in project_imports(f"stages.{stage}")
    assert ("deepfake_dvc/frontal_face_hog.svm" in STAGES[stage]["deps"]) == detects


@pytest.mark.parametrize("how_to_run", ["workers", "executor", "log_level"])
def test_how_to_run_is_no_stage_parameter(how_to_run):
    assert all(how_to_run not in spec.get("params", []) for spec in STAGES.values())


def declared_outputs(templates=True):
    """Every path dvc.yaml says a stage writes (outs, metrics and plots); a foreach or matrix
    stage's as a pattern, each ${...} standing for any name (without templates: leave those
    out)."""
    paths = set()
    for spec in STAGES.values():
        for kind in ("outs", "metrics", "plots"):
            for entry in spec.get(kind, []):
                path = next(iter(entry)) if isinstance(entry, dict) else entry
                if templates or "${" not in path:
                    paths.add(re.sub(r"\$\{[^}]+\}", "*", path))
    return paths


def is_output(path, outputs):
    """Whether path is one of the outputs or inside one."""
    return any(fnmatch(path, out) or fnmatch(path, f"{out}/*") for out in outputs)
