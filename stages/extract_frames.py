"""DVC stage extract_frames: labelled videos in, sampled frames (one file per video) out.

Reads data_dir (any layout of stages.datasets: real/ and fake/ subfolders,
labels.csv, DFDC, FaceForensics++, Celeb-DF) and writes data/frames/<id>.npz,
data/frames/settings.json (how frames were sampled and stored) and
data/manifest.csv, one row per input video with its label, group, source
(the real footage a fake was made from), official split and SHA-256 (so that an
evaluation set holding a copy of a training video is refused). A video that cannot
be read is recorded and the others go on; a frames file the machine cannot write
(no space, no permission) stops the stage.
"""
import argparse
import sys
from pathlib import Path

import cv2
import pandas as pd

from stages.common import (
    FRAME_SETTINGS,
    FRAMES_DIR,
    MANIFEST,
    DataError,
    SkipInput,
    file_digest,
    log,
    parallel_map,
    write_text_atomic,
)
from stages.datasets import assign_ids, list_videos
from stages.params import FRAME_KEYS, read_params, run_stage, write_settings
from stages.video import read_sampled_frames, save_frames

PARAMS = ("data_dir", "dataset", "ff_compression", "ff_methods", *FRAME_KEYS)


def extract_one(job):
    """Sample one video's frames to FRAMES_DIR; return its manifest row."""
    row, params = job
    row = dict(row, fps=0.0, frame_count=0, width=0, height=0, duration=0.0,
               frames_kept=0, bytes=0, sha256="")
    if row["status"] != "ok":  # refused when listed, and warned about there
        return row
    path = Path(params["data_dir"]) / row["path"]
    try:
        indices, frames, info = read_sampled_frames(path, params["frames_per_video"],
                                                    params["frame_max_side"])
        row.update(info, frames_kept=len(frames), sha256=file_digest(path))
    except (SkipInput, cv2.error, OSError) as e:  # the input's fault: recorded, the others go on
        row["status"] = f"error: {e}"
        log.warning(f"{row['path']}: {e}; skipped")
        return row
    # A write the machine refuses raises MachineError: the stage stops, the input is not blamed.
    row["bytes"] = save_frames(FRAMES_DIR / f"{row['id']}.npz", indices, frames,
                               params["frame_format"], params["jpeg_quality"])
    return row


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS + ("workers",))  # workers: how to run, not what; no DVC param

    videos = list_videos(params["data_dir"], params["dataset"], params["ff_compression"],
                         params["ff_methods"])
    videos.insert(0, "id", assign_ids(videos["path"].tolist()))

    cv2.setNumThreads(1)
    FRAMES_DIR.mkdir(parents=True, exist_ok=True)
    rows = parallel_map(extract_one, [(r, params) for r in videos.to_dict("records")],
                        params["workers"], desc="extract_frames", writes_to=[FRAMES_DIR])

    manifest = pd.DataFrame(rows)
    write_text_atomic(MANIFEST, manifest.to_csv(index=False))
    write_settings(FRAME_SETTINGS, params, FRAME_KEYS)
    ok = manifest[manifest["status"] == "ok"]
    log.info(f"extract_frames: {len(ok)}/{len(manifest)} videos ok, "
             f"{ok['frames_kept'].sum()} frames, "
             f"{ok['bytes'].mean() / 1e6 if len(ok) else 0:.2f} MB per video "
             f"({params['frame_format']}) -> {FRAMES_DIR}, {MANIFEST}")
    if ok.empty:
        raise DataError("no usable video: every input failed "
                        "(see the warnings above and data/manifest.csv)")


if __name__ == "__main__":
    sys.exit(run_stage(main))
