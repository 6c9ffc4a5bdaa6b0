"""DVC stage detect_faces: labelled videos in, face crops (one file per video) out.

Reads data_dir (any layout of deepfake_dvc.datasets: real/ and fake/ subfolders,
labels.csv, DFDC, FaceForensics++, Celeb-DF; or several such sources by name, each
video listed as name/path: deepfake_dvc.sources), decodes each video's sampled
frames and finds, tracks and crops their faces in memory (deepfake_dvc.crops, the
way eval_faces and check do). Writes data/manifest.csv (one row per input
video: its label, group, source (the real footage a fake was made from),
official split, what its container holds and its SHA-256, so that an
evaluation set holding a copy of a training video is refused),
data/faces/<id>.npz (crops, frame indices, boxes, scores, landmarks, tracks,
whether each crop is aligned), data/faces.csv (one row per input video, with
status ok, no_face or the error, for the split stage), data/faces/settings.json
(the frame and face settings, which train passes on to check) and
metrics/faces.json. A video that cannot be read is recorded and the others go
on; a file the machine cannot write (no space, no permission) stops the stage.
With synthesize_fakes, each real video with faces also gets a self-blended
fake <id>+sbi (deepfake_dvc.blend on its crops), labelled fake in the real one's
group and split.
With reuse_source_faces, a fake made from a real video of the data (its
source: DFDC's `original`, a labels.csv group naming a video, FaceForensics++'s
and Celeb-DF's target footage) with the same frame count and size is not
searched: its crops are cut from its own frames where its source's faces are
(the DFDC winner's way; DFDC is about 80 % fakes). faces.csv says so in
faces_from.
With face_align, crops are turned and scaled so the landmarks sit at fixed
places; a face whose landmark fit fails keeps its unaligned crop and is
counted (faces_not_aligned).
"""
import argparse
import sys

from deepfake_dvc.datasets import assign_ids
from deepfake_dvc.errors import DataError
from deepfake_dvc.files import write_json
from deepfake_dvc.log import log
from deepfake_dvc.params import (
    FACE_KEYS,
    FRAME_KEYS,
    read_params,
    run_stage,
    write_settings,
)
from deepfake_dvc.paths import (
    FACE_SETTINGS,
    FACES_DIR,
    FACES_METRICS,
    FACES_TABLE,
    MANIFEST,
)
from deepfake_dvc.sources import list_sources
from deepfake_dvc.status import NO_FACE, OK
from deepfake_dvc.tables import FACES_COLUMNS, LISTED, MANIFEST_COLUMNS, write_table
from deepfake_dvc.training_data import crop_training_videos, face_counts

PARAMS = ("data_dir", "dataset", "ff_compression", "ff_methods", *FRAME_KEYS, *FACE_KEYS,
          "synthesize_fakes", "reuse_source_faces")


def manifest_row(row):
    """The manifest's row of a video: its status is the video's (one without a face is a
    readable one)."""
    return dict(row, status=OK if row["status"] == NO_FACE else row["status"])


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS + ("workers", "executor"))  # how to run, not what: no DVC params

    videos = list_sources(params["data_dir"], params["dataset"], params["ff_compression"],
                         params["ff_methods"])
    videos.insert(0, "id", assign_ids(videos["path"].tolist()))
    rows, synthesized = crop_training_videos(videos[list(LISTED)].to_dict("records"), params,
                                             FACES_DIR)

    write_table(MANIFEST, map(manifest_row, rows), MANIFEST_COLUMNS)
    write_table(FACES_TABLE, (*rows, *synthesized), FACES_COLUMNS)
    counts = face_counts(rows, synthesized, params)
    write_json(FACES_METRICS, counts)
    write_settings(FACE_SETTINGS, params, FRAME_KEYS + FACE_KEYS)
    aligned = f"; {counts['faces_not_aligned']} crops not aligned" if params["face_align"] else ""
    blended = f", {len(synthesized)} self-blended fakes" if params["synthesize_fakes"] else ""
    log.info(f"detect_faces: {counts['videos_with_faces']}/{counts['videos']} videos with faces, "
             f"{counts['faces']} faces in {counts['frames']} frames "
             f"({counts['frames_without_face']} frames without a face; "
             f"{counts['videos_on_source_faces']} fakes cropped where their source's faces are"
             f"{aligned}){blended} -> {FACES_DIR}, {FACES_TABLE}, {MANIFEST}")
    if counts["videos_failed"] == counts["videos"]:
        raise DataError("no usable video: every input failed "
                        "(see the warnings above and data/manifest.csv)")
    if not counts["videos_with_faces"]:
        raise DataError("no face found in any video (see data/faces.csv)")


if __name__ == "__main__":
    sys.exit(run_stage(main))
