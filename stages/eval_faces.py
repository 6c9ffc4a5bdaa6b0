"""DVC stage eval_faces NAME: the face crops of an evaluation set, made as the model's
training data was.

eval_sets in params.yaml names folders of other data (any layout of
stages.datasets: FaceForensics++, Celeb-DF, DFDC, labels.csv, real/ and fake/);
all of a set is test data. Each video goes through the frame sampling, face
detection, alignment and cropping recorded in models/preprocessing.json.
Writes data/eval/NAME/<id>.npz and data/eval/NAME/faces.csv (one row per
video: status ok, no_face or the error). A set that is the training data, or
inside it or around it, is refused: its numbers would not be cross-dataset ones.
"""
import argparse
import os
import sys
from pathlib import Path

import cv2
import pandas as pd

from stages.common import (
    EVAL_DIR,
    PREPROCESSING,
    ConfigError,
    DataError,
    SkipInput,
    log,
    parallel_map,
    write_text_atomic,
)
from stages.crops import VideoCropper
from stages.datasets import assign_ids, list_videos
from stages.faces import save_faces
from stages.params import Preprocessing, read_params, run_stage

PARAMS = ("eval_sets", "data_dir", "ff_compression", "ff_methods")

_cropper = None


def eval_folder(name, params):
    """The folder of evaluation set name; ConfigError when there is no such set or when it
    overlaps the training data."""
    if name not in params["eval_sets"]:
        raise ConfigError(f"no evaluation set '{name}' in eval_sets "
                          f"(sets: {', '.join(params['eval_sets']) or 'none'})")
    folder = params["eval_sets"][name]
    here, train = (os.path.realpath(p) for p in (folder, params["data_dir"]))
    if os.path.commonpath([here, train]) in (here, train):
        raise ConfigError(f"eval_sets '{name}' ({folder}) overlaps the training data_dir "
                          f"({params['data_dir']}): its numbers would not be cross-dataset "
                          f"ones; give a folder of other data")
    return folder


def crop_one(job):
    """One video's row for faces.csv, its crops saved under EVAL_DIR/name."""
    row, folder, out = job
    row = dict(row, frames=0, faces=0)
    if row["status"] != "ok":
        return row
    try:
        indices, frames = _cropper.frames(Path(folder) / row["path"])
    except (SkipInput, cv2.error, OSError) as e:
        log.warning(f"{row['path']}: {e}; skipped")
        return dict(row, status=f"error: {e}")
    faces = _cropper.faces(indices, frames)
    row.update(frames=len(frames), faces=len(faces["crops"]))
    if not row["faces"]:
        log.warning(f"{row['path']}: no face in any of its {len(frames)} frames; left out")
        return dict(row, status="no_face")
    save_faces(row["id"], faces, _cropper.prep.frame_format, _cropper.prep.jpeg_quality, out)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stages.eval_faces", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="an evaluation set: a key of eval_sets in params.yaml")
    name = parser.parse_args(argv).name
    params = read_params(PARAMS + ("workers",))
    folder = eval_folder(name, params)
    prep = Preprocessing.load(PREPROCESSING)

    videos = list_videos(folder, "auto", params["ff_compression"], params["ff_methods"])
    videos.insert(0, "id", assign_ids(videos["path"].tolist()))
    global _cropper
    _cropper = VideoCropper(prep)  # forked workers inherit it; models load on first use
    out = EVAL_DIR / name
    out.mkdir(parents=True, exist_ok=True)
    cv2.setNumThreads(1)
    rows = parallel_map(crop_one, [(v, folder, out) for v in videos.to_dict("records")],
                        params["workers"], desc=f"eval_faces {name}", writes_to=[out])

    table = pd.DataFrame(rows)
    write_text_atomic(out / "faces.csv", table.to_csv(index=False))
    ok = table[table["status"] == "ok"]
    log.info(f"eval_faces {name}: {len(ok)}/{len(table)} videos with faces "
             f"({(ok['label'] == 'real').sum()} real, {(ok['label'] == 'fake').sum()} fake), "
             f"{ok['faces'].sum()} faces -> {out}")
    if ok.empty:
        raise DataError(f"no video of evaluation set '{name}' ({folder}) has a face "
                        f"(see {out / 'faces.csv'})")


if __name__ == "__main__":
    sys.exit(run_stage(main))
