"""DVC stage make_demo: a small labelled set of demo videos, made offline and deterministically.

Real clips film matplotlib's public-domain photo of Grace Hopper like footage:
a background, smooth camera motion (pan, zoom, slight rotation), changing
light and sensor noise, encoded as mp4v .mp4. Each fake is the same footage
with the face self-blended frame by frame (deepfake_dvc.blend); with one identity
on hand there are no two-person swaps. Real and fake get identical motion,
light, noise, size and encoding, so only the face differs.
Writes data/demo/{real,fake}/clip_NN.mp4 and data/demo/labels.csv
(path,label,group: a fake's group is the path of the real clip it came from).
"""
import argparse
import sys

import cv2

from deepfake_dvc.demo import labels_table, make_clip
from deepfake_dvc.files import write_text_atomic
from deepfake_dvc.log import log
from deepfake_dvc.parallel import parallel_map
from deepfake_dvc.params import read_params, run_stage
from deepfake_dvc.paths import DEMO_DIR, LABELS_CSV

PARAMS = ("demo_clips_per_class", "demo_frames", "demo_width", "demo_height", "demo_seed")


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS + ("workers",))  # workers: how to run, not what; no DVC param

    count = params["demo_clips_per_class"]
    cv2.setNumThreads(1)
    parallel_map(make_clip, [(i, params) for i in range(count)], params["workers"],
                 desc="make_demo", writes_to=[DEMO_DIR / label for label in ("real", "fake")])

    write_text_atomic(DEMO_DIR / LABELS_CSV, labels_table(count).to_csv(index=False))
    log.info(f"make_demo: {count} real and {count} fake clips of {params['demo_frames']} frames, "
             f"{params['demo_width']}x{params['demo_height']} -> {DEMO_DIR}")


if __name__ == "__main__":
    sys.exit(run_stage(main))
