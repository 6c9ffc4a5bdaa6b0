"""What the pipeline reads from outside the workspace, recorded by content for the inputs
stage: every data_dir source's folder (DVC's md5 of it) and init_model, the parent, checked
(a trained model of this project, its card its own, of the current preprocessing and
backbone) with its card's training data, training, test metrics and its videos."""
from deepfake_dvc.calibration import load_card
from deepfake_dvc.errors import ConfigError
from deepfake_dvc.files import dvc_digest, file_digest, read_json
from deepfake_dvc.lineage import (
    NO_PARENT,
    parent_files,
    parent_videos,
    preprocessing_differences,
)
from deepfake_dvc.params import Preprocessing
from deepfake_dvc.paths import data_sources


def sources_record(data_dir):
    """{name (data_dir for one folder): {folder, md5, files}}."""
    record = {}
    for name, folder in data_sources(data_dir).items():
        md5, files = dvc_digest(folder)
        record[name or "data_dir"] = dict(folder=folder, md5=md5, files=files)
    return record


def parent_record(init_model, current, backbone):
    """The parent's record: its files' SHA-256, its card's training data, training and test
    metrics, its own parent, and its videos (SHA-256, label, split) when train listed them.
    NO_PARENT for none. ConfigError, naming init_model and the settings, when it is not a
    trained model of this project, its card is not its own, or its preprocessing (current: a
    Preprocessing) or backbone differs from the current one."""
    if init_model == "none":
        return dict(NO_PARENT)
    files = parent_files(init_model)
    load_card(files["card"], files["model"], files["preprocessing"])  # its own, unedited
    differing = preprocessing_differences(Preprocessing.load(files["preprocessing"]), current)
    if differing:
        raise ConfigError(f"init_model '{init_model}' was trained on other preprocessing: "
                          f"{'; '.join(differing)}: set them in params.yaml as the parent's, "
                          f"or train from weights: instead")
    card = read_json(files["card"])
    if card["training"]["backbone"] != backbone:
        raise ConfigError(f"init_model '{init_model}' is a {card['training']['backbone']} "
                          f"model: set backbone: {card['training']['backbone']} to fine-tune "
                          f"it (backbone is {backbone})")
    return dict(init_model=init_model, model=str(init_model),
                sha256={role: file_digest(path) for role, path in files.items()},
                trained_on=card["scope"]["trained_on"], warning=card["scope"]["warning"],
                data=card["data"], training=card["training"], test=card["test"],
                parent=card.get("parent"), videos=parent_videos(files["model"]))
