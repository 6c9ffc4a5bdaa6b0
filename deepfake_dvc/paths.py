"""Where the stages read and write: the paths dvc.yaml names, and a trained model's files."""
from pathlib import Path

from deepfake_dvc.errors import ConfigError

DEMO_DIR = Path("data/demo")
LABELS_CSV = "labels.csv"      # a data_dir's list of videos: path,label[,group]
MANIFEST = Path("data/manifest.csv")
FACES_DIR = Path("data/faces")
EVAL_DIR = Path("data/eval")   # the evaluation sets' crops, one folder per set
FACES_TABLE = Path("data/faces.csv")
FACES_METRICS = Path("metrics/faces.json")
FACE_SETTINGS = FACES_DIR / "settings.json"  # how frames were sampled, faces found and cropped
SPLIT = Path("data/split.csv")
SPLIT_METRICS = Path("metrics/split.json")
MODEL = Path("models/model.keras")
PREPROCESSING = Path("models/preprocessing.json")
CHECKPOINT = Path("models/checkpoint")    # train's last epoch, to resume from (persist: true)
TRAINING = Path("models/training.json")   # what the model saw and how it was trained
CARD = Path("models/card.json")           # ... with its calibration, threshold and test metrics
VIDEOS = Path("models/videos.csv")        # ... and its videos by content, for a child to know
INPUTS = Path("data/inputs")              # the inputs stage's records of what is read from outside
SOURCES_RECORD = INPUTS / "sources.json"  # ... every data_dir source's content (DVC's md5)
PARENT_RECORD = INPUTS / "parent.json"    # ... init_model's files, card and videos
FORGETTING = Path("metrics/forgetting.json")  # each test part and set: the child and its parent
PREDICTIONS = Path("data/predictions.csv")
TRAIN_LIVE = Path("dvclive/train")        # DVCLive's folders: train's per-epoch metrics ...
EVAL_LIVE = Path("dvclive/evaluate")      # ... evaluate's full test report, ROC, PR, confusion
TEST_METRICS = Path("metrics/test.json")  # ... and its headline: what `dvc metrics show` lists
EVAL_SETS_METRICS = Path("metrics/eval")  # <set>.json per evaluation set: its headline
GENERALIZATION = Path("metrics/generalization.json")
ROBUST_DIR = Path("data/robust")          # the crops of every set under every perturbation
ROBUSTNESS = Path("metrics/robustness.json")
OWN_TEST = "test"                         # the training data's test split, among the sets
PLOTS_DIR = Path("plots")


def robust_folder(set_name, entry, condition):
    """Where the crops of one set (OWN_TEST or an evaluation set) under one condition of an
    entry of perturbations are kept: a folder per stage (entry), a folder per condition."""
    under = ROBUST_DIR / OWN_TEST if set_name == OWN_TEST else ROBUST_DIR / "eval" / set_name
    return under / entry / condition


SEPARATOR = "/"  # a named source's videos are listed as name/path (deepfake_dvc.sources)


def data_sources(data_dir):
    """{name: folder} of data_dir; one folder is {"": folder}."""
    return dict(data_dir) if isinstance(data_dir, dict) else {"": data_dir}


def source_name(path, data_dir):
    """The name of the source a listed path is in ('' when data_dir is one folder)."""
    return path.split(SEPARATOR, 1)[0] if isinstance(data_dir, dict) else ""


def video_file(data_dir, path):
    """The file of a listed video's path: inside data_dir when it is one folder, inside the
    source its path names when data_dir is {name: folder}."""
    if not isinstance(data_dir, dict):
        return Path(data_dir) / path
    name, inside = path.split(SEPARATOR, 1)
    return Path(data_dir[name]) / inside


def model_files(model_path):
    """A trained model's files: (model, preprocessing.json, card.json) paths; the first two
    must exist."""
    model_path = Path(model_path)
    for needed in (model_path, model_path.with_name(PREPROCESSING.name)):
        if not needed.is_file():
            raise ConfigError(f"'{needed}' not found: train a model with `dvc repro` "
                              f"(or pass --model PATH)")
    return model_path, model_path.with_name(PREPROCESSING.name), model_path.with_name(CARD.name)
