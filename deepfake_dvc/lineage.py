"""A model fine-tuned from another (init_model, its parent): the parent's files, the record of
it that the inputs stage writes (deepfake_dvc.inputs checks it), what the child's card says it
was built on, and the parent's videos by content, so that the child keeps the parent's test
videos out of training and can replay its training videos. No TensorFlow here."""
from dataclasses import fields
from pathlib import Path

import pandas as pd

from deepfake_dvc.errors import ConfigError, DataError
from deepfake_dvc.files import file_digest
from deepfake_dvc.params import Preprocessing
from deepfake_dvc.paths import CARD, PREPROCESSING, VIDEOS
from deepfake_dvc.tables import read_table

NO_PARENT = {"init_model": "none"}  # the record when training starts from weights:
LINEAGE = ("model", "sha256", "trained_on", "warning", "data", "training", "test", "parent")


def parent_files(init_model):
    """{role: path} of a trained model's files: model, preprocessing, card; ConfigError naming
    init_model when one is missing."""
    model = Path(init_model)
    files = {"model": model, "preprocessing": model.with_name(PREPROCESSING.name),
             "card": model.with_name(CARD.name)}
    for role, path in files.items():
        if not path.is_file():
            raise ConfigError(f"init_model '{init_model}': '{path}' not found: not a trained "
                              f"model of this project (train writes model.keras with "
                              f"preprocessing.json and card.json beside it)")
    return files


def preprocessing_differences(parent, current):
    """['key parent's value (init_model) vs current value (params.yaml)'] for each setting of
    two Preprocessing that differs."""
    return [f"{f.name} {getattr(parent, f.name)} (init_model) vs {getattr(current, f.name)} "
            f"(params.yaml)" for f in fields(Preprocessing)
            if getattr(parent, f.name) != getattr(current, f.name)]


def parent_videos(model):
    """[{sha256, label, split}] of the videos train listed beside the model (videos.csv), or
    None for a model without the list."""
    path = Path(model).with_name(VIDEOS.name)
    if not path.is_file():
        return None
    table = read_table(path, ("sha256", "label", "split"))
    return table[["sha256", "label", "split"]].to_dict("records")


def lineage(record):
    """What a child's card says of its parent (the record without its video list), or None."""
    if record.get("init_model", "none") == "none":
        return None
    return {key: record[key] for key in LINEAGE}


def parent_splits(record):
    """{SHA-256: the parent's split} of the parent's videos ({} without a parent or a list)."""
    return {v["sha256"]: v["split"] for v in record.get("videos") or [] if v["sha256"]}


def parent_trained(videos, manifest, record):
    """A boolean mask of videos (a table with path): those whose content (manifest's SHA-256)
    the parent trained on (its train split)."""
    trained = {digest for digest, split in parent_splits(record).items() if split == "train"}
    digests = dict(zip(manifest["path"], manifest["sha256"]))
    return videos["path"].map(lambda path: digests.get(path, "") in trained)


def training_videos(split, manifest, parent, replay):
    """(the new training videos, the parent's training videos at hand, the videos trained on:
    the new ones, then the parent's when replay): the train split's videos, those whose
    content the parent trained on apart."""
    train = split[split["split"] == "train"]
    inherited = parent_trained(train, manifest, parent)
    new, pool = train[~inherited], train[inherited]
    if new.empty:
        raise DataError("every training video of the split is one init_model trained on: add "
                        "new videos to data_dir")
    return new, pool, pd.concat([new, pool]) if replay else new


def check_unchanged(record):
    """ConfigError when init_model's model file is not the one the inputs stage recorded."""
    if record.get("init_model", "none") != "none" \
            and file_digest(record["model"]) != record["sha256"]["model"]:
        raise ConfigError(f"init_model '{record['model']}' changed after the inputs stage "
                          f"recorded it: run dvc repro")


def current_preprocessing(params):
    """The Preprocessing params.yaml gives (detect_faces' settings, train's img_size)."""
    return Preprocessing(**{f.name: params[f.name] for f in fields(Preprocessing)})
