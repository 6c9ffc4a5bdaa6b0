"""What each perturbation costs per video, against plain decoding, to size a robustness grid.

    python bench/perturb.py                               # 4 generated 10-s 1080p clips
    python bench/perturb.py --data-dir ../shared/footage  # or a folder of real footage
    python bench/perturb.py --conditions deeperforensics --frames-per-video 32

In one run, for each video: the plain decoding of its sampled frames (what every stage
does), then for each condition the same frames under it (a frame condition: decoded and
changed; h264: the whole video re-encoded by x264, then decoded), one core. Prints the
seconds per video of each, its ratio to plain decoding, and what the grid would cost on
DFDC's public test set (5,000 videos) per core. Face detection, the same for all, is left out.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.preprocess import make_clips  # noqa: E402
from deepfake_dvc.perturbations import conditions  # noqa: E402
from deepfake_dvc.video import read_sampled_frames  # noqa: E402
from deepfake_dvc.video_files import video_entries  # noqa: E402

DEFAULT = ["h264:23", "h264:35", "h264:45", "downscale:0.5", "pixelate:4", "blur:2", "noise:10",
           "jpeg:40", "saturation:0.4", "contrast:0.5", "blockwise:16"]
DFDC_TEST_VIDEOS = 5_000


def seconds(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def perturbed_seconds(video, condition, frames, max_side):
    """Seconds to sample video's frames under condition (re-encoding included)."""
    from deepfake_dvc.perturbations import reencoded
    transform = condition.frame_transform(video.name)
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        path = video if transform else reencoded(video, condition, scratch)
        read_sampled_frames(path, frames, max_side, transform)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a folder of videos (default: generated)")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--frames-per-video", type=int, default=32)
    parser.add_argument("--frame-max-side", type=int, default=1920)
    parser.add_argument("--conditions", nargs="+", default=DEFAULT,
                        help="kind:level conditions or grid names")
    args = parser.parse_args()
    import cv2
    cv2.setNumThreads(1)  # one core, as a stage's worker
    folder = args.data_dir
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="bench_perturb_"))
        make_clips(folder, args.clips, seconds=args.seconds)
    videos = sorted(p for p in video_entries(folder) if p.is_file())
    chosen = [c for entry in args.conditions for c in conditions(entry)]

    def decode(video):
        return seconds(lambda: read_sampled_frames(video, args.frames_per_video,
                                                   args.frame_max_side))

    plain = statistics.mean(decode(v) for v in videos)
    print(f"{len(videos)} videos from {folder}, {args.frames_per_video} frames each; plain "
          f"decoding {plain:.3f} s a video\n")
    print("| condition | s / video | x plain decoding | DFDC test set, h / core |")
    print("| --- | --- | --- | --- |")
    total = 0.0
    for condition in chosen:
        each = statistics.mean(perturbed_seconds(v, condition, args.frames_per_video,
                                                 args.frame_max_side) for v in videos)
        total += each
        print(f"| {condition.name} | {each:.3f} | {each / plain:.2f} | "
              f"{each * DFDC_TEST_VIDEOS / 3600:.2f} |", flush=True)
    print(f"\nall {len(chosen)} conditions: {total:.2f} s a video, "
          f"{total * DFDC_TEST_VIDEOS / 3600:.1f} h per core for DFDC's {DFDC_TEST_VIDEOS} test "
          f"videos (before face detection)")


if __name__ == "__main__":
    main()
