"""Time detect_faces against the naive approach and the decode floor.

    python bench/preprocess.py --make-clips 4 bench/clips   # write 4 test clips first
    python bench/preprocess.py bench/clips
    python bench/preprocess.py ../shared/footage/clips      # real footage, if you have it
    python bench/preprocess.py --detectors                  # the face detectors compared

DIR is a data_dir (real/ and fake/ subfolders, labels.csv or metadata.json).
Three ways of getting face boxes from the same videos, timed in one run:

  naive   every frame read with cap.read(), dlib's HOG on each sampled frame at
          full resolution, one video after another;
  ours    the real stage, `python -m stages.detect_faces` (sampled frames decoded,
          faces found and cropped in memory), run in a temporary working directory
          with params.yaml's defaults and workers;
  floor   every frame grabbed with cap.grab(), nothing else (decoding alone).

It also times our detector alone on the same sampled frames, to compare ours
with floor + detection (what is left is cropping, storing, overhead), and
MTCNN alone on the same frames: frames with a face found, and kept (linked into
tracks, the faces_per_frame people seen most), for naive (no tracks: found),
ours and MTCNN. --set KEY=VALUE changes a params.yaml value for ours.

--detectors compares the face detectors (hog, hog+mtcnn, mtcnn; each at
detect_max_side 640 with small_faces) on generated 1080p footage that real
datasets have: a dim room, a 40 px face in a wide shot, two people, and the
ordinary clip, each kind's frames searched as one video's: frames with a face,
and seconds per frame (after a warm-up, so the models' loading is not counted).
Times are wall clock and CPU (this process plus its worker processes); on a
shared machine the CPU figures are the steadier ones. Only ours runs in
parallel, so its wall-clock ratios depend on how many cores are free.
"""
import argparse
import contextlib
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import dlib
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deepfake_dvc.datasets import list_videos  # noqa: E402
from deepfake_dvc.faces import FaceDetector, kept_people  # noqa: E402
from deepfake_dvc.parallel import worker_count  # noqa: E402
from deepfake_dvc.paths import FACES_TABLE  # noqa: E402
from deepfake_dvc.video import read_sampled_frames, sample_indices  # noqa: E402
from tests.synth import dim_room, face_frame, paste_face, write_video  # noqa: E402


def make_clips(folder, n, seconds=10, fps=30, width=1920, height=1080, face_height=250):
    """Write n clips with a slowly circling face into folder/real and folder/fake."""
    for i in range(n):
        frames = [face_frame(width, height, face_height,
                             (width // 2 + int(40 * math.cos(t / fps + i)),
                              height // 2 + int(20 * math.sin(t / fps + i))))[0]
                  for t in range(seconds * fps)]
        label = ("real", "fake")[i % 2]
        path = write_video(Path(folder) / label / f"clip{i:02d}.mp4", frames, fps=fps)
        print(f"wrote {path}", file=sys.stderr)


def cpu_seconds():
    """CPU time used so far by this process and its finished child processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(func, *args, **kwargs):
    """(wall seconds, CPU seconds, result) of func(*args, **kwargs)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = func(*args, **kwargs)
    return time.perf_counter() - wall, cpu_seconds() - cpu, result


def decode_floor(paths):
    """Grab every frame of every video; return the number of frames."""
    total = 0
    for path in paths:
        cap = cv2.VideoCapture(str(path))
        while cap.grab():
            total += 1
        cap.release()
    return total


def naive(paths, k):
    """Read every frame, run dlib's HOG at full size on k evenly spread ones.

    Returns how many of those frames had a face.
    """
    detector = dlib.get_frontal_face_detector()
    found = 0
    for path in paths:
        cap = cv2.VideoCapture(str(path))
        wanted = set(sample_indices(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), k))
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if i in wanted:
                found += bool(detector(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), 0))
            i += 1
        cap.release()
    return found


def ours(params):
    """Run detect_faces as the pipeline does (`python -m stages.detect_faces`, a process of
    its own) in the current directory; return (wall, CPU seconds)."""
    Path("params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return timed(subprocess.run, [sys.executable, "-m", "stages.detect_faces"],
                 env=env, check=True)[:2]


def kept_frames():
    """Frames where detect_faces kept a face, from data/faces.csv."""
    table = pd.read_csv(FACES_TABLE)
    return int((table["frames"] - table["frames_without_face"]).sum())


def sampled_videos(paths, k, max_side):
    """The frames detect_faces searches, one list per video."""
    return [read_sampled_frames(path, k, max_side)[1] for path in paths]


def detection_only(videos, kind, max_side, small_faces, max_tracks):
    """Time a detector over the sampled frames, one video's frames at a time, after
    loading its models, and keep the people seen most.

    Returns ((wall, CPU seconds), frames with a face found, frames with a face kept).
    """
    detector = FaceDetector(kind, max_side, small_faces).load()

    def run():
        found = [detector.detect_frames(frames) for frames in videos]
        kept = [kept_people(detector, range(len(frames)), frames, faces, max_tracks)
                for faces, frames in zip(found, videos)]
        return (sum(bool(faces) for video in found for faces in video),
                sum(len(faces) - int(k["frames_without_face"]) for faces, k in zip(found, kept)))

    wall, cpu, (with_face, kept) = timed(run)
    return (wall, cpu), with_face, kept


def hard_footage(n, width=1920, height=1080):
    """{kind: n JPEG-stored BGR frames}: a dim room, a 40 px face, two people, ordinary."""
    def shot(i, face_height, x=0.5, y=0.5):
        return face_frame(width, height, face_height,
                          (int(width * x) + 12 * i, int(height * y) + 5 * i))[0]

    def two(i):
        frame = shot(i, 330, 0.3)
        paste_face(frame, 280, (int(width * 0.72) - 12 * i, height // 2))
        return frame

    footage = {"dim room": [dim_room(shot(i, 330 + 5 * i), 330, seed=i) for i in range(n)],
               "40 px face": [shot(i, 40, 0.25, 0.7) for i in range(n)],
               "two people": [two(i) for i in range(n)],
               "ordinary": [shot(i, 330 + 5 * i) for i in range(n)]}
    stored = lambda f: cv2.imdecode(cv2.imencode(".jpg", f)[1], cv2.IMREAD_COLOR)  # noqa: E731
    return {kind: [stored(f) for f in frames] for kind, frames in footage.items()}


def compare_detectors(n):
    """Time hog, hog+mtcnn and mtcnn on hard_footage(n) and print the table."""
    footage = hard_footage(n)
    kinds = ("hog", "hog+mtcnn", "mtcnn")
    print(f"{n} 1080p frames of each kind; detect_max_side 640, small_faces true; "
          "frames with a face (faces), seconds per frame")
    print(f"{'footage':12}" + "".join(f"{k:>22}" for k in kinds))
    totals = {k: [0, 0, 0.0] for k in kinds}
    rows = {name: [] for name in footage}
    for kind in kinds:
        detector = FaceDetector(kind, 640, small_faces=True)
        detector.detect(footage["dim room"][0])  # warm-up: builds every model it will need
        for name, frames in footage.items():  # each kind's frames: one video's
            wall, _, found = timed(lambda: list(map(len, detector.detect_frames(frames))))
            with_face, faces = sum(map(bool, found)), sum(found)
            rows[name].append(f"{with_face}/{n} ({faces}) {wall / n:7.3f} s")
            for k, v in enumerate((with_face, faces, wall)):
                totals[kind][k] += v
    for name, cells in rows.items():
        print(f"{name:12}" + "".join(f"{c:>22}" for c in cells))
    print(f"{'all':12}" + "".join(f"{t[0]}/{4 * n} ({t[1]}) {t[2] / (4 * n):7.3f} s"
                                 .rjust(22) for t in totals.values()))
    cascade, mtcnn = totals["hog+mtcnn"], totals["mtcnn"]
    print(f"hog+mtcnn / mtcnn: frames with a face {cascade[0]}/{mtcnn[0]} (target >= 1), "
          f"time {cascade[2] / mtcnn[2]:.2f} (target <= 0.5)")


@contextlib.contextmanager
def working_dir(path):
    """chdir into path for the duration, then back."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path, nargs="?", help="folder of videos (a valid data_dir)")
    parser.add_argument("--frames-per-video", type=int, default=32, help="default: 32")
    parser.add_argument("--workers", type=int, default=0,
                        help="processes for our stages; default 0 = all cores")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a params.yaml value for ours, e.g. --set face_detector=hog")
    parser.add_argument("--make-clips", type=int, metavar="N",
                        help="write N 10 s 1080p 30 fps face clips into DIR, then exit")
    parser.add_argument("--detectors", type=int, nargs="?", const=8, metavar="N",
                        help="compare the face detectors on N generated frames of each "
                             "kind (default 8), then exit")
    args = parser.parse_args(argv)
    if args.detectors:
        return compare_detectors(args.detectors)
    if args.dir is None:
        parser.error("give DIR, or --detectors")
    if args.make_clips:
        return make_clips(args.dir, args.make_clips)

    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params.update(data_dir=str(args.dir.resolve()), frames_per_video=args.frames_per_video,
                  workers=args.workers)
    for setting in args.set:
        key, _, value = setting.partition("=")
        params[key] = yaml.safe_load(value)
    paths = [args.dir / p for p in list_videos(args.dir)["path"]]
    n, k = len(paths), args.frames_per_video

    *t_floor, frames = timed(decode_floor, paths)
    *t_naive, naive_faces = timed(naive, paths, k)
    with tempfile.TemporaryDirectory() as tmp, working_dir(tmp):
        t_ours = ours(params)
        our_kept = kept_frames()
        videos = sampled_videos(paths, k, params["frame_max_side"])
        detector = (params["face_detector"], params["detect_max_side"], params["small_faces"],
                    params["faces_per_frame"])
        t_detect, our_faces, _ = detection_only(videos, *detector)
        t_mtcnn, mtcnn_faces, mtcnn_kept = detection_only(videos, "mtcnn", *detector[1:])
    report(dict(params=params, n=n, k=k, frames=frames, sampled=sum(map(len, videos)),
                t_naive=t_naive, t_ours=t_ours,
                t_floor=t_floor, t_detect=t_detect, t_mtcnn=t_mtcnn,
                t_base=[a + b for a, b in zip(t_floor, t_detect)], naive_faces=naive_faces,
                our_faces=our_faces, our_kept=our_kept, mtcnn_faces=mtcnn_faces,
                mtcnn_kept=mtcnn_kept))


def report(m):
    """Print main's measurements m."""
    p, n = m["params"], m["n"]
    print(f"\n{n} videos, {m['frames']} frames, {m['k']} sampled per video ({m['sampled']} "
          f"in all); ours: {worker_count(p['workers'])} workers, {p['face_detector']} at "
          f"detect_max_side {p['detect_max_side']}, small_faces {p['small_faces']}")
    print(f"{'seconds':30}{'wall':>8}{'per video':>11}{'CPU':>8}{'per video':>11}")
    rows = [("naive (read + HOG full)", m["t_naive"]), ("ours (detect_faces)", m["t_ours"]),
            ("decode floor (grab)", m["t_floor"]), ("our detection alone", m["t_detect"]),
            ("floor + our detection", m["t_base"]), ("MTCNN alone (detection)", m["t_mtcnn"])]
    for name, (wall, cpu) in rows:
        print(f"{name:30}{wall:8.2f}{wall / n:11.2f}{cpu:8.2f}{cpu / n:11.2f}")
    sampled = m["sampled"]
    print(f"frames with a face of {sampled}: naive (found) {m['naive_faces']}, "
          f"ours found {m['our_faces']} kept {m['our_kept']} ({m['our_kept'] / sampled:.3f}), "
          f"MTCNN alone found {m['mtcnn_faces']} kept {m['mtcnn_kept']}")
    print(f"{'ratios':30}{'wall':>8}{'CPU':>19}")
    for name, a, b, target in [("naive / ours", m["t_naive"], m["t_ours"], ">= 5"),
                               ("ours / (floor + detection)", m["t_ours"], m["t_base"], "<= 1.2")]:
        print(f"{name:30}{a[0] / b[0]:8.2f}{a[1] / b[1]:19.2f}   target {target} (wall)")


if __name__ == "__main__":
    main()
