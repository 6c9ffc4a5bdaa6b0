"""Export the trained model for deployment: a TensorFlow SavedModel or a TFLite (LiteRT) file.

Writes to --out (default models/export/FORMAT/) the model (saved_model/, served
by TF Serving or tf.saved_model.load(...).serve, or model.tflite for
tf.lite.Interpreter / LiteRT) and beside it preprocessing.json (how to sample
a video and crop its faces, as training did), card.json (what the model was
trained on, its calibration and decision rule) and export.json (the input and
output). Input: float32 [batch, face_size, face_size, 3], RGB face crops as
preprocessing.json makes them, pixels 0..255: resizing and the backbone's
normalisation are layers of the model. Output: [batch, 2] softmax (real,
fake), uncalibrated: divide the logits by the card's temperature, as check
does.
"""
import argparse
import os
import shutil
import sys
from pathlib import Path

from deepfake_dvc.calibration import load_card
from deepfake_dvc.cli import add_model_argument, add_verbosity, run_command
from deepfake_dvc.errors import ConfigError, write_failed
from deepfake_dvc.files import write_bytes_atomic, write_json
from deepfake_dvc.log import log, set_log_level
from deepfake_dvc.params import Preprocessing
from deepfake_dvc.paths import model_files

FORMATS = {"saved_model": ("tf_saved_model", "saved_model"), "tflite": ("litert", "model.tflite")}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m stages.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    add_model_argument(parser)
    parser.add_argument("--out", type=Path, help="folder to write (default models/export/FORMAT)")
    add_verbosity(parser)
    return parser.parse_args(argv)


def usable_out(out, model_path, names):
    """Refuse, before the model loads, an --out that export cannot write without harm: a file,
    the exported model's own folder, or a folder holding anything but the names this
    format's export writes (an earlier export's, which it replaces)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out '{out}': a file is in the way; give a folder")
    if os.path.realpath(out) == os.path.realpath(Path(model_path).parent):
        raise ConfigError(f"--out '{out}' is the folder of the model it exports; give another "
                          f"folder, or a subfolder (default models/export/FORMAT)")
    foreign = sorted(p.name for p in out.iterdir() if not written_by_export(p.name, names)
                     ) if out.is_dir() else []
    if foreign:
        raise ConfigError(f"--out '{out}' holds '{foreign[0]}'"
                          + (f" and {len(foreign) - 1} more" if len(foreign) > 1 else "")
                          + ", which this export did not write; give an empty or a new folder")


def written_by_export(entry, names):
    """Whether a folder's entry is one of names, or a temporary of one that a killed export
    left (.NAME.tmp..., .NAME.old)."""
    return entry in names or any(entry.startswith(f".{name}.") for name in names)


def replace_entry(new, old):
    """Move new (a file or a folder) to old's name; a folder already there is removed only
    after new is in place."""
    aside = old.with_name(f".{old.name}.old")
    if old.is_dir():
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(old, aside)
    os.replace(new, old)
    shutil.rmtree(aside, ignore_errors=True)


def description(fmt, name, model_path, face_size, has_card):
    """export.json: what the exported model takes and gives."""
    calibration = "card.json: temperature" if has_card else \
        "the model has no card: no temperature, no threshold, scope unknown"
    return dict(format=fmt, model=name, source=str(model_path),
                input=dict(dtype="float32", shape=[None, face_size, face_size, 3],
                           meaning="RGB face crops as preprocessing.json makes them, pixels "
                                   "0..255 (the model resizes and normalises them)"),
                output=dict(dtype="float32", shape=[None, 2],
                            meaning=f"softmax over (real, fake), uncalibrated ({calibration})"),
                card=has_card)


def main(argv=None):
    args = parse_args(argv)
    set_log_level(args.log_level)
    model_path, preprocessing, card = model_files(args.model)
    prep = Preprocessing.load(preprocessing)
    out = args.out or Path("models/export") / args.format
    keras_format, name = FORMATS[args.format]
    usable_out(out, model_path, {name, preprocessing.name, card.name, "export.json"})
    if card.is_file():
        load_card(card, model_path, preprocessing)
    else:
        log.warning(f"'{model_path}' has no card ({card}): the exported model is uncalibrated "
                    f"and what it was trained on is unknown; export.json says so")

    import keras

    from deepfake_dvc.model import load_classifier, tf
    model = load_classifier(model_path)
    single = keras.Model(model.inputs[0], model.outputs[0])  # one tensor in, one out
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{name}.tmp"  # a folder: Keras writes the model into it under its name
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        crops = tf.TensorSpec([None, prep.face_size, prep.face_size, 3], tf.float32)
        single.export(str(tmp / name), format=keras_format, verbose=False,
                      input_signature=[crops])
        for beside in (preprocessing, card):
            if beside.is_file():
                write_bytes_atomic(out / beside.name, beside.read_bytes())
        write_json(out / "export.json", description(args.format, name, model_path, prep.face_size,
                                                    card.is_file()))
        replace_entry(tmp / name, out / name)
    except OSError as e:
        raise write_failed(out / name, e) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info(f"export: {model_path} as {args.format} -> {out / name}")


if __name__ == "__main__":
    sys.exit(run_command(main))
