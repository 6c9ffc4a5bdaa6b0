"""Plumbing every stage shares: parameters, errors, atomic writes, parallel maps."""
import contextlib
import json
import multiprocessing
import os
import re
import sys
import unicodedata
from pathlib import Path

import pandas as pd
import yaml
from tqdm import tqdm

PARAMS_FILE = "params.yaml"

# Where the stages read and write (the same paths dvc.yaml names).
DEMO_DIR = Path("data/demo")
FRAMES_DIR = Path("data/frames")
MANIFEST = Path("data/manifest.csv")
FACES_DIR = Path("data/faces")
FACES_TABLE = Path("data/faces.csv")
FACES_METRICS = Path("metrics/faces.json")
FRAME_SETTINGS = FRAMES_DIR / "settings.json"   # how the frames were sampled and stored
FACE_SETTINGS = FACES_DIR / "settings.json"     # ... and how the faces were found and cropped
SPLIT = Path("data/split.csv")
SPLIT_METRICS = Path("metrics/split.json")
MODEL = Path("models/model.keras")
PREPROCESSING = Path("models/preprocessing.json")
PREDICTIONS = Path("data/predictions.csv")
EVAL_METRICS = Path("metrics/eval.json")
PLOTS_DIR = Path("plots")
LABEL_INDEX = {"real": 0, "fake": 1}   # the model's output order; fake is the positive class


class StageError(Exception):
    """A problem with one input that the stage records and steps over."""


def fail(message):
    """Stop the stage with a one-line reason and a non-zero exit."""
    raise SystemExit(f"error: {message}")


def warn(message):
    """One line on stderr that does not break a progress bar."""
    tqdm.write(f"warning: {message}", file=sys.stderr)


def load_params(path=PARAMS_FILE):
    """The whole of params.yaml as a dict."""
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f) or {}
    except FileNotFoundError:
        fail(f"{path} not found: run the stage from the project's top folder")


def param(params, key, valid, why):
    """params[key], or stop before any work when valid(value) is false."""
    if key not in params:
        fail(f"parameter '{key}' is missing from {PARAMS_FILE}")
    value = params[key]
    try:
        ok = valid(value)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        fail(f"parameter '{key}' is {value!r}: {why}")
    return value


def is_int(value, low=None, high=None):
    """True for an int (not a bool) within [low, high]."""
    return (isinstance(value, int) and not isinstance(value, bool)
            and (low is None or value >= low) and (high is None or value <= high))


def is_number(value, low=None, high=None):
    """True for an int or float within [low, high]."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and (low is None or value >= low) and (high is None or value <= high))


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary name beside path; rename it to path only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path, text):
    """Write a small text file under a temporary name, then rename it."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, data):
    """Write data as indented JSON under a temporary name, then rename it."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def read_json(path):
    """The data of a JSON file."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def slug(text):
    """A file-name-safe ASCII form of text (accents dropped, others to '_')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_text).strip("._") or "video"


def read_table(path):
    """A CSV the stages wrote, every column as text (so ids like 000 stay 000)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def worker_count(workers):
    """The workers parameter as a process count: 0 means all cores."""
    return workers or os.cpu_count() or 1


class WorkerExit(Exception):
    """A worker's SystemExit, carried to the parent (a dying worker would hang the pool)."""


def _run_guarded(job):
    func, item = job
    try:
        return func(item)
    except SystemExit as e:
        raise WorkerExit(str(e)) from None


def parallel_map(func, items, workers, desc):
    """func over items in order, in `workers` forked processes, with a progress bar.

    Workers inherit the parent's state (a detector built before the call).
    """
    items = list(items)
    workers = min(worker_count(workers), max(len(items), 1))
    bar = dict(total=len(items), desc=desc, unit="video", file=sys.stderr)
    if workers == 1:
        return [func(item) for item in tqdm(items, **bar)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        try:
            return list(tqdm(pool.imap(_run_guarded, [(func, i) for i in items]), **bar))
        except WorkerExit as e:
            raise SystemExit(str(e)) from None


def new_figure(width, height):
    """(figure, axes) drawn off-screen, so no display is needed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(figsize=(width, height))


def save_figure(fig, path):
    """Save a new_figure as PNG under a temporary name, then close it."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
