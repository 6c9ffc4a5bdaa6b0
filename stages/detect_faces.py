"""DVC stage detect_faces: labelled videos in, face crops (one file per video) out.

Reads data_dir (any layout of deepfake_dvc.datasets: real/ and fake/ subfolders,
labels.csv, DFDC, FaceForensics++, Celeb-DF), decodes each video's sampled
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
import os
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from deepfake_dvc.blend import random_blend, self_blend
from deepfake_dvc.crops import VideoCropper
from deepfake_dvc.datasets import assign_ids, list_videos
from deepfake_dvc.errors import DataError, SkipInput
from deepfake_dvc.files import file_digest, write_json, write_text_atomic
from deepfake_dvc.labels import SELF_BLENDED
from deepfake_dvc.log import log
from deepfake_dvc.parallel import parallel_map
from deepfake_dvc.params import FACE_KEYS, FRAME_KEYS, read_params, run_stage, write_settings
from deepfake_dvc.paths import FACE_SETTINGS, FACES_DIR, FACES_METRICS, FACES_TABLE, MANIFEST
from deepfake_dvc.status import NO_FACE, OK, failed, left_out_counts

PARAMS = ("data_dir", "dataset", "ff_compression", "ff_methods", *FRAME_KEYS, *FACE_KEYS,
          "synthesize_fakes", "reuse_source_faces")
SAME_FOOTAGE = ("frame_count", "width", "height", "frames_kept")
VIDEO_COLUMNS = ("fps", "frame_count", "width", "height", "duration", "frames_kept", "sha256")
FACE_COLUMNS = ("frames", "faces", "frames_without_face", "faces_not_aligned", "faces_from")
LISTED = ("id", "path", "label", "group", "source", "official_split", "status")

_cropper = None


def start_cropper(params):
    """Build the cropper and its detector's models once; forked workers inherit them."""
    global _cropper
    _cropper = VideoCropper(params)
    _cropper.detector.load()


def sources_of(videos):
    """{fake's id: its source's id} for each fake whose source is a listed real video that
    can be read: it may be the same footage, and its faces then be where the source's are."""
    reals = {v["path"]: v["id"] for v in videos if v["label"] == "real" and v["status"] == OK}
    return {v["id"]: reals[v["source"]] for v in videos
            if v["label"] == "fake" and v["status"] == OK and v["source"] in reals}


def largest_first(jobs, data_dir):
    """The jobs, their videos' files largest first: the longest decodes start first, so no
    worker is left with one at the end while the others wait."""
    def size(job):
        try:
            return os.stat(Path(data_dir) / job[0]["path"]).st_size
        except OSError:
            return 0
    return sorted(jobs, key=lambda job: -size(job))


def detect_one(job):
    """Read one video's sampled frames and crop its faces to FACES_DIR: found in its frames,
    or given as its source's (source's row, found faces) when it is a fake of the same
    footage.

    Returns its row (the manifest's columns and faces.csv's), with synthesize_fakes
    the row of its self-blended fake (else None), and its faces without the crops.
    """
    row, params, source = job
    row = dict(row, fps=0.0, frame_count=0, width=0, height=0, duration=0.0, frames_kept=0,
               sha256="", frames=0, faces=0, frames_without_face=0, faces_not_aligned=0,
               faces_from="")
    if row["status"] != OK:  # refused when listed, and warned about there
        return row, None, None
    path = Path(params["data_dir"]) / row["path"]
    try:
        indices, frames, info = _cropper.frames(path)
        row.update(info, frames_kept=len(frames), sha256=file_digest(path))
    except (SkipInput, cv2.error, OSError) as e:  # the input's fault: recorded, the others go on
        row["status"] = failed(e)
        log.warning(f"{row['path']}: {e}; skipped")
        return row, None, None
    if source and all(row[key] == source[0][key] for key in SAME_FOOTAGE):
        found = source[1]
        row["faces_from"] = source[0]["id"]
    else:
        found = _cropper.find(indices, frames)
    faces = _cropper.crop(indices, frames, found)
    row.update(frames=len(frames), faces=len(faces["crops"]),
               faces_not_aligned=int((~faces["aligned"]).sum()) if params["face_align"] else 0,
               frames_without_face=int(faces["frames_without_face"]))
    if not row["faces"]:
        row["status"] = NO_FACE
        log.warning(f"{row['path']}: no face in any of its {len(frames)} frames; left out")
        return row, None, None
    # A write the machine refuses raises MachineError: the stage stops, the input is not blamed.
    _cropper.save(row["id"], faces, FACES_DIR)
    fake = synthesize_fake(row, faces, params) \
        if params["synthesize_fakes"] and row["label"] == "real" else None
    return row, fake, found


def synthesize_fake(row, faces, params):
    """Self-blend a real video's crops into the fake '<id>+sbi'; return its row.

    The face box is the crop's central 1/margin; one Blend, seeded by the
    video's id, serves all its crops.
    """
    faces, margin = dict(faces), params["face_margin"]
    size = faces["crops"].shape[1]
    low, high = size / 2 * (1 - 1 / margin), size / 2 * (1 + 1 / margin)
    blend = random_blend(np.random.default_rng(zlib.crc32(row["id"].encode())))
    faces["crops"] = np.stack([self_blend(crop, (low, low, high, high), blend)
                               for crop in faces["crops"]])
    fake = dict(row, id=row["id"] + SELF_BLENDED, path=f"{row['path']}#sbi", label="fake")
    _cropper.save(fake["id"], faces, FACES_DIR)
    return fake


def summary(table):
    """The counts that metrics/faces.json reports."""
    left_out = left_out_counts(table["status"])
    return dict(videos=len(table),
                videos_with_faces=int((table["status"] == OK).sum()),
                videos_no_face=left_out[NO_FACE], videos_failed=left_out["error"],
                frames=int(table["frames"].sum()),
                faces=int(table["faces"].sum()),
                frames_without_face=int(table["frames_without_face"].sum()),
                faces_not_aligned=int(table["faces_not_aligned"].sum()))


def in_order(videos, results):
    """results (of detect_one, in any order) in the order of videos."""
    by_id = {row["id"]: (row, fake) for row, fake, _ in results}
    return [by_id[v["id"]] for v in videos]


def manifest_row(row):
    """The manifest's columns of detect_one's row: the video, what was found aside; its
    status is the video's (a video without a face is a readable one)."""
    video = {key: row[key] for key in (*LISTED, *VIDEO_COLUMNS)}
    return dict(video, status=OK if row["status"] == NO_FACE else row["status"])


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS + ("workers",))  # workers: how to run, not what; no DVC param

    videos = list_videos(params["data_dir"], params["dataset"], params["ff_compression"],
                         params["ff_methods"])
    videos.insert(0, "id", assign_ids(videos["path"].tolist()))
    videos = videos[list(LISTED)].to_dict("records")
    source_of = sources_of(videos) if params["reuse_source_faces"] else {}

    cv2.setNumThreads(1)  # one video per core already
    start_cropper(params)
    FACES_DIR.mkdir(parents=True, exist_ok=True)
    jobs = [(v, params, None) for v in videos if v["id"] not in source_of]
    first = parallel_map(detect_one, largest_first(jobs, params["data_dir"]),
                         params["workers"], desc="detect_faces", writes_to=[FACES_DIR])
    sources = {row["id"]: (row, faces) for row, _, faces in first if faces is not None}
    jobs = [(v, params, sources.get(source_of[v["id"]])) for v in videos if v["id"] in source_of]
    second = parallel_map(detect_one, largest_first(jobs, params["data_dir"]),
                          params["workers"], writes_to=[FACES_DIR],
                          desc="detect_faces, fakes of their sources' footage") if jobs else []
    rows, synthesized = zip(*in_order(videos, first + second))
    synthesized = [fake for fake in synthesized if fake]

    write_text_atomic(MANIFEST, pd.DataFrame(map(manifest_row, rows)).to_csv(index=False))
    faces_table = pd.DataFrame([{key: r[key] for key in (*LISTED, *FACE_COLUMNS)}
                                for r in (*rows, *synthesized)])
    write_text_atomic(FACES_TABLE, faces_table.to_csv(index=False))
    counts = summary(pd.DataFrame(rows))
    counts["videos_on_source_faces"] = int(sum(bool(row["faces_from"]) for row in rows))
    if params["synthesize_fakes"]:
        counts["synthesized_fakes"] = len(synthesized)
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
