"""DVC stage robust_eval_faces NAME ENTRY: the face crops of evaluation set NAME under the
perturbations ENTRY stands for, made as the model's training data was.

As robust_faces does for the training data's own test split: every video
eval_faces could read in the set (data/eval/NAME/faces.csv, with a face or
not) is changed as each condition of ENTRY says, then cropped as
models/preprocessing.json records. Writes data/robust/eval/NAME/ENTRY/
CONDITION/: <id>.npz and faces.csv.
"""
import argparse
import sys
from dataclasses import asdict

from deepfake_dvc.perturbed_data import crop_perturbed_set
from deepfake_dvc.robust_sets import evaluation_videos
from deepfake_dvc.params import Preprocessing, read_params, run_stage
from deepfake_dvc.paths import PREPROCESSING

PARAMS = ("eval_sets",)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stages.robust_eval_faces",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="an evaluation set: a key of eval_sets in params.yaml")
    parser.add_argument("entry", help="an entry of perturbations in params.yaml")
    args = parser.parse_args(argv)
    params = read_params(PARAMS + ("workers", "executor"))  # how to run: no DVC params
    folder, videos = evaluation_videos(args.name, params["eval_sets"])
    crop_perturbed_set(args.name, args.entry, folder, videos,
                       asdict(Preprocessing.load(PREPROCESSING)), params["workers"],
                       params["executor"])


if __name__ == "__main__":
    sys.exit(run_stage(main))
