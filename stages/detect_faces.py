"""DVC stage detect_faces: sampled frames in, face crops (one file per video) out.

Reads data/manifest.csv and data/frames/, writes data/faces/<id>.npz (crops,
frame indices, boxes, scores, landmarks, tracks, whether each crop is aligned),
data/faces.csv (one row per input video, with status ok, no_face or the
upstream error, and its group and official split for the split stage),
data/faces/settings.json (the frame and face settings, which train passes on
to check) and metrics/faces.json.
With synthesize_fakes, each real video with faces also gets a self-blended
fake <id>+sbi (stages.blend on its crops), labelled fake in the real one's
group and split.
With reuse_source_faces, a fake made from a real video of the data (its
source: DFDC's `original`, a labels.csv group naming a video, FaceForensics++'s
and Celeb-DF's target footage) with the same frame count and size is not
searched: its crops are cut where its source's faces are (the DFDC winner's
way; DFDC is about 80 % fakes). faces.csv says so in faces_from.
With face_align, crops are turned and scaled so the landmarks sit at fixed
places; a face whose landmark fit fails keeps its unaligned crop and is
counted (faces_not_aligned).
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
    log,
    parallel_map,
    read_table,
    write_json,
    write_text_atomic,
)
from stages.faces import FaceDetector, crop_faces, find_faces, save_faces
from stages.params import (FACE_KEYS, FRAME_KEYS, read_params, read_settings, run_stage,
                           write_settings)
from stages.video import load_frames

PARAMS = (*FACE_KEYS, "synthesize_fakes", "reuse_source_faces")
SAME_FOOTAGE = ("frame_count", "width", "height", "frames_kept")

_detector = None


def start_detector(params):
    """Build the detector and its models once; forked workers inherit them."""
    global _detector
    _detector = FaceDetector(params["face_detector"], params["detect_max_side"],
                             params["small_faces"]).load()


def reusable_sources(manifest):
    """{fake's id: its source's id} for each fake whose source is a usable real video of the
    same footage (frame count, size, frames kept): its faces are where the source's are."""
    rows = manifest.to_dict("records")
    reals = {r["path"]: r for r in rows if r["label"] == "real" and r["status"] == "ok"}
    return {r["id"]: reals[r["source"]]["id"] for r in rows
            if r["label"] == "fake" and r["status"] == "ok" and r["source"] in reals
            and all(r[key] == reals[r["source"]][key] for key in SAME_FOOTAGE)}


def detect_one(job):
    """Crop the faces of one video to FACES_DIR: found in its frames, or given as its
    source's (source_id, found faces) when it is a fake of the same footage.

    Returns its row for data/faces.csv, with synthesize_fakes the row of its
    self-blended fake (else None), and its faces without the crops.
    """
    row, params, source = job
    row = dict(row, frames=0, faces=0, frames_without_face=0, faces_not_aligned=0, faces_from="")
    if row["status"] != "ok":
        return row, None, None
    indices, frames = load_frames(FRAMES_DIR / f"{row['id']}.npz")
    if source:
        row["faces_from"], found = source
    else:
        found = find_faces(_detector, indices, frames, params["faces_per_frame"])
    faces = crop_faces(indices, frames, found, params["face_margin"], params["face_size"],
                       params["face_align"])
    row.update(frames=len(frames), faces=len(faces["crops"]),
               faces_not_aligned=int((~faces["aligned"]).sum()) if params["face_align"] else 0,
               frames_without_face=int(faces["frames_without_face"]))
    if not row["faces"]:
        row["status"] = "no_face"
        log.warning(f"{row['path']}: no face in any of its {len(frames)} frames; left out")
        return row, None, None
    save_faces(row["id"], faces, params["frame_format"], params["jpeg_quality"])
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
    save_faces(fake["id"], faces, params["frame_format"], params["jpeg_quality"])
    return fake


def summary(table):
    """The counts that metrics/faces.json reports."""
    return dict(videos=len(table),
                videos_with_faces=int((table["status"] == "ok").sum()),
                videos_no_face=int((table["status"] == "no_face").sum()),
                videos_failed=int(table["status"].str.startswith("error").sum()),
                frames=int(table["frames"].sum()),
                faces=int(table["faces"].sum()),
                frames_without_face=int(table["frames_without_face"].sum()),
                faces_not_aligned=int(table["faces_not_aligned"].sum()))


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS + ("workers",))  # workers: how to run, not what; no DVC param

    manifest = read_table(MANIFEST)
    params.update(read_settings(FRAME_SETTINGS, FRAME_KEYS))  # crops are stored as frames are
    videos = manifest[["id", "path", "label", "group", "source", "official_split", "status"]
                      ].to_dict("records")
    source_of = reusable_sources(manifest) if params["reuse_source_faces"] else {}

    cv2.setNumThreads(1)  # one video per core already
    start_detector(params)
    FACES_DIR.mkdir(parents=True, exist_ok=True)
    first = parallel_map(detect_one, [(v, params, None) for v in videos
                                      if v["id"] not in source_of],
                         params["workers"], desc="detect_faces", writes_to=[FACES_DIR])
    found = {row["id"]: faces for row, _, faces in first if faces is not None}
    reusing = [(v, params, (source_of[v["id"]], found[source_of[v["id"]]])
                if source_of[v["id"]] in found else None) for v in videos if v["id"] in source_of]
    second = parallel_map(detect_one, reusing, params["workers"], writes_to=[FACES_DIR],
                          desc="detect_faces, fakes on their sources' faces") if reusing else []
    by_id = {row["id"]: (row, fake) for row, fake, _ in first + second}
    rows = [by_id[v["id"]][0] for v in videos]
    synthesized = [by_id[v["id"]][1] for v in videos if by_id[v["id"]][1]]

    write_text_atomic(FACES_TABLE, pd.DataFrame(rows + synthesized).to_csv(index=False))
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
             f"{aligned}){blended}")
    if not counts["videos_with_faces"]:
        raise DataError("no face found in any video (see data/faces.csv)")


if __name__ == "__main__":
    sys.exit(run_stage(main))
