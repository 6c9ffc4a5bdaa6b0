"""Staying current, with the real `dvc` on the demo split in two halves: two sources in
different layouts trained together, a model of the first half fine-tuned on the second
(lineage, the parent's test set scored, replay), and what is refused before any work."""
import json
import shutil

import pandas as pd
import pytest

from deepfake_dvc.files import file_digest
from tests.conftest import copy_project, init_repo, run, set_params

SMALL = dict(demo_clips_per_class=12, demo_frames=12, demo_width=320, demo_height=240,
             frames_per_video=3, face_size=48, backbone="tiny_cnn", img_size=32, lr=1e-3,
             epochs=2, batch_size=8, workers=2, perturbations=[])
PARENT_FILES = ("model.keras", "preprocessing.json", "card.json", "videos.csv")


def read(project, path):
    return json.loads((project / path).read_text())


def halves(project):
    """The demo's clips as two sources: the first half in labels.csv's layout, the second in
    real/ and fake/ folders (each fake with the real clip it was made from)."""
    labels = pd.read_csv(project / "data/demo/labels.csv", dtype=str)
    reals = labels[labels["label"] == "real"]["path"].tolist()
    half = len(reals) // 2
    a, b = project / "sources/a", project / "sources/b"
    rows = []
    for real in reals[:half]:
        for path in (real, real.replace("real/", "fake/")):
            (a / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(project / "data/demo" / path, a / path)
            rows.append(dict(path=path, label=path.split("/")[0], group=real))
    pd.DataFrame(rows).to_csv(a / "labels.csv", index=False)
    for real in reals[half:]:
        for path in (real, real.replace("real/", "fake/")):
            (b / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(project / "data/demo" / path, b / path)
    return "sources/a", "sources/b"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A project whose parent (trained on half a) is kept outside it, then the two halves
    trained together from scratch, then fine-tuned from the parent: each run's results."""
    base = tmp_path_factory.mktemp("continuous")
    project = copy_project(base / "project")
    set_params(project, **SMALL)
    init_repo(project)
    run("dvc repro make_demo", project)
    a, b = halves(project)
    results = {}
    set_params(project, data_dir=a)
    results["parent"] = run("dvc repro", project).stdout
    parent = base / "released"
    parent.mkdir()
    for name in PARENT_FILES:
        shutil.copy(project / "models" / name, parent / name)
    results["parent_split"] = pd.read_csv(project / "data/split.csv", dtype=str)
    set_params(project, data_dir={"a": a, "b": b})
    results["fresh"] = run("dvc repro", project).stdout
    results["fresh_loss"] = val_losses(project)
    results["fresh_split"] = read(project, "metrics/split.json")
    results["fresh_card"] = read(project, "models/card.json")
    results["fresh_faces"] = pd.read_csv(project / "data/faces.csv", dtype=str)
    # the usual knobs apply; a head-only step this small leaves the parent's weights as they
    # are, so the child must score every video as its parent does
    set_params(project, init_model=str(parent / "model.keras"), tune="head", lr=1e-9)
    results["child"] = run("dvc repro", project).stdout
    results["child_loss"] = val_losses(project)
    return project, parent, results


def val_losses(project):
    return pd.read_csv(project / "dvclive/train/plots/metrics/eval/loss.tsv",
                       sep="\t")["loss"].tolist()


def test_two_sources_in_different_layouts_train_together(runs):
    project, _, results = runs
    faces = results["fresh_faces"]
    assert faces["id"].is_unique
    assert set(faces["path"].str.split("/").str[0]) == {"a", "b"}
    sources = results["fresh_split"]["sources"]
    assert set(sources) == {"a", "b"}
    for name in ("a", "b"):
        assert sum(sources[name]["test"].values()) > 0
        assert all(n > 0 for n in sources[name]["train"].values())  # both classes
    card = results["fresh_card"]
    assert card["data"]["sources"] == sources
    assert "sources 'a' (sources/a), 'b' (sources/b)" in card["scope"]["trained_on"]
    assert "Running stage 'inputs'" in results["fresh"]


def test_a_fine_tune_starts_from_the_parent_records_it_and_scores_its_test_set(runs):
    project, parent, results = runs
    # starts from the parent's weights: its first epoch's validation loss (the same videos as
    # the fresh run's) is not a fresh run's, and it ranks every test video as its parent does
    assert abs(results["child_loss"][0] - results["fresh_loss"][0]) > 1e-4
    forgetting = read(project, "metrics/forgetting.json")
    for name, row in forgetting["sets"].items():
        assert row["child"]["frame_auc"] == row["parent"]["frame_auc"], name
    card = read(project, "models/card.json")
    assert card["parent"]["sha256"]["model"] == file_digest(parent / "model.keras")
    assert card["parent"]["trained_on"] in card["scope"]["trained_on"]
    assert card["training"]["init_model"] == str(parent / "model.keras")
    assert card["data"]["videos"]["train"]["real"] < \
        results["fresh_card"]["data"]["videos"]["train"]["real"]  # the new videos only
    # the parent's test videos stayed test, and were scored by both models
    parent_test = set(results["parent_split"].query("split == 'test'")["path"])
    split = pd.read_csv(project / "data/split.csv", dtype=str)
    assert set(split.query("split == 'test'")["path"]) >= {f"a/{p}" for p in parent_test}
    old = forgetting["sets"]["test: the parent's"]
    assert old["child"]["videos"] == old["parent"]["videos"] == len(parent_test)
    assert forgetting["not_measured"] is None
    general = read(project, "metrics/generalization.json")
    assert set(general["parent"]["sets"]) >= {"test: the parent's", "test: new",
                                              "own test split"}


def test_an_unchanged_repro_runs_only_the_inputs_record(runs):
    project, _, _ = runs
    assert set(line.split("'")[1] for line in run("dvc repro", project).stdout.splitlines()
               if line.startswith("Running stage")) == {"inputs"}


def test_replay_mixes_the_stated_share_of_the_parents_training_videos(runs):
    project, _, _ = runs
    set_params(project, replay=0.5)
    output = run("dvc repro train", project).stdout
    assert "Running stage 'train'" in output
    replay = read(project, "models/training.json")["data"]["replay"]
    assert replay["videos"] > 0 and replay["per_epoch"] == round(0.5 * replay["videos"])


@pytest.mark.parametrize("change, named", [
    (dict(face_size=64), "face_size 48 (init_model) vs 64 (params.yaml)"),
    (dict(img_size=40), "img_size 32 (init_model) vs 40 (params.yaml)"),
    (dict(backbone="efficientnet_b4", img_size=32), "set backbone: tiny_cnn"),
])
def test_a_parent_of_other_preprocessing_or_backbone_is_refused_before_any_work(runs, change,
                                                                                named):
    project, parent, _ = runs
    set_params(project, replay=0.0, **change)
    try:
        done = run("python -m stages.inputs", project, check=False)
    finally:
        set_params(project, **{k: SMALL[k] for k in change})
    assert done.returncode != 0
    line, = done.stderr.strip().splitlines()
    assert line.startswith(f"error: init_model '{parent / 'model.keras'}'") and named in line
