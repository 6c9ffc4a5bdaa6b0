"""DVC stage eval_faces NAME: the face crops of an evaluation set, made as the model's
training data was.

eval_sets in params.yaml names folders of other data (any layout of
deepfake_dvc.datasets: FaceForensics++, Celeb-DF, DFDC, labels.csv, real/ and fake/);
all of a set is test data. Each video goes through the frame sampling, face
detection, alignment and cropping recorded in models/preprocessing.json.
Writes data/eval/NAME/<id>.npz and data/eval/NAME/faces.csv (one row per
video: status ok, no_face or the error). A set that is the training data, or
inside it or around it, or that holds a copy of a training video (the same
SHA-256 as a row of data/manifest.csv), is refused: its numbers would not be
cross-dataset ones.
"""
import argparse
import os
import sys
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from deepfake_dvc.datasets import assign_ids, list_videos
from deepfake_dvc.errors import ConfigError, DataError
from deepfake_dvc.evaluation_data import crop_evaluation_videos, training_videos
from deepfake_dvc.log import log
from deepfake_dvc.params import Preprocessing, read_params, run_stage
from deepfake_dvc.paths import EVAL_DIR, MANIFEST, PREPROCESSING, data_sources
from deepfake_dvc.status import OK
from deepfake_dvc.tables import EVAL_FACES_COLUMNS, write_table

PARAMS = ("eval_sets", "data_dir", "ff_compression", "ff_methods")


def eval_folder(name, params):
    """The folder of evaluation set name; ConfigError when there is no such set or folder, or
    when it overlaps the training data's folder."""
    if name not in params["eval_sets"]:
        raise ConfigError(f"no evaluation set '{name}' in eval_sets "
                          f"(sets: {', '.join(params['eval_sets']) or 'none'})")
    folder = params["eval_sets"][name]
    here = os.path.realpath(folder)
    for train in data_sources(params["data_dir"]).values():
        if os.path.commonpath([here, os.path.realpath(train)]) in (here, os.path.realpath(train)):
            raise ConfigError(f"eval_sets '{name}' ({folder}) overlaps the training data_dir "
                              f"({train}): its numbers would not be cross-dataset ones; give "
                              f"a folder of other data")
    if not Path(folder).is_dir():
        raise ConfigError(f"eval_sets '{name}': '{folder}' does not exist or is not a folder "
                          f"(set eval_sets in params.yaml)")
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stages.eval_faces", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="an evaluation set: a key of eval_sets in params.yaml")
    name = parser.parse_args(argv).name
    params = read_params(PARAMS + ("workers", "executor"))  # how to run: no DVC params
    folder = eval_folder(name, params)
    prep = Preprocessing.load(PREPROCESSING)

    videos = list_videos(folder, "auto", params["ff_compression"], params["ff_methods"])
    videos.insert(0, "id", assign_ids(videos["path"].tolist()))
    out = EVAL_DIR / name
    rows = crop_evaluation_videos(videos.to_dict("records"), folder, out, asdict(prep),
                                  training_videos(MANIFEST), params["workers"],
                                  params["executor"])

    table = pd.DataFrame(rows)
    shared = table[table["same_as"] != ""]
    if len(shared):
        raise ConfigError(f"eval_sets '{name}' ({folder}) shares {len(shared)} video(s) with "
                          f"the training data_dir ({params['data_dir']}), by content: e.g. "
                          f"'{shared['path'].iloc[0]}' is '{shared['same_as'].iloc[0]}'; its "
                          f"numbers would not be cross-dataset ones: remove them from the set")
    write_table(out / "faces.csv", table, EVAL_FACES_COLUMNS)  # same_as: empty in every row
    ok = table[table["status"] == OK]
    log.info(f"eval_faces {name}: {len(ok)}/{len(table)} videos with faces "
             f"({(ok['label'] == 'real').sum()} real, {(ok['label'] == 'fake').sum()} fake), "
             f"{ok['faces'].sum()} faces -> {out}")
    if ok.empty:
        raise DataError(f"no video of evaluation set '{name}' ({folder}) has a face "
                        f"(see {out / 'faces.csv'})")


if __name__ == "__main__":
    sys.exit(run_stage(main))
