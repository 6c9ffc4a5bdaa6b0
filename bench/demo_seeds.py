"""The quick start as a newcomer meets it, and the demo model across training seeds.

    python bench/demo_seeds.py [--seeds 1 2 3] [--keep]

Clones this repository's HEAD into a temporary folder with an empty DVC cache
and times the README's `dvc repro` there (every stage, the demo built from
nothing), then re-trains with each train_seed (`dvc repro` re-runs train,
evaluate and generalization; the split stays). For each run it prints the test
frames' ROC AUC, the test videos' ROC AUC, the test videos called wrong at the
threshold (FAKE for a real one, REAL for a fake), those called UNCERTAIN, the
epoch kept and the seconds. Issue 20's bar for the demo: frame AUC at least
0.85 and at most one video wrong for every seed, the quick start within 5
minutes on 2 cores. Your working tree is not touched; commit what you measure.
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def sh(command, cwd):
    """Run a shell command in cwd; stop with its output when it fails."""
    done = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"`{command}` failed in {cwd}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


def timed_repro(project):
    """Seconds of one `dvc repro` in project."""
    start = time.perf_counter()
    sh("dvc repro", project)
    return time.perf_counter() - start


def set_seed(project, seed):
    """params.yaml with train_seed set, its comment kept."""
    path = project / "params.yaml"
    lines = [re.sub(r"^train_seed: *\d+", f"train_seed: {seed}", line)
             for line in path.read_text().splitlines()]
    path.write_text("\n".join(lines) + "\n")
    assert yaml.safe_load(path.read_text())["train_seed"] == seed


def result(project, seconds):
    """One row: the committed metrics files of the run just made."""
    headline = json.loads((project / "metrics/test.json").read_text())
    report = json.loads((project / "dvclive/evaluate/metrics.json").read_text())
    videos = pd.read_csv(project / "data/predictions.csv")
    training = json.loads((project / "models/training.json").read_text())["training"]
    wrong = ((videos["label"] == "real") & (videos["verdict"] == "FAKE")) | \
        ((videos["label"] == "fake") & (videos["verdict"] == "REAL"))
    return dict(train_seed=yaml.safe_load((project / "params.yaml").read_text())["train_seed"],
                frame_auc=headline["frame_auc"], video_auc=headline["video_auc"],
                test_frames=report["frames"]["count"], test_videos=len(videos),
                videos_wrong=int(wrong.sum()), uncertain=headline["uncertain"],
                kept_epoch=f"{training['kept_epoch']}/{training['epochs_run']}",
                seconds=round(seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="demo_seeds_"))
    project = folder / "project"
    sh(f"git clone -q {ROOT} {project}", folder)
    print(f"quick start in a fresh clone ({project}) ...", file=sys.stderr)
    rows = [dict(result(project, timed_repro(project)), run="quick start (all stages)")]
    print(rows[-1], file=sys.stderr)
    for seed in args.seeds:
        set_seed(project, seed)
        rows.append(dict(result(project, timed_repro(project)), run="train, evaluate"))
        print(rows[-1], file=sys.stderr)
    print(pd.DataFrame(rows).set_index("run").to_string())
    bar = [r for r in rows if r["frame_auc"] >= 0.85 and r["videos_wrong"] <= 1]
    print(f"{len(bar)} of {len(rows)} runs at frame AUC >= 0.85 with at most one video wrong; "
          f"quick start {rows[0]['seconds']} s (target: 300 s on 2 cores)")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
