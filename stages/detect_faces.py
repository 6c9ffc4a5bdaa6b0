"""DVC stage detect_faces: sampled frames in, square face crops (one file per video) out.

Reads data/manifest.csv and data/frames/, writes data/faces/<id>.npz (crops,
frame indices, boxes, scores), data/faces.csv (one row per input video, with
status ok, no_face or the upstream error), data/faces/settings.json (the
frame and face settings, which train passes on to check) and metrics/faces.json.
With synthesize_fakes, each real video with faces also gets a self-blended
fake <id>+sbi (stages.blend on its crops), labelled fake in the real one's group.
"""
import argparse
import sys
import zlib

import cv2
import numpy as np
import pandas as pd

from stages.blend import random_blend, self_blend
from stages.common import (
    FACE_SETTINGS,
    FACES_DIR,
    FACES_METRICS,
    FACES_TABLE,
    FRAME_SETTINGS,
    FRAMES_DIR,
    MANIFEST,
    SELF_BLENDED,
    DataError,
    parallel_map,
    read_table,
    run_command,
    warn,
    write_json,
    write_text_atomic,
)
from stages.faces import FaceDetector, faces_in_frames, save_faces
from stages.params import FACE_KEYS, FRAME_KEYS, read_params, read_settings, write_settings
from stages.video import load_frames

PARAMS = (*FACE_KEYS, "synthesize_fakes")

_detector = None


def start_detector(params):
    """Build the detector once; forked workers inherit it."""
    global _detector
    _detector = FaceDetector(params["face_detector"], params["detect_max_side"],
                             params["small_faces"])


def detect_one(job):
    """Crop the faces of one video to FACES_DIR.

    Returns its row for data/faces.csv, and with synthesize_fakes the row of
    its self-blended fake (None otherwise).
    """
    row, params = job
    row = dict(row, frames=0, faces=0, frames_without_face=0)
    if row["status"] != "ok":
        return row, None
    indices, frames = load_frames(FRAMES_DIR / f"{row['id']}.npz")
    faces = faces_in_frames(_detector, indices, frames, params["face_margin"],
                            params["face_size"], params["faces_per_frame"])
    row.update(frames=len(frames), faces=len(faces["crops"]),
               frames_without_face=int(faces["frames_without_face"]))
    if not row["faces"]:
        row["status"] = "no_face"
        warn(f"{row['path']}: no face in any of its {len(frames)} frames; left out")
        return row, None
    save_faces(row["id"], faces)
    if params["synthesize_fakes"] and row["label"] == "real":
        return row, synthesize_fake(row, faces, params["face_margin"])
    return row, None


def synthesize_fake(row, faces, margin):
    """Self-blend a real video's crops into the fake '<id>+sbi'; return its row.

    The face box is the crop's central 1/margin; one Blend, seeded by the
    video's id, serves all its crops.
    """
    faces = dict(faces)
    size = faces["crops"].shape[1]
    low, high = size / 2 * (1 - 1 / margin), size / 2 * (1 + 1 / margin)
    blend = random_blend(np.random.default_rng(zlib.crc32(row["id"].encode())))
    faces["crops"] = np.stack([self_blend(crop, (low, low, high, high), blend)
                               for crop in faces["crops"]])
    fake = dict(row, id=row["id"] + SELF_BLENDED, path=f"{row['path']}#sbi", label="fake")
    save_faces(fake["id"], faces)
    return fake


def summary(table):
    """The counts that metrics/faces.json reports."""
    return dict(videos=len(table),
                videos_with_faces=int((table["status"] == "ok").sum()),
                videos_no_face=int((table["status"] == "no_face").sum()),
                videos_failed=int(table["status"].str.startswith("error").sum()),
                frames=int(table["frames"].sum()),
                faces=int(table["faces"].sum()),
                frames_without_face=int(table["frames_without_face"].sum()))


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS + ("workers",))  # workers: how to run, not what; no DVC param

    manifest = read_table(MANIFEST)
    frame_settings = read_settings(FRAME_SETTINGS, FRAME_KEYS)
    columns = ["id", "path", "label", "group", "status"]

    cv2.setNumThreads(1)  # one video per core already
    start_detector(params)
    FACES_DIR.mkdir(parents=True, exist_ok=True)
    results = parallel_map(detect_one, [(r, params) for r in manifest[columns].to_dict("records")],
                           params["workers"], desc="detect_faces")
    rows = [row for row, _ in results]
    synthesized = [fake for _, fake in results if fake]

    write_text_atomic(FACES_TABLE, pd.DataFrame(rows + synthesized).to_csv(index=False))
    counts = summary(pd.DataFrame(rows))
    if params["synthesize_fakes"]:
        counts["synthesized_fakes"] = len(synthesized)
    write_json(FACES_METRICS, counts)
    write_settings(FACE_SETTINGS, {**frame_settings, **params}, FRAME_KEYS + FACE_KEYS)
    print(f"detect_faces: {counts['videos_with_faces']}/{counts['videos']} videos with faces, "
          f"{counts['faces']} faces in {counts['frames']} frames "
          f"({counts['frames_without_face']} frames without a face)"
          + (f", {len(synthesized)} self-blended fakes" if params["synthesize_fakes"] else ""),
          file=sys.stderr)
    if not counts["videos_with_faces"]:
        raise DataError("no face found in any video (see data/faces.csv)")


if __name__ == "__main__":
    sys.exit(run_command(main))
