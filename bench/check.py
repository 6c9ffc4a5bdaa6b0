"""Seconds per video for `check` at the 2020 recipe's settings (299 px, 32 frames).

    python bench/check.py                      # makes a 10-second 1080p clip first
    python bench/check.py --clip my_clip.mp4

Builds an untrained InceptionResNetV2 at 299 px (weights do not change the
speed), saves it with its preprocessing.json, and checks the clip with the real
check code, which reports decode, face detection and model time. In the same
run it times the bare `model.predict` on the same crops, what the model card
costs (loading it once; calibration and verdict per video), and the Grad-CAM
picture that --out adds. Targets: everything outside inference <= 5 s per
clip, inference within 10 % of the bare predict rate, calibration and verdict
under 1 % of inference.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from bench.preprocess import make_clips  # noqa: E402


def recipe(img_size, frames):
    """The preprocessing train would save: params.yaml's settings at the recipe's sizes."""
    from deepfake_dvc.params import Preprocessing
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(frames_per_video=frames, face_size=img_size, img_size=img_size)
    return Preprocessing(**{key: params[key] for key in Preprocessing.__dataclass_fields__})


def demo_card(path, model, preprocessing):
    """A model card as evaluate writes it (a demo model's, temperature 1.7) for a model."""
    from deepfake_dvc.calibration import Decision, write_card
    per_class = dict(real=12, fake=12)
    training = dict(data=dict(data_dir="data/demo", demo=True,
                              videos=dict(train=per_class, val=per_class, test=per_class),
                              synthesized_fakes=dict(train=0, val=0, test=0)))
    write_card(path, model, preprocessing, training,
               Decision(1.7, 0.5, "set in params.yaml", 0.15, 3, "mean"), calibration={}, test={})


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

    from deepfake_dvc.calibration import calibrate, load_card, video_probability
    from deepfake_dvc.inference import Checker
    from deepfake_dvc.model import build_model, save_model
    save_model(build_model(args.img_size), work / "model.keras")
    recipe(args.img_size, args.frames).save(work / "preprocessing.json")
    files = (work / "model.keras", work / "preprocessing.json")
    demo_card(work / "card.json", *files)

    start = time.perf_counter()
    checker = Checker(work / "model.keras")
    checker.check(args.clip)  # warm-up: builds the predict function once
    load = time.perf_counter() - start
    start = time.perf_counter()
    decision, _ = load_card(work / "card.json", *files)
    card_load = time.perf_counter() - start

    result = checker.check(args.clip)
    timing, faces = result.timing, result.sampled.faces
    start = time.perf_counter()
    p_raw = checker.model.predict(faces["crops"].astype(np.float32), batch_size=32,
                                  verbose=0)[:, 1]
    bare = time.perf_counter() - start

    start, repeats = time.perf_counter(), 1000
    for _ in range(repeats):
        decision.verdict(video_probability(calibrate(p_raw, decision.temperature)), len(p_raw))
    verdict_cost = (time.perf_counter() - start) / repeats
    crop = faces["crops"][0]
    gradcam = []
    for _ in range(2):  # the first call traces the gradient function
        start = time.perf_counter()
        checker.explain(crop)
        gradcam.append(time.perf_counter() - start)

    crops = len(faces["crops"])
    outside = result.seconds - timing["model"]
    print(f"clip {args.clip}: {result.frames_sampled} frames sampled, {crops} faces, "
          f"{args.img_size} px")
    print(f"model load + first call      {load:7.2f} s (once per check command)")
    print(f"decode (sampled frames)      {timing['decode']:7.2f} s")
    print(f"face detection + crops       {timing['faces']:7.2f} s")
    print(f"model inference              {timing['model']:7.2f} s  ({crops / timing['model']:.2f} images/s)")
    print(f"bare model.predict           {bare:7.2f} s  ({crops / bare:.2f} images/s)")
    print(f"total per video              {result.seconds:7.2f} s")
    print(f"card load                    {card_load * 1000:7.2f} ms (once per check command)")
    print(f"calibration + verdict        {verdict_cost * 1000:7.3f} ms per video")
    print(f"Grad-CAM with --out          {gradcam[0]:7.2f} s first video, {gradcam[1]:.2f} s after")
    print(f"outside inference: {outside:.2f} s (target <= 5 s)")
    print(f"inference / bare predict: {timing['model'] / bare:.3f} (target <= 1.10)")
    print(f"calibration + verdict / inference: {100 * verdict_cost / timing['model']:.4f} % "
          f"(target < 1 %)")


if __name__ == "__main__":
    main()
