"""Fine-tuning against training from scratch, and what it forgets, on the demo split in two.

    python bench/finetune.py [--epochs 10] [--replay 0.5] [--keep]

Clones this repository's HEAD into a temporary folder, builds the demo and
splits its clips into two halves, sources a and b (each real clip with the fake
made from it). Trains the parent on a alone and keeps it outside the workspace,
as a released model; then, with data_dir {a, b}: trains from scratch on both,
fine-tunes the parent on b (init_model, replay 0), and fine-tunes it with
`--replay` of a's training videos mixed into each epoch. Every run has the same
split (a's as the parent's, b's by the same seed) and the same validation
videos. For each run it prints the training videos per epoch, the epochs and
seconds of `train` until the validation loss reaches the scratch run's best,
and the test frames' ROC AUC on a's test videos (before: the parent's; after:
the run's) and on b's, from metrics/forgetting.json. Your working tree is not
touched; commit what you measure.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
PARENT_FILES = ("model.keras", "preprocessing.json", "card.json", "videos.csv")


def sh(command, cwd):
    """Run a shell command in cwd; stop with its output when it fails."""
    done = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"`{command}` failed in {cwd}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


def set_params(project, **values):
    """Change keys of params.yaml."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params.update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def halves(project, folder):
    """The demo's clips as sources a and b (labels.csv each, a fake in its real's group)."""
    labels = pd.read_csv(project / "data/demo/labels.csv", dtype=str)
    reals = labels[labels["label"] == "real"]["path"].tolist()
    parts = {"a": reals[:len(reals) // 2], "b": reals[len(reals) // 2:]}
    for name, part in parts.items():
        rows = []
        for real in part:
            for path in (real, real.replace("real/", "fake/")):
                (folder / name / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(project / "data/demo" / path, folder / name / path)
                rows.append(dict(path=path, label=path.split("/")[0], group=real))
        pd.DataFrame(rows).to_csv(folder / name / "labels.csv", index=False)
    return {name: str(folder / name) for name in parts}


def trained(project, **params):
    """(seconds of train, validation losses per epoch, training.json, forgetting.json) of a
    `dvc repro` with params set (the stages before train run first, untimed)."""
    set_params(project, **params)
    sh("dvc repro split", project)
    start = time.perf_counter()
    sh("dvc repro train", project)
    seconds = time.perf_counter() - start
    sh("dvc repro", project)
    losses = pd.read_csv(project / "dvclive/train/plots/metrics/eval/loss.tsv", sep="\t")
    return (seconds, losses["loss"].tolist(),
            json.loads((project / "models/training.json").read_text()),
            json.loads((project / "metrics/forgetting.json").read_text()))


def reached(losses, target, seconds):
    """'epochs (seconds)' until the validation loss is at most target, or 'not reached'."""
    for epoch, loss in enumerate(losses, 1):
        if loss <= target:
            return f"{epoch} ({seconds * epoch / len(losses):.0f} s)"
    return "not reached"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--replay", type=float, default=0.5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="finetune_"))
    project = folder / "project"
    sh(f"git clone -q {ROOT} {project}", folder)
    set_params(project, epochs=args.epochs, perturbations=[])
    sh("dvc repro make_demo", project)
    sources = halves(project, folder / "sources")

    print("parent: source a alone ...", file=sys.stderr)
    _, _, parent_training, _ = trained(project, data_dir={"a": sources["a"]})
    released = folder / "released"
    released.mkdir()
    for name in PARENT_FILES:
        shutil.copy(project / "models" / name, released / name)
    parent_test = json.loads((project / "metrics/test.json").read_text())["frame_auc"]

    runs = {}
    for name, params in (("scratch, a and b", dict(init_model="none", replay=0.0)),
                         ("fine-tune on b", dict(init_model=str(released / "model.keras"),
                                                 replay=0.0)),
                         (f"fine-tune on b, replay {args.replay}",
                          dict(init_model=str(released / "model.keras"),
                               replay=args.replay))):
        print(f"{name} ...", file=sys.stderr)
        runs[name] = trained(project, data_dir=sources, **params)
    target = min(runs["scratch, a and b"][1])

    print(f"\nparent (a alone): {sum(parent_training['data']['videos']['train'].values())} "
          f"training videos, a's test frames ROC AUC {parent_test}\n")
    print(f"| run | training videos per epoch | epochs (seconds) to validation loss "
          f"{target:.3f} | seconds of train ({args.epochs} epochs) | a's test frame AUC "
          f"(parent {parent_test}) | b's test frame AUC |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (seconds, losses, training, forgetting) in runs.items():
        data = training["data"]
        per_epoch = sum(data["videos"]["train"].values()) + data.get("replay", {}).get(
            "per_epoch", 0)
        sets = forgetting["sets"]
        print(f"| {name} | {per_epoch} | {reached(losses, target, seconds)} | {seconds:.0f} | "
              f"{sets['test: a']['child']['frame_auc']} | "
              f"{sets['test: b']['child']['frame_auc']} |")
    if not args.keep:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
