"""Export the trained model for deployment: a TensorFlow SavedModel or a TFLite (LiteRT) file.

Writes to --out (default models/export/FORMAT/) the model (saved_model/, served
by TF Serving or tf.saved_model.load(...).serve, or model.tflite for
tf.lite.Interpreter / LiteRT) and beside it preprocessing.json (how to sample
a video and crop its faces, as training did), card.json (what the model was
trained on, its calibration and decision rule) and export.json (the input and
output). Input: float32 [batch, img_size, img_size, 3], RGB face crops
resized to img_size and scaled to [-1, 1] (x / 127.5 - 1, InceptionResNetV2's
preprocess_input). Output: [batch, 2] softmax (real, fake), uncalibrated:
divide the logits by the card's temperature, as check does.
"""
import argparse
import os
import shutil
import sys
from pathlib import Path

from stages.common import (add_model_argument, add_verbosity, log, model_files, run_command,
                           set_log_level, write_json)
from stages.params import Preprocessing

FORMATS = {"saved_model": ("tf_saved_model", "saved_model"), "tflite": ("litert", "model.tflite")}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m stages.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    add_model_argument(parser)
    parser.add_argument("--out", type=Path, help="folder to write (default models/export/FORMAT)")
    add_verbosity(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    set_log_level(args.log_level)
    model_path, preprocessing, card = model_files(args.model)
    prep = Preprocessing.load(preprocessing)
    out = args.out or Path("models/export") / args.format
    keras_format, name = FORMATS[args.format]

    import keras

    from stages.model import load_classifier
    model = load_classifier(model_path)
    single = keras.Model(model.inputs[0], model.outputs[0])  # one tensor in, one out
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    single.export(str(tmp / name), format=keras_format, verbose=False)
    for beside in (preprocessing, card):
        if beside.is_file():
            shutil.copyfile(beside, tmp / beside.name)
    write_json(tmp / "export.json", dict(
        format=args.format, model=name, source=str(model_path),
        input=dict(dtype="float32", shape=[None, prep.img_size, prep.img_size, 3],
                   meaning="RGB face crops (preprocessing.json) resized to img_size, "
                           "x / 127.5 - 1"),
        output=dict(dtype="float32", shape=[None, 2],
                    meaning="softmax over (real, fake), uncalibrated (card.json: temperature)"),
        card=card.is_file()))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    log.info(f"export: {model_path} as {args.format} -> {out / name}")


if __name__ == "__main__":
    sys.exit(run_command(main))
