"""Seconds per video for `check` at the 2020 recipe's settings (299 px, 32 frames).

    python bench/check.py                      # makes a 10-second 1080p clip first
    python bench/check.py --clip my_clip.mp4

Builds an untrained InceptionResNetV2 at 299 px (weights do not change the
speed), saves it with its preprocessing.json, and checks the clip with the real
check code, which reports decode, face detection and model time. In the same
run it times the bare `model.predict` on the same crops, and prints both
targets: everything outside inference <= 5 s per clip, and inference within
10 % of the bare predict rate.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.preprocess import make_clips  # noqa: E402


def recipe(img_size, frames):
    """The preprocessing train would save: params.yaml's settings at the recipe's sizes."""
    from stages.params import Preprocessing
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(frames_per_video=frames, face_size=img_size, img_size=img_size)
    return Preprocessing(**{key: params[key] for key in Preprocessing.__dataclass_fields__})


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", help="a video to check (default: a generated 10 s 1080p clip)")
    parser.add_argument("--img-size", type=int, default=299)
    parser.add_argument("--frames", type=int, default=32)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_check_"))
    if args.clip is None:
        make_clips(work / "clips", 1)
        args.clip = str(work / "clips" / "real" / "clip00.mp4")

    from stages.check import Checker
    from stages.model import build_model, prepare_images, save_model
    save_model(build_model(args.img_size), work / "model.keras")
    recipe(args.img_size, args.frames).save(work / "preprocessing.json")

    start = time.perf_counter()
    checker = Checker(work / "model.keras", threshold=0.5)
    checker.check(args.clip)  # warm-up: builds the predict function once
    load = time.perf_counter() - start

    result, (_, _, faces) = checker.check(args.clip)
    timing = result["timing"]
    start = time.perf_counter()
    checker.model.predict(prepare_images(faces["crops"], args.img_size), batch_size=32, verbose=0)
    bare = time.perf_counter() - start

    crops = len(faces["crops"])
    outside = result["seconds"] - timing["model"]
    print(f"clip {args.clip}: {result['frames_sampled']} frames sampled, {crops} faces, "
          f"{args.img_size} px")
    print(f"model load + first call      {load:7.2f} s (once per check command)")
    print(f"decode (sample + JPEG trip)  {timing['decode']:7.2f} s")
    print(f"face detection + crops       {timing['faces']:7.2f} s")
    print(f"model inference              {timing['model']:7.2f} s  ({crops / timing['model']:.2f} images/s)")
    print(f"bare model.predict           {bare:7.2f} s  ({crops / bare:.2f} images/s)")
    print(f"total per video              {result['seconds']:7.2f} s")
    print(f"outside inference: {outside:.2f} s (target <= 5 s)")
    print(f"inference / bare predict: {timing['model'] / bare:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()
