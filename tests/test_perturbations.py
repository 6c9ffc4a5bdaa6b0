"""Perturbations: each condition damages a video as a re-upload would, measured; bad
conditions are one line naming them; a video a condition cannot be applied to is a row."""
import cv2
import numpy as np
import pytest
import yaml

from deepfake_dvc.errors import ConfigError
from deepfake_dvc.perturbed_data import crop_perturbed_set
from deepfake_dvc.params import validated
from deepfake_dvc.paths import robust_folder
from deepfake_dvc.perturbations import GRIDS, KINDS, conditions, parse, reencoded
from deepfake_dvc.status import NO_FACE, OK
from deepfake_dvc.tables import read_table
from deepfake_dvc.video import read_sampled_frames
from tests.conftest import ROOT
from tests.synth import face_frame, face_video

DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())
FRAME = face_frame(320, 240, face_height=120)[0]
# kind: levels from mild to harsh
LEVELS = {"blur": [0.5, 2, 6], "noise": [2, 10, 40], "jpeg": [90, 40, 5], "pixelate": [1.5, 3, 8],
          "saturation": [0.8, 0.4, 0.0], "contrast": [0.9, 0.6, 0.3], "blockwise": [50, 200, 800]}


def psnr(a, b):
    return cv2.PSNR(a, cv2.resize(b, a.shape[1::-1]) if a.shape != b.shape else b)


def changed(name, frame=FRAME, index=0, video="clip.mp4"):
    return parse(name).frame_transform(video)(frame, index)


@pytest.mark.parametrize("kind", sorted(LEVELS))
def test_each_frame_condition_damages_more_as_its_level_rises(kind):
    scores = [psnr(FRAME, changed(f"{kind}:{level}")) for level in LEVELS[kind]]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 3, scores
    assert scores[0] < 100  # even the mildest changes the frame


def test_every_registered_frame_kind_is_measured():
    assert set(LEVELS) | {"h264", "downscale"} == set(KINDS)


def test_downscale_shrinks_the_frame_and_keeps_it_small():
    assert changed("downscale:0.5").shape == (120, 160, 3)
    assert changed("downscale:0.25").shape == (60, 80, 3)


def test_random_conditions_are_the_same_run_after_run_and_differ_by_frame_and_video():
    for name in ("noise:10", "blockwise:100"):
        same = changed(name, index=3)
        assert np.array_equal(same, changed(name, index=3))
        assert not np.array_equal(same, changed(name, index=4))
        assert not np.array_equal(same, changed(name, index=3, video="other.mp4"))


def test_h264_reencodes_every_frame_at_the_size_and_the_crf_sets_the_damage(tmp_path):
    video = face_video(tmp_path / "clip.avi", n_frames=20, width=322, height=242, fourcc="MJPG")
    _, clean, info = read_sampled_frames(video, 20, 1920)
    damage = []
    for crf in (18, 45):
        scratch = tmp_path / str(crf)
        scratch.mkdir()
        out = reencoded(video, parse(f"h264:{crf}"), scratch)
        cap = cv2.VideoCapture(str(out))
        assert cap.get(cv2.CAP_PROP_FOURCC) == cv2.VideoWriter_fourcc(*"h264")
        _, frames, got = read_sampled_frames(out, 20, 1920)
        assert got["frame_count"] == info["frame_count"] == 20
        assert frames[0].shape == (242, 322, 3)  # even sizes, as H.264 needs: the same here
        damage.append(np.mean([psnr(a, b) for a, b in zip(clean, frames)]))
    assert damage[0] > damage[1] + 5, damage


def test_the_deeperforensics_grid_is_seven_kinds_at_five_levels():
    grid = conditions("deeperforensics")
    assert len(grid) == 35 == len(GRIDS["deeperforensics"])
    assert len({c.kind for c in grid}) == 7 and "h264:40" in {c.name for c in grid}


@pytest.mark.parametrize("entries,words", [
    (["sharpen:2"], "'sharpen:2': unknown kind 'sharpen' (kinds: h264, downscale"),
    (["blur:99"], "'blur:99': blur's level is the Gaussian's sigma in pixels: use a number in "
                  "(0, 20]"),
    (["h264"], "'h264': h264's level is x264's constant rate factor"),
    (["h264:fast"], "use an integer in 0..51"),
    (["blur:2", "blur:2"], "use a list of distinct kind:level conditions"),
    ("blur:2", "use a list of distinct kind:level conditions"),
])
def test_a_bad_condition_is_one_line_naming_it_and_its_range(entries, words):
    with pytest.raises(ConfigError) as caught:
        validated(dict(perturbations=entries), ["perturbations"], "params.yaml")
    message = str(caught.value)
    assert message.startswith("parameter 'perturbations' is ") and words in message, message
    assert "\n" not in message


def test_a_video_a_condition_cannot_be_applied_to_is_a_row_and_the_others_go_on(tmp_path,
                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    face_video(tmp_path / "videos" / "good.mp4", n_frames=6)
    (tmp_path / "videos" / "broken.mp4").write_bytes(b"not a video at all")
    face_frame_only = face_frame(320, 240)[0]  # a readable video without a face
    from tests.synth import write_video
    write_video(tmp_path / "videos" / "empty.mp4", [face_frame_only] * 6)
    rows = [dict(id=name, path=f"{name}.mp4", label="real", status=OK)
            for name in ("good", "broken", "empty")]
    settings = {k: DEFAULTS[k] for k in ("frames_per_video", "frame_max_side", "frame_format",
                                         "jpeg_quality", "face_detector", "detect_max_side",
                                         "small_faces", "face_align", "face_margin",
                                         "face_size", "faces_per_frame")}
    crop_perturbed_set("test", "h264:30", tmp_path / "videos", rows, settings, workers=1)
    table = read_table(robust_folder("test", "h264:30", "h264:30") / "faces.csv")
    status = dict(zip(table["id"], table["status"]))
    assert status["good"] == OK and status["empty"] == NO_FACE
    assert status["broken"].startswith("error: h264:30: ffmpeg could not re-encode it")
    assert sorted(p.name for p in robust_folder("test", "h264:30", "h264:30").iterdir()) == [
        "faces.csv", "good.npz"]


def test_the_re_upload_augmentations_change_crops_the_same_way_for_a_seed():
    import tensorflow as tf

    from deepfake_dvc.training import augmenter
    crop = tf.constant(cv2.resize(FRAME[40:200, 80:240], (96, 96)))
    for option in ("blur", "noise", "downscale", "blocking"):
        augment = augmenter(False, 0, 0, 0, **{option: {"downscale": 0.3}.get(option, 0.9
                                                       if option == "blocking" else 4)})
        once, again = (augment(crop, tf.constant([7, 1], tf.int64)).numpy() for _ in range(2))
        other = augment(crop, tf.constant([7, 2], tf.int64)).numpy()
        assert once.shape == (96, 96, 3) and once.dtype == np.uint8
        assert np.array_equal(once, again) and not np.array_equal(once, other), option
        assert psnr(crop.numpy(), once) < 60, option
    assert augmenter(False, 0, 0, 0, blur=0, noise=0, downscale=0, blocking=0) is None
