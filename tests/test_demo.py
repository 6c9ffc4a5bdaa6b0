"""make_demo: deterministic footage, fakes that differ only in the face, faces dlib finds."""
import cv2
import numpy as np
import pandas as pd

from deepfake_dvc.datasets import list_videos
from deepfake_dvc.demo import clip_frames
from deepfake_dvc.faces import FaceDetector
from deepfake_dvc.params import load_yaml
from tests.conftest import ROOT, run, set_params
from tests.synth import outside_box

DEFAULTS = load_yaml(ROOT / "params.yaml")


def demo_params(**changes):
    """params.yaml's make_demo keys, with some changed."""
    return {key: changes.get(key, value) for key, value in DEFAULTS.items()
            if key.startswith("demo_")}


def test_footage_is_deterministic_and_differs_per_clip_and_seed():
    params = demo_params(demo_frames=4)
    first, again = list(clip_frames(3, params)), list(clip_frames(3, params))
    for (real, fake, box), (real2, fake2, box2) in zip(first, again):
        assert np.array_equal(real, real2) and np.array_equal(fake, fake2) and box == box2
    assert first[0][0].shape == (DEFAULTS["demo_height"], DEFAULTS["demo_width"], 3)
    other_clip = next(clip_frames(4, params))[0]
    other_seed = next(clip_frames(3, demo_params(demo_frames=4, demo_seed=1)))[0]
    assert not np.array_equal(first[0][0], other_clip)
    assert not np.array_equal(first[0][0], other_seed)


def test_fake_differs_from_its_real_only_inside_the_face_box():
    for index in range(3):
        for real, fake, box in clip_frames(index, demo_params(demo_frames=3)):
            outside = outside_box(real.shape, box)
            assert np.array_equal(real[outside], fake[outside])
            inside = np.abs(real[~outside].astype(int) - fake[~outside])
            assert inside.mean() > 2, (index, inside.mean())


def test_every_default_clip_keeps_a_whole_face_of_detectable_size_in_frame():
    height, width = DEFAULTS["demo_height"], DEFAULTS["demo_width"]
    for index in range(DEFAULTS["demo_clips_per_class"]):
        # the camera path runs from its start to its end whatever the frame count
        for _, _, (left, top, right, bottom) in clip_frames(index, demo_params(demo_frames=3)):
            assert 0 <= left and right <= width and 0 <= top and bottom <= height, index
            assert 0.33 * height <= bottom - top <= 0.52 * height, index


def test_stage_writes_labelled_pairs_whose_faces_dlib_finds(project):
    set_params(project, demo_clips_per_class=4, demo_frames=10)
    run("python -m stages.make_demo", project)
    demo = project / "data" / "demo"
    videos = list_videos(demo)
    reals, fakes = videos[videos["label"] == "real"], videos[videos["label"] == "fake"]
    assert len(reals) == len(fakes) == 4
    assert (reals["group"] == reals["path"]).all()
    assert sorted(fakes["group"]) == sorted(reals["path"])
    assert not list(demo.rglob(".*.tmp*"))

    detector = FaceDetector(DEFAULTS["face_detector"], DEFAULTS["detect_max_side"],
                            DEFAULTS["small_faces"])
    found = []
    for path in videos["path"]:
        frames = decoded(demo / path)
        assert len(frames) == 10 and frames[0].shape == (360, 640, 3), path
        found += [bool(detector.detect(frame)) for frame in frames]
    assert np.mean(found) >= 0.9

    before = {p: p.read_bytes() for p in demo.rglob("*.mp4")}
    run("python -m stages.make_demo", project)
    assert all(p.read_bytes() == data for p, data in before.items())
    assert pd.read_csv(demo / "labels.csv").shape == (8, 3)


def decoded(path):
    """Every frame of a video."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while (frame := cap.read()[1]) is not None:
        frames.append(frame)
    cap.release()
    return frames


def test_help_and_a_bad_size_named(project):
    assert "usage" in run("python -m stages.make_demo --help", project).stdout
    set_params(project, demo_width=641)
    done = run("python -m stages.make_demo", project, check=False)
    assert done.returncode != 0 and "parameter 'demo_width' is 641" in done.stderr
