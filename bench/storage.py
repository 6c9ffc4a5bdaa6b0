"""Bytes per video of data/faces at the 2020 recipe's settings: face crops encoded (as
detect_faces stores them) against raw pixels (as they were stored before).

    python bench/storage.py [--clips 2] [--seconds 4] [--frames-per-video 32] [--face-size 299]

Writes 1080p face clips (bench/preprocess.py's) to a temporary folder, runs
detect_faces there with the 2020 recipe's 32 frames and
299 px crops, then saves each video's crops again as raw pixels beside them, in
the same run. Target: crops at least 5 times smaller than raw at quality 95.
"""
import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.preprocess import make_clips, ours, working_dir  # noqa: E402
from deepfake_dvc.crops_file import load_faces  # noqa: E402
from deepfake_dvc.paths import FACES_DIR  # noqa: E402


def raw_bytes(video_id):
    """The size of a video's crops file with its crops as raw pixels (np.savez)."""
    buffer = io.BytesIO()
    np.savez(buffer, **load_faces(video_id))
    return buffer.getbuffer().nbytes


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--frames-per-video", type=int, default=32)
    parser.add_argument("--face-size", type=int, default=299)
    args = parser.parse_args()

    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp, working_dir(tmp):
        make_clips(Path("clips"), args.clips, seconds=args.seconds)
        params.update(data_dir="clips", frames_per_video=args.frames_per_video,
                      face_size=args.face_size)
        ours(params)
        videos = sum(p.stat().st_size for p in Path("clips").rglob("*.mp4"))
        encoded = {p.stem: p.stat().st_size for p in FACES_DIR.glob("*.npz")}
        raw = {video_id: raw_bytes(video_id) for video_id in encoded}
    n = args.clips
    print(f"\n{n} clips of {args.seconds} s at 1080p, {args.frames_per_video} frames and "
          f"{args.face_size} px crops per video, {params['frame_format']} at "
          f"{params['jpeg_quality']}; bytes per video:")
    for name, size in [("videos", videos),
                       ("data/faces, crops encoded", sum(encoded.values())),
                       ("data/faces, crops raw (before)", sum(raw.values()))]:
        print(f"  {name:32}{size / n / 1e6:8.2f} MB")
    print(f"raw / encoded crops: {sum(raw.values()) / sum(encoded.values()):.1f}x (target >= 5)")


if __name__ == "__main__":
    main()
