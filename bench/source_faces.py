"""Time detect_faces with and without reuse_source_faces on real/fake pairs of one footage.

    python bench/source_faces.py             # 4 pairs of 5-second 1080p clips, 32 frames each

Each fake is its real clip with the face self-blended (deepfake_dvc.blend), listed
in labels.csv with the real clip as its group, as DFDC's `original` does.
detect_faces runs twice in the same run, with reuse_source_faces false
(every video searched) and true (fakes cropped where their source's faces
are; their frames are decoded either way), and the ratio of the two times is
printed.
"""
import argparse
import math
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.preprocess import timed, working_dir  # noqa: E402
from deepfake_dvc.blend import random_blend, self_blend  # noqa: E402
from stages import detect_faces  # noqa: E402
from tests.synth import face_frame, write_video  # noqa: E402

CV_THREADS = cv2.getNumThreads()  # OpenCV's default in a fresh process


def make_pairs(folder, n, seconds=5, fps=30, width=1920, height=1080, face_height=250):
    """n real clips with a circling face, each with its self-blended fake, and labels.csv."""
    rows = []
    for i in range(n):
        shots = [face_frame(width, height, face_height,
                            (width // 2 + int(40 * math.cos(t / fps + i)),
                             height // 2 + int(20 * math.sin(t / fps + i))))
                 for t in range(seconds * fps)]
        blend = random_blend(np.random.default_rng(i))
        write_video(folder / f"real{i}.mp4", [frame for frame, _ in shots], fps=fps)
        write_video(folder / f"fake{i}.mp4", [self_blend(f, box, blend) for f, box in shots],
                    fps=fps)
        rows += [(f"real{i}.mp4", "real", ""), (f"fake{i}.mp4", "fake", f"real{i}.mp4")]
    pd.DataFrame(rows, columns=["path", "label", "group"]).to_csv(folder / "labels.csv",
                                                                  index=False)


def run_with_params(stage, params):
    """Run a stage's main with params.yaml holding params."""
    Path("params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    stage.main([])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--frames-per-video", type=int, default=32)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp, working_dir(tmp):
        make_pairs(Path(tmp) / "videos", args.pairs)
        params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
        params.update(data_dir="videos", frames_per_video=args.frames_per_video)
        times = {}
        for reuse in (False, True):
            cv2.setNumThreads(CV_THREADS)  # undo the stage's setting, as in its own process
            *times[reuse], _ = timed(run_with_params, detect_faces,
                                     dict(params, reuse_source_faces=reuse))
        boxes = [np.load(f"data/faces/{v}.npz")["boxes"] for v in ("real0", "fake0")]
    print(f"\n{args.pairs} real/fake pairs, 1080p, {args.frames_per_video} frames per video")
    print(f"{'detect_faces seconds':32}{'wall':>8}{'CPU':>8}")
    for reuse, label in ((False, "every video searched"), (True, "fakes on sources' faces")):
        print(f"{label:32}{times[reuse][0]:8.2f}{times[reuse][1]:8.2f}")
    print(f"searched / reused: wall {times[False][0] / times[True][0]:.2f}x, "
          f"CPU {times[False][1] / times[True][1]:.2f}x "
          f"(fakes' boxes equal their sources': {np.array_equal(*boxes)})")


if __name__ == "__main__":
    main()
