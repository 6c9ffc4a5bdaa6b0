"""Every parameter declared once: how to read it, what is valid, what to say when it is not.

The stages read params.yaml through read_params(keys); check reads the
preprocessing settings saved beside a model through the same table, so a
value the stages would refuse is refused there too.
"""
import difflib
import json
import math
import re
from dataclasses import asdict, dataclass, fields

import yaml

from deepfake_dvc.cli import run_command
from deepfake_dvc.errors import ConfigError
from deepfake_dvc.files import write_json
from deepfake_dvc.log import LOG_LEVELS, set_log_level

PARAMS_FILE = "params.yaml"
FRAME_FORMATS = ("jpg", "png")
CLASS_WEIGHTS = ("balanced", "none")
VIDEO_SCORES = ("mean", "max_track")
FF_COMPRESSIONS = ("raw", "c23", "c40")
FF_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter",
              "DeepFakeDetection")
SPLIT_MODES = ("auto", "official", "grouped")
KEEP_EPOCHS = ("last", "best")
TUNES = ("all", "head", "layernorm")  # what training changes: every layer (the 2020 recipe),
# the classifier on frozen features (a linear probe), or the layer norms and the classifier
SEED_MAX = 2**32 - 1  # NumPy's and scikit-learn's seeds are 32-bit unsigned


def integer(value):
    """An int from an int, a whole float or a numeric string (not from a bool)."""
    if isinstance(value, str):
        value = float(value.strip()) if any(c in value for c in ".eE") else int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError
    return value


def number(value):
    """A finite float from an int, a float or a numeric string such as '1e-4' (not from a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError
    value = float(value)
    if not math.isfinite(value):
        raise ValueError
    return value


def boolean(value):
    """True or False, also from the text 'true' or 'false'."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ValueError
    return value


def text(value):
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    return value


def methods(value):
    """A tuple of FaceForensics++ method names: from a list, a comma-separated text, or 'all'."""
    if isinstance(value, str):
        value = FF_METHODS if value.strip() == "all" else [v.strip() for v in value.split(",")]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError
    return tuple(text(v) for v in value)


def named_folders(value):
    """{name: folder}: names of letters, digits, _ and - (they name stages and files),
    folders as text, not ~/... (DVC does not expand '~'); empty (or nothing) for none."""
    value = value or {}
    if not isinstance(value, dict):
        raise ValueError
    for name, folder in value.items():
        if not (isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-]+", name)) \
                or text(folder).startswith("~"):
            raise ValueError
    return dict(value)


def folder(value):
    """A folder as text, not ~/... (DVC does not expand '~')."""
    if text(value).startswith("~"):
        raise ValueError
    return value


def folders(value):
    """data_dir: one folder (text), or {name: folder} for several sources (names as
    named_folders', which become the first part of their videos' paths and ids)."""
    if isinstance(value, dict):
        if not value:
            raise ValueError
        return named_folders(value)
    return folder(value)


def layouts(value):
    """dataset: one layout's name for every source, or {name: layout} per source."""
    return value if isinstance(value, dict) and value else text(value)


def weights_by_name(value):
    """{name: weight}: names as named_folders', weights numbers > 0."""
    if not isinstance(value, dict) or not value:
        raise ValueError
    out = {}
    for name, weight in value.items():
        if not (isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-]+", name)):
            raise ValueError
        out[name] = number(weight)
        if out[name] <= 0:
            raise ValueError
    return out


def entries(value):
    """A list of distinct names of letters, digits and _ . : - (they name stages and folders);
    empty (or nothing) for none."""
    value = value or []
    if not isinstance(value, list) or len(set(map(str, value))) < len(value):
        raise ValueError
    if not all(re.fullmatch(r"[A-Za-z0-9_.:-]+", str(v)) for v in value):
        raise ValueError
    return [str(v) for v in value]


def choice(*options):
    """(convert, valid, hint) for one of options."""
    return text, lambda v: v in options, f"use one of {', '.join(options)}"


KINDS = {integer: "an integer", number: "a number"}  # how a hint names each kind's values


def between(convert, low, high=None, *, closed="both", multiple_of=None, why=None):
    """(convert, valid, hint) for a value from low to high (None: no upper bound), the bounds
    included at "both" ends, the "left", the "right" or "neither" (as scikit-learn's Interval),
    a multiple of multiple_of if given; the hint said from them, with why after it."""
    low_in, high_in = closed in ("both", "left"), closed in ("both", "right")

    def valid(v):
        return ((v >= low if low_in else v > low)
                and (high is None or (v <= high if high_in else v < high))
                and (multiple_of is None or v % multiple_of == 0))
    hint = f"use {KINDS[convert]} {bounds(low, high, low_in, high_in)}"
    hint += f", a multiple of {multiple_of}" if multiple_of else ""
    return convert, valid, hint + (f" ({why})" if why else "")


def bounds(low, high, low_in, high_in):
    """'>= 1', '> 0', 'in 0..1' (both included), '[0, 1)' ..."""
    if high is None:
        return f"{'>=' if low_in else '>'} {low}"
    if low_in and high_in:
        return f"in {low}..{high}"
    return f"in {'[' if low_in else '('}{low}, {high}{']' if high_in else ')'}"


def or_value(special, rule, meaning):
    """(convert, valid, hint): rule's values, or special (a word such as 'auto', or a number
    outside rule's range), which means meaning."""
    convert, valid, hint = rule

    def read(value):
        if isinstance(special, str) and isinstance(value, str) \
                and value.strip().lower() == special:
            return special
        return convert(value)
    return read, lambda v: v == special or valid(v), f"{hint}, or {special} ({meaning})"


def flag():
    """(convert, valid, hint) for true or false."""
    return boolean, always, "use true or false"


def always(value):
    return True


SMALLEST_INPUT = 32  # no backbone takes less (each checks its own minimum, CROSS_RULES)

# key: (convert, valid, hint), declared: convert raises ValueError when the value is not of
# the kind; choice, between, or_value and flag say their hints from what they allow.
RULES = {
    "data_dir": (folders, always,
                 "give the folder's full path or a path relative to the project, or name: "
                 "folder pairs for several sources, such as {ffpp: /data/FaceForensics++, "
                 "ours: data/cases} (names of letters, digits, _ and -; DVC does not expand "
                 "'~')"),
    "source_weights": or_value("none", (weights_by_name, always,
                                        "use name: weight pairs (weights > 0) naming "
                                        "sources of data_dir, such as {ffpp: 1, ours: 2}"),
                               "each epoch draws every training video once"),
    "dataset": (layouts, always,
                "use auto or the name of a registered layout, or name: layout pairs for "
                "sources of data_dir (the others auto)"),
    "eval_sets": (named_folders, always,
                  "use name: folder pairs, such as {celeb_df: /data/Celeb-DF-v2} (names of "
                  "letters, digits, _ and -; full or project-relative folders), or {} for none"),
    "ff_compression": choice(*FF_COMPRESSIONS),
    "ff_methods": (methods, lambda v: set(v) <= set(FF_METHODS),
                   f"use all, or a list of some of {', '.join(FF_METHODS)}"),
    "split_seed": between(integer, 0, SEED_MAX),
    "train_seed": between(integer, 0, SEED_MAX),
    "workers": between(integer, 0, why="0: all cores"),
    "executor": choice("local", "ray"),
    "log_level": choice(*LOG_LEVELS),
    # make_demo
    "demo_clips_per_class": between(integer, 1),
    "demo_frames": between(integer, 1),
    "demo_width": between(integer, 64, 4096, multiple_of=2, why="the mp4v codec needs even sizes"),
    "demo_height": between(integer, 64, 4096, multiple_of=2,
                           why="the mp4v codec needs even sizes"),
    "demo_seed": between(integer, 0, SEED_MAX),
    # detect_faces: the frames
    "frames_per_video": between(integer, 1),
    "frame_max_side": between(integer, 32),
    "frame_format": choice(*FRAME_FORMATS),
    "jpeg_quality": between(integer, 1, 100),
    # detect_faces: the faces
    "face_detector": (text, always, "use the name of a registered detector or cascade"),
    "detect_max_side": between(integer, 64),
    "small_faces": flag(),
    "face_align": flag(),
    "face_margin": between(number, 1.0, 4.0),
    "face_size": between(integer, 32, 1024),
    "faces_per_frame": between(integer, 1),
    "synthesize_fakes": flag(),
    "reuse_source_faces": flag(),
    # split
    "split_mode": choice(*SPLIT_MODES),
    "test_size": between(number, 0.05, 0.5),
    "val_size": between(number, 0.05, 0.5),
    # train
    "backbone": (text, always, "use the name of a registered backbone"),
    "weights": (text, always, "use none, the backbone's pretrained weights (imagenet, a "
                              "keras-hub preset) or the path of a weights file"),
    "tune": choice(*TUNES),
    "img_size": between(integer, SMALLEST_INPUT, why="the smallest input of any backbone; the "
                        "backbone's own minimum may be higher"),
    "dropout": between(number, 0, 1, closed="left"),
    "bn_momentum": between(number, 0, 1, closed="left"),
    "lr": between(number, 0, closed="neither"),
    "lr_decay": between(number, 0),
    "batch_size": between(integer, 1),
    "epochs": between(integer, 1),
    "keep_epoch": choice(*KEEP_EPOCHS),
    "target_accuracy": or_value("none", between(number, 0, 1, closed="right"), "run every epoch"),
    "class_weight": choice(*CLASS_WEIGHTS),
    "augment_flip": flag(),
    "augment_jpeg": or_value(0, between(integer, 10, 100, why="the lowest JPEG quality"), "off"),
    "augment_brightness": between(number, 0, 0.5),
    "augment_contrast": between(number, 0, 0.9),
    "augment_blur": between(number, 0, 5, why="the largest Gaussian sigma in px; 0: off"),
    "augment_noise": between(number, 0, 50, why="the largest noise deviation in pixel levels; "
                             "0: off"),
    "augment_downscale": or_value(0, between(number, 0.1, 1, closed="left",
                                             why="the smallest scale"), "off"),
    "augment_blocking": between(number, 0, 1, why="the largest pull of 8-px blocks to their "
                                "mean; 0: off"),
    "mixed_precision": flag(),
    "jit_compile": flag(),
    # train: fine-tuning (deepfake_dvc.lineage)
    "init_model": or_value("none", (folder, lambda v: v.endswith(".keras"),
                                    "use the path of a trained model.keras (its "
                                    "preprocessing.json and card.json beside it)"),
                           "start from the weights of weights:"),
    "replay": between(number, 0, 1, why="the share of the parent's training videos at hand "
                      "mixed into each epoch; 0: off"),
    # evaluate and check
    "threshold": or_value("auto", between(number, 0, 1), "the validation split's equal error rate"),
    "uncertain_margin": between(number, 0, 0.5),
    "min_faces": between(integer, 1),
    "video_score": choice(*VIDEO_SCORES),
    # robustness (each entry's kind and level: deepfake_dvc.perturbations)
    "perturbations": (entries, always, "use a list of distinct kind:level conditions, such as "
                      "[h264:35, blur:2], or grid names (deeperforensics); [] for none"),
}


# Rules that need what a registry knows, or several keys: (the keys read, the key named when
# it fails, check(values) -> (ok, hint)), in order, once those keys are valid on their own.
# The registries add theirs (deepfake_dvc.backbones: the backbone's name, its smallest input,
# its weights, its tunes), so this module, which every stage imports, knows none of them.
CROSS_RULES = []


def add_cross_rule(needs, named, check):
    """Check check(values) wherever the keys needs are read together."""
    CROSS_RULES.append((tuple(needs), named, check))


def per_source(value):
    """A parameter that may be given per source of data_dir ({name: value}) as that dict;
    one value for all as {"": value}."""
    return value if isinstance(value, dict) else {"": value}


def names_sources(key):
    """A cross rule's check: key, when a dict, names only sources of data_dir."""
    def check(values):
        names = per_source(values[key])
        sources = values["data_dir"] if isinstance(values["data_dir"], dict) else {}
        unknown = [name for name in names if name and name not in sources]
        return not unknown, (f"'{unknown[0]}' is not a source of data_dir (sources: "
                             f"{', '.join(sources) or 'none: data_dir is one folder'})"
                             if unknown else "")
    return check


add_cross_rule(["data_dir", "dataset"], "dataset", names_sources("dataset"))
add_cross_rule(["data_dir", "source_weights"], "source_weights", names_sources("source_weights"))
add_cross_rule(["init_model", "weights"], "weights",
               lambda v: (v["init_model"] == "none" or v["weights"] == "none",
                          "use none with init_model: the weights are init_model's"))
add_cross_rule(["init_model", "replay"], "replay",
               lambda v: (v["init_model"] != "none" or v["replay"] == 0,
                          "use 0 without init_model: replay mixes a parent's training videos"))


class Registry(dict):
    """A registry's entries by name, in the order registered (backbones, face detectors,
    dataset layouts): the values its parameter may take, besides also. An unknown name is
    a ConfigError listing the known ones, in params.yaml as anywhere else."""

    def __init__(self, kind, parameter=None, also=()):
        super().__init__()
        self.kind, self.also = kind, tuple(also)
        if parameter:
            add_cross_rule([parameter], parameter,
                           lambda values: (set(per_source(values[parameter]).values())
                                           <= set(self.names()),
                                           f"use one of {', '.join(self.names())}"))

    def names(self):
        """Every value its parameter may take."""
        return (*self.also, *self)

    def add(self, name, entry):
        """Register entry as name (a name already taken is an error); returns entry."""
        if name in self:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self[name] = entry
        return entry

    def __missing__(self, name):
        raise ConfigError(f"unknown {self.kind} '{name}': use one of {', '.join(self.names())}")


def shown(value):
    """What was read, as a user would recognise it."""
    if isinstance(value, str):
        return f"'{value}' (text)"
    return "empty" if value is None else repr(value)


def validated(values, keys, source, noun="parameter", name_source=False, rules=None):
    """{key: value} for keys, converted and checked by RULES.

    Raises ConfigError with one line naming the key (and with name_source
    the file), what was read and what to use instead.
    """
    what = f"{source}: {noun}" if name_source else noun
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: expected key: value pairs, found {type(values).__name__}")
    out = {}
    for key in keys:
        if key not in values:
            raise ConfigError(f"{noun} '{key}' is missing from {source}")
        convert, valid, hint = (rules or RULES)[key]
        try:
            value = convert(values[key])
            ok = valid(value)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(f"{what} '{key}' is {shown(values[key])}: {hint}")
        out[key] = value
    for needs, named, check in CROSS_RULES:
        if set(needs) <= set(out):
            ok, hint = check(out)
            if not ok:
                raise ConfigError(f"{what} '{named}' is {shown(values[named])}: {hint}")
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (instead of keeping
    the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(f"{self.name}: key '{key}' is written twice (lines {seen[key]} "
                                  f"and {line}); keep one")
            seen[key] = line
        return super().construct_mapping(node, deep)


def load_yaml(path):
    """The data of a YAML file, or ConfigError naming it."""
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, _UniqueKeyLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: run the command from the project's top folder"
                          ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"{path} cannot be read as YAML ({' '.join(str(e).split())})") from None


def unknown_keys(values, source):
    """ConfigError for the first key of values that RULES does not know, naming the closest
    known one: a misspelt key would otherwise be ignored."""
    for key in values:
        if key not in RULES:
            close = difflib.get_close_matches(str(key), RULES, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "see docs/parameters.md"
            raise ConfigError(f"{source}: unknown parameter '{key}' ({hint})")


def read_params(keys, path=PARAMS_FILE):
    """The values of keys in params.yaml, validated before any work is done; a key that no
    stage reads is refused."""
    values = load_yaml(path) or {}
    if isinstance(values, dict):
        unknown_keys(values, path)
    return validated(values, keys, path)


def run_stage(main, argv=None):
    """run_command for a DVC stage, its messages at params.yaml's log_level."""
    def at_log_level(argv):
        set_log_level(read_params(("log_level",))["log_level"])
        return main(argv)
    return run_command(at_log_level, argv)


def read_settings(path, keys):
    """A settings JSON file that a stage wrote, validated like params.yaml."""
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"'{path}' not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ConfigError(f"'{path}' is not valid JSON ({e})") from None
    return validated(values, keys, path, noun="key", name_source=True)


def write_settings(path, values, keys):
    """Write the keys of values to a settings JSON file."""
    write_json(path, {key: values[key] for key in keys})


FRAME_KEYS = ("frames_per_video", "frame_max_side", "frame_format", "jpeg_quality")
FACE_KEYS = ("face_detector", "detect_max_side", "small_faces", "face_align", "face_margin",
             "face_size", "faces_per_frame")


@dataclass(frozen=True)
class Preprocessing:
    """How a video becomes the model's input: frame sampling, face crops and their storage,
    image size.

    detect_faces records the frame and face settings, train adds the image size;
    check and eval_faces read them back beside the model.
    """
    frames_per_video: int
    frame_max_side: int
    frame_format: str
    jpeg_quality: int
    face_detector: str
    detect_max_side: int
    small_faces: bool
    face_align: bool
    face_margin: float
    face_size: int
    faces_per_frame: int
    img_size: int

    @classmethod
    def load(cls, path):
        """The settings saved at path, validated (ConfigError naming the file and key)."""
        return cls(**read_settings(path, [f.name for f in fields(cls)]))

    def save(self, path):
        write_json(path, asdict(self))
