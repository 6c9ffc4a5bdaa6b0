"""Is this video a deepfake? The trained model's verdict for each video given.

Uses exactly the frame sampling, face detection, cropping and preprocessing
that the model was trained with (models/preprocessing.json, written by train),
and the evaluate stage's video score (the mean of the frames' fake probabilities).
Exit status 0 when every video got a verdict (FAKE, REAL or UNKNOWN when no
face was found), 1 when any could not be read, 2 when the model, its
preprocessing.json, the threshold or --out cannot be used (before any video is read).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from stages.common import (
    MODEL,
    PREPROCESSING,
    ConfigError,
    SkipInput,
    new_figure,
    run_command,
    save_figure,
    slug,
)
from stages.faces import FaceDetector, faces_in_frames
from stages.params import PARAMS_FILE, Preprocessing, read_params
from stages.video import as_stored, read_sampled_frames


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m stages.check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="video files to check")
    parser.add_argument("--model", default=str(MODEL),
                        help=f"trained model (default {MODEL}); its preprocessing.json beside it")
    parser.add_argument("--threshold", type=probability, default=None,
                        help=f"FAKE when P(fake) >= this (default: 'threshold' in {PARAMS_FILE}, "
                             f"else 0.5)")
    parser.add_argument("--json", action="store_true", help="one JSON object per video")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="write an annotated frame and a P(fake) timeline PNG per video")
    return parser.parse_args(argv)


def probability(text):
    """argparse type: a number in [0, 1]."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not in [0, 1]")
    return value


def default_threshold():
    """params.yaml's threshold when run in the project, else 0.5."""
    if not Path(PARAMS_FILE).is_file():
        return 0.5
    return read_params(["threshold"])["threshold"]


def usable_out_dir(out):
    """Create --out (and its parents) or say why it cannot be: before the model loads."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"--out '{out}': a file is in the way; give a folder") from None
    except OSError as e:
        raise ConfigError(f"--out '{out}' cannot be created ({e.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError(f"--out '{out}' is not writable")


def model_files(model_path):
    """(model path, its preprocessing.json), both present, or ConfigError saying how to get them."""
    model_path = Path(model_path)
    for needed in (model_path, model_path.with_name(PREPROCESSING.name)):
        if not needed.is_file():
            raise ConfigError(f"'{needed}' not found: train a model with `dvc repro` "
                              f"(or pass --model PATH)")
    return model_path, model_path.with_name(PREPROCESSING.name)


class Checker:
    """The model and the preprocessing it was trained with, loaded once for many videos."""

    def __init__(self, model_path, threshold):
        model_path, preprocessing = model_files(model_path)
        self.prep = Preprocessing.load(preprocessing)  # validated before the slow model load
        from stages.model import load_classifier
        self.model = load_classifier(model_path)
        self.threshold = threshold
        self.detector = FaceDetector(self.prep.face_detector, self.prep.detect_max_side,
                                     self.prep.small_faces)

    def frames(self, path):
        """The sampled frames as training saw them (same sampling, size and compression)."""
        p = self.prep
        indices, frames, _ = read_sampled_frames(path, p.frames_per_video, p.frame_max_side)
        return indices, as_stored(frames, p.frame_format, p.jpeg_quality)

    def faces(self, indices, frames):
        p = self.prep
        return faces_in_frames(self.detector, indices, frames, p.face_margin, p.face_size,
                               p.faces_per_frame)

    def check(self, path):
        """The verdict for one video, with per-frame scores and where the time went."""
        from stages.model import fake_probabilities, video_probability
        clock = [time.perf_counter()]
        result = dict(video=str(path), verdict="ERROR", p_fake=None, frames_sampled=0,
                      faces_found=0, seconds=0.0)
        try:
            indices, frames = self.frames(path)
        except (SkipInput, cv2.error, OSError) as e:
            return dict(result, error=str(e), seconds=round(time.perf_counter() - clock[0], 3)), None
        clock.append(time.perf_counter())
        faces = self.faces(indices, frames)
        clock.append(time.perf_counter())
        p_frames = fake_probabilities(self.model, faces["crops"], self.prep.img_size)
        clock.append(time.perf_counter())
        result.update(frames_sampled=len(frames), faces_found=len(faces["crops"]),
                      frame_indices=faces["frame_indices"].tolist(),
                      frame_p_fake=[round(float(p), 6) for p in p_frames],
                      seconds=round(clock[-1] - clock[0], 3),
                      timing=dict(zip(("decode", "faces", "model"),
                                      np.round(np.diff(clock), 3).tolist())))
        if not len(p_frames):
            result.update(verdict="UNKNOWN", reason=f"no face found in {len(frames)} sampled frames")
        else:
            score = video_probability(p_frames)
            result.update(p_fake=round(score, 6),
                          verdict="FAKE" if score >= self.threshold else "REAL")
        return result, (indices, frames, faces)


def line(result):
    """The one-line human summary of a result."""
    if result["verdict"] == "ERROR":
        return f"error: {result['video']}: {result['error']}"
    score = "   -  " if result["p_fake"] is None else f"{result['p_fake']:.3f}"
    why = f"  ({result['reason']})" if "reason" in result else ""
    return (f"{result['verdict']:<7} p(fake)={score}  frames={result['frames_sampled']} "
            f"faces={result['faces_found']}  {result['seconds']:.1f}s  {result['video']}{why}")


def annotated_frame(result, indices, frames, faces, threshold):
    """The sampled frame with the most confident face, its box, verdict and probability drawn."""
    colour = {"FAKE": (0, 0, 255), "REAL": (0, 170, 0)}.get(result["verdict"], (0, 200, 255))
    if not len(faces["crops"]):
        frame = frames[len(frames) // 2].copy()
        text = f"UNKNOWN: {result['reason']}"
    else:
        k = int(np.argmax(np.abs(np.array(result["frame_p_fake"]) - threshold)))
        frame = frames[list(indices).index(faces["frame_indices"][k])].copy()
        left, top, right, bottom = (int(round(v)) for v in faces["boxes"][k])
        thick = max(2, frame.shape[0] // 240)
        cv2.rectangle(frame, (left, top), (right, bottom), colour, thick)
        text = f"{result['verdict']}  p(fake)={result['p_fake']:.2f}"
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.6, frame.shape[0] / 540)
    thick = max(1, round(2 * scale))
    (width, height), base = cv2.getTextSize(text, font, scale, thick)
    cv2.rectangle(frame, (0, 0), (width + 20, height + base + 20), (0, 0, 0), cv2.FILLED)
    cv2.putText(frame, text, (10, height + 10), font, scale, colour, thick, cv2.LINE_AA)
    return frame


def timeline(result, threshold, path):
    """A PNG of each sampled face's P(fake) against its frame index, with the threshold."""
    fig, ax = new_figure(7, 3)
    ax.plot(result.get("frame_indices", []), result.get("frame_p_fake", []), "o-", label="face")
    ax.axhline(threshold, color="red", linestyle="--", label=f"threshold {threshold:g}")
    ax.set(ylim=(-0.02, 1.02), xlabel="frame", ylabel="P(fake)",
           title=f"{Path(result['video']).name}: {result['verdict']}")
    ax.legend(loc="center right")
    save_figure(fig, path)


def write_pictures(result, sampled, out, threshold, name):
    """Annotated frame (name.verdict.jpg) and timeline (name.timeline.png) under out/."""
    picture = out / f"{name}.verdict.jpg"
    cv2.imwrite(str(picture), annotated_frame(result, *sampled, threshold))
    timeline(result, threshold, out / f"{name}.timeline.png")
    result["pictures"] = [str(picture), str(out / f"{name}.timeline.png")]


def unique_name(name, taken):
    """name, or name-2, name-3 ... if an earlier video of this call had it; noted in taken."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


def main(argv=None):
    args = parse_args(argv)
    threshold = default_threshold() if args.threshold is None else args.threshold
    if args.out:
        usable_out_dir(args.out)
    checker = Checker(args.model, threshold)
    failed, names = 0, set()
    for video in tqdm(args.videos, desc="check", unit="video", disable=len(args.videos) < 2,
                      file=sys.stderr):
        result, sampled = checker.check(video)
        if sampled is not None and args.out:
            name = unique_name(slug(Path(video).stem), names)
            write_pictures(result, sampled, args.out, threshold, name)
        failed += result["verdict"] == "ERROR"
        text = json.dumps(result) if args.json else line(result)
        tqdm.write(text, file=sys.stdout if result["verdict"] != "ERROR" or args.json else sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run_command(main))
