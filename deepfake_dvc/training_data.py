"""The training data's crops (detect_faces' work): each video's sampled frames decoded, its
faces found (or, for a fake of its source's footage, taken where its source's are), cropped
and saved, videos in parallel, with self-blended fakes; each video's row for the manifest and
faces.csv (deepfake_dvc.tables). A video that cannot be read is a recorded row and the others
go on. The workers write nothing: the stage's process writes the crops files they return, and
a write the machine refuses stops the stage."""
import os
import zlib

import cv2
import numpy as np
import pandas as pd

from deepfake_dvc.blend import random_blend, self_blend
from deepfake_dvc.crops import VideoCropper
from deepfake_dvc.errors import SkipInput
from deepfake_dvc.files import file_digest
from deepfake_dvc.labels import SELF_BLENDED
from deepfake_dvc.log import log
from deepfake_dvc.parallel import Files, parallel_map
from deepfake_dvc.paths import video_file
from deepfake_dvc.status import NO_FACE, OK, failed, left_out_counts
from deepfake_dvc.tables import CONTAINER, FOUND

SAME_FOOTAGE = ("frame_count", "width", "height", "frames_kept")

_cropper = None  # the workers' cropper (parallel_map's setup)


def start_cropper(params):
    """Build the cropper and its detector's models once per process (forked workers inherit
    them); one OpenCV thread, as each worker takes one video."""
    global _cropper
    cv2.setNumThreads(1)
    _cropper = VideoCropper(params)
    _cropper.detector.load()


def crop_training_videos(videos, params, faces_dir):
    """detect_faces' work: the listed videos (LISTED dicts) cropped to faces_dir, the fakes of
    their sources' footage (with reuse_source_faces) after their sources. Returns each
    video's row, in the order of videos, and the rows of the self-blended fakes."""
    source_of = sources_of(videos) if params["reuse_source_faces"] else {}
    faces_dir.mkdir(parents=True, exist_ok=True)
    how = dict(workers=params["workers"], executor=params["executor"],
               setup=(start_cropper, (params,)))
    jobs = [(v, params, None, faces_dir) for v in videos if v["id"] not in source_of]
    first = parallel_map(detect_one, largest_first(jobs, params["data_dir"]),
                         desc="detect_faces", **how)
    sources = {row["id"]: (row, faces) for row, _, faces in first if faces is not None}
    jobs = [(v, params, sources.get(source_of[v["id"]]), faces_dir)
            for v in videos if v["id"] in source_of]
    second = parallel_map(detect_one, largest_first(jobs, params["data_dir"]),
                          desc="detect_faces, fakes of their sources' footage",
                          **how) if jobs else []
    rows, synthesized = zip(*in_order(videos, first + second))
    return list(rows), [fake for fake in synthesized if fake]


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
            return os.stat(video_file(data_dir, job[0]["path"])).st_size
        except OSError:
            return 0
    return sorted(jobs, key=lambda job: -size(job))


def detect_one(job):
    """Read one video's sampled frames and crop its faces to faces_dir: found in its frames,
    or given as its source's (source's row, found faces) when it is a fake of the same
    footage.

    Returns its row (the manifest's columns and faces.csv's), with synthesize_fakes
    the row of its self-blended fake (else None), and its faces without the crops; with its
    crops files as Files, which the stage's process writes.
    """
    row, params, source, faces_dir = job
    row = dict(row, **CONTAINER, **FOUND)
    if row["status"] != OK:  # refused when listed, and warned about there
        return row, None, None
    path = video_file(params["data_dir"], row["path"])
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
    files = _cropper.crops_file(row["id"], faces, faces_dir)
    fake = None
    if params["synthesize_fakes"] and row["label"] == "real":
        fake, fake_file = synthesize_fake(row, faces, params, faces_dir)
        files.update(fake_file)
    return Files((row, fake, found), files)


def synthesize_fake(row, faces, params, faces_dir):
    """Self-blend a real video's crops into the fake '<id>+sbi'; return its row and its crops
    file ({path: bytes}).

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
    return fake, _cropper.crops_file(fake["id"], faces, faces_dir)


def in_order(videos, results):
    """results (of detect_one, in any order) in the order of videos."""
    by_id = {row["id"]: (row, fake) for row, fake, _ in results}
    return [by_id[v["id"]] for v in videos]


def face_counts(rows, synthesized, params):
    """The counts metrics/faces.json reports of detect_faces' rows."""
    table = pd.DataFrame(rows)
    left_out = left_out_counts(table["status"])
    counts = dict(videos=len(table),
                  videos_with_faces=int((table["status"] == OK).sum()),
                  videos_no_face=left_out[NO_FACE], videos_failed=left_out["error"],
                  **{key: int(table[key].sum()) for key in
                     ("frames", "faces", "frames_without_face", "faces_not_aligned")},
                  videos_on_source_faces=int((table["faces_from"] != "").sum()))
    if params["synthesize_fakes"]:
        counts["synthesized_fakes"] = len(synthesized)
    return counts
