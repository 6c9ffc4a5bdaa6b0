"""Bad training parameters stop the stage at once with one line naming the parameter."""
import numpy as np
import pandas as pd
import pytest
import yaml

from deepfake_dvc.files import write_json
from deepfake_dvc.lineage import NO_PARENT
from deepfake_dvc.params import FACE_KEYS, FRAME_KEYS, write_settings
from deepfake_dvc.paths import PARENT_RECORD
from deepfake_dvc.tables import MANIFEST_COLUMNS, write_table
from tests.conftest import run, set_params
from tests.synth import save_faces


@pytest.mark.parametrize("key,value", [
    ("lr", -0.001), ("dropout", 1.0), ("weights", "imagenet21k"), ("img_size", 64),
    ("batch_size", 0), ("lr_decay", -1), ("class_weight", "auto"), ("target_accuracy", 0)])
def test_invalid_parameter_is_named_before_any_work(project, key, value):
    set_params(project, **{key: value})
    done = run("python -m stages.train", project, check=False)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: parameter '{key}' is")
    assert not (project / "models").exists()


def test_imagenet_weights_offline_say_which_parameter_to_change(project):
    faces = project / "data" / "faces"
    faces.mkdir(parents=True)
    rows = []
    for i, (label, split) in enumerate([("real", "train"), ("fake", "train"),
                                         ("real", "val"), ("fake", "val")]):
        save_faces(f"v{i}", dict(crops=np.zeros((2, 32, 32, 3), np.uint8),
                                 frame_indices=np.arange(2)), "jpg", 95, faces)
        rows.append(dict(id=f"v{i}", path=f"v{i}.mp4", label=label, group=f"v{i}", split=split))
    pd.DataFrame(rows).to_csv(project / "data" / "split.csv", index=False)
    params = yaml.safe_load((project / "params.yaml").read_text())
    write_settings(faces / "settings.json", params, FRAME_KEYS + FACE_KEYS)
    set_params(project, weights="imagenet")
    write_json(project / PARENT_RECORD, NO_PARENT)  # as the inputs stage records no parent
    write_table(project / "data" / "manifest.csv", [dict(r, status="ok") for r in rows],
                MANIFEST_COLUMNS)
    done = run("python -m stages.train", project, check=False)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: weights 'imagenet' could not be loaded into backbone "
                           "inception_resnet_v2") and "weights: none" in last
    assert not (project / "models" / "model.keras").exists()


@pytest.mark.parametrize("data_dir,demo", [("data/demo", True), ("./data/demo/", True),
                                           ("videos", False), ("/elsewhere/data/demo", False)])
def test_the_training_record_counts_what_the_model_saw(tmp_path, monkeypatch, data_dir, demo):
    from deepfake_dvc.training import data_summary
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "faces").mkdir(parents=True)
    rows = [("r0", "real", "train", 4), ("f0", "fake", "train", 3), ("r0+sbi", "fake", "train", 4),
            ("r1", "real", "val", 2), ("f1", "fake", "test", 5)]
    for video_id, _, _, crops in rows:
        np.savez(tmp_path / "data" / "faces" / f"{video_id}.npz",
                 crops=np.zeros((crops, 8, 8, 3), np.uint8), frame_indices=np.arange(crops))
    split = pd.DataFrame([dict(id=i, label=label, split=s) for i, label, s, _ in rows])
    summary = data_summary(split, data_dir)
    assert summary["demo"] is demo and summary["data_dir"] == data_dir
    assert summary["videos"]["train"] == dict(real=1, fake=2)
    assert summary["crops"]["train"] == dict(real=4, fake=7)
    assert summary["videos"]["test"] == dict(real=0, fake=1)
    assert summary["synthesized_fakes"] == dict(train=1, val=0, test=0)
