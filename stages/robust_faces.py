"""DVC stage robust_faces ENTRY: the face crops of the training data's own test split under
the perturbations ENTRY stands for, made as the model's training data was.

ENTRY is an entry of perturbations in params.yaml: a condition kind:level
(h264:35, blur:2) or a grid's name (deeperforensics: each of its conditions).
Each test video of data/split.csv that has a file is changed as the condition
says (re-encoded, or each sampled frame changed), then sampled, searched and
cropped as models/preprocessing.json records. Writes data/robust/test/ENTRY/
CONDITION/: <id>.npz and faces.csv (one row per video: status ok, no_face or
the error). A video the condition cannot be applied to is a recorded row; the
others go on. robust_eval_faces does the same for an evaluation set.
"""
import argparse
import sys
from dataclasses import asdict

from deepfake_dvc.perturbed_data import crop_perturbed_set
from deepfake_dvc.robust_sets import own_test_videos
from deepfake_dvc.params import Preprocessing, read_params, run_stage
from deepfake_dvc.paths import OWN_TEST, PREPROCESSING

PARAMS = ("data_dir",)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stages.robust_faces", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("entry", help="an entry of perturbations in params.yaml")
    entry = parser.parse_args(argv).entry
    params = read_params(PARAMS + ("workers", "executor"))  # how to run: no DVC params
    crop_perturbed_set(OWN_TEST, entry, params["data_dir"], own_test_videos(params["data_dir"]),
                       asdict(Preprocessing.load(PREPROCESSING)), params["workers"],
                       params["executor"])


if __name__ == "__main__":
    sys.exit(run_stage(main))
