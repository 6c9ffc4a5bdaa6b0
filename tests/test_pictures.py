"""check --out's pictures: each says what the model is worth, and what it shows.

The texts are laid out by pure functions tested here without drawing; one
test draws the three pictures of a demo-card result with a stand-in for the
model (a synthetic Grad-CAM heat), so no TensorFlow is imported.
"""
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_dvc import pictures
from deepfake_dvc.calibration import UNCALIBRATED, Decision, scope
from deepfake_dvc.check import line
from deepfake_dvc.demo import FACE_PHOTO, PHOTO_FACE_BOX
from deepfake_dvc.inference import Result, Sampled, model_scope
from tests.test_calibration import training

DECISION = Decision(temperature=1.5, threshold=0.5, threshold_rule="set in params.yaml",
                    uncertain_margin=0.15, min_faces=3, video_score="mean")
CARDS = {  # a model's scope as check derives it: demo card, limited cards, no card, a full card
    "demo": (training(demo=True, real=6, fake=6), "DEMO MODEL - NOT EVIDENCE"),
    "few videos": (training(real=40), "NOT EVIDENCE: the model has seen fewer than 100 videos"),
    "self-blended": (training(synthesized=200),
                     "NOT EVIDENCE: the model has seen no real deepfake, only self-blended"),
    "no card": (None, "NO MODEL CARD - NOT EVIDENCE"),
}


def model(kind):
    """The scope check's results carry for a kind of card (a key of CARDS, or 'full')."""
    record = training() if kind == "full" else CARDS[kind][0]
    found = None if record is None else scope(record)
    return model_scope(Path("m/card.json"), DECISION if found else UNCALIBRATED, found)


def result(video="clip.mp4", verdict="FAKE", p_fake=0.912, sampled=(0, 5, 10, 15),
           faces=(0, 5, 15), kind="demo"):
    """A result as Checker.check makes it: one person, faces at some of the sampled frames."""
    p = np.linspace(0.8, 0.99, len(faces)).round(6).tolist()
    found = Result(video=video, verdict=verdict, p_fake=p_fake, p_fake_raw=p_fake,
                   frames_sampled=len(sampled), faces_found=len(faces), seconds=1.5,
                   frame_indices=list(faces), frame_tracks=[0] * len(faces), frame_p_fake=p,
                   tracks=[dict(track=0, faces=len(faces), p_fake=p_fake)] if faces else [],
                   timing=dict(decode=0.5, faces=0.5, model=0.5), model=model(kind))
    if not faces:
        found.p_fake = found.p_fake_raw = None
        found.reason = f"no face found in {len(sampled)} sampled frames"
    return found


def frame_with_face(width=320, height=240, shade=90):
    """(BGR frame, RGB face crop of 96 px, its box) of the project's test photo."""
    photo = cv2.imread(str(FACE_PHOTO))
    left, top, right, bottom = PHOTO_FACE_BOX
    crop = cv2.cvtColor(cv2.resize(photo[top:bottom, left:right], (96, 96)), cv2.COLOR_BGR2RGB)
    frame = np.full((height, width, 3), shade, np.uint8)
    side = min(width, height) // 2
    x, y = (width - side) // 2, (height - side) // 2
    frame[y:y + side, x:x + side] = cv2.resize(photo[top:bottom, left:right], (side, side))
    return frame, crop, (x, y, x + side, y + side)


def sampled(found, width=320, height=240, crop=None):
    """found, with the sampled frames and faces Checker.check gives a result."""
    frame, face, box = frame_with_face(width, height)
    crop = face if crop is None else crop
    indices = np.array([0, 5, 10, 15])
    n = len(found.frame_indices)
    faces = dict(crops=[crop] * n, frame_indices=np.array(found.frame_indices, int),
                 tracks=np.zeros(n, int), boxes=np.array([box] * n, float))
    found.sampled = Sampled(indices, [frame.copy() for _ in indices], faces)
    return found


class StandIn:
    """What write_pictures needs of a Checker, with a synthetic Grad-CAM heat."""

    def __init__(self, scope, decision=DECISION):
        self.scope, self.decision = scope, decision

    def explain(self, crop):
        yy, xx = np.mgrid[:crop.shape[0], :crop.shape[1]] / crop.shape[0]
        return np.exp(-((xx - 0.6) ** 2 + (yy - 0.4) ** 2) / 0.05), "stand_in_layer"


# ---- the texts ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(CARDS))
def test_a_card_that_warns_puts_its_mark_in_every_pictures_banner(kind):
    found = model(kind)
    texts = pictures.picture_texts(result(kind=kind), found, DECISION)
    assert found["mark"] in ("demo model", "not evidence", "no model card")
    assert found["mark"].upper() in texts["banner"]
    assert texts["banner"].startswith(CARDS[kind][1])


def test_a_card_without_a_warning_has_no_banner_but_says_its_threshold_and_data():
    found = model("full")
    assert found["mark"] is None
    texts = pictures.picture_texts(result(kind="full"), found, DECISION)
    assert texts["banner"] is None
    assert "threshold 0.5 (set in params.yaml)" in texts["model"]
    assert "trained on 200 real and 200 fake" in texts["model"]


def test_an_unexpected_warning_still_says_not_evidence():
    found = dict(model("few videos"), warning="Reworded by a later version.")
    assert pictures.banner(found) == "NOT EVIDENCE: see the model card's warning"


def test_a_long_file_name_is_shortened_in_the_middle_and_the_verdict_always_shows():
    name = "interview_" + "x" * 180 + "_final_cut.mp4"
    assert len(name) > 190
    texts = pictures.picture_texts(result(video=f"/videos/{name}"), model("demo"), DECISION)
    title = texts["title"]
    assert title.endswith(": FAKE  p(fake)=0.912") and len(title) <= pictures.TITLE_WIDTH
    assert title.startswith("interview_xx") and "_final_cut.mp4: FAKE" in title
    assert pictures.ELLIPSIS in title
    assert pictures.picture_texts(result(), model("demo"), DECISION)["title"] == \
        "clip.mp4: FAKE  p(fake)=0.912"


@pytest.mark.parametrize("name,width,expected", [
    ("short.mp4", 20, "short.mp4"), ("abcdefghij", 5, "ab\u2026ij"),
    ("abcdefghij", 6, "abc\u2026ij"), ("abcdefghij", 0, "a\u2026j")])
def test_shortened_keeps_both_ends_within_the_width(name, width, expected):
    assert pictures.shortened(name, width) == expected


def test_an_unknown_verdict_says_why_instead_of_a_probability():
    texts = pictures.picture_texts(result(verdict="UNKNOWN", faces=()), model("demo"), DECISION)
    assert texts["verdict"] == "UNKNOWN: no face found in 4 sampled frames"
    assert texts["title"] == "clip.mp4: UNKNOWN: no face found in 4 sampled frames"


@pytest.mark.parametrize("threshold,margin,band", [(0.5, 0.15, (0.35, 0.65)),
                                                   (0.9, 0.15, (0.75, 1.0)),
                                                   (0.05, 0.1, (0.0, 0.15))])
def test_the_uncertain_band_is_the_threshold_plus_or_minus_the_margin(threshold, margin, band):
    decision = Decision(1.0, threshold, "x", margin, 1, "mean")
    assert pictures.uncertain_band(decision) == pytest.approx(band)
    texts = pictures.picture_texts(result(), model("demo"), decision)
    assert texts["band"] == f"UNCERTAIN {band[0]:.2f}-{band[1]:.2f}"


def test_the_sampled_frames_without_a_face_are_marked():
    assert pictures.no_face_frames(result(faces=(0, 5, 15)), [0, 5, 10, 15]) == [10]
    assert pictures.no_face_frames(result(verdict="UNKNOWN", faces=()), [0, 5]) == [0, 5]


@pytest.mark.parametrize("mean,std,words", [
    (30, 20, "too dark"), (39, 20, "too dark"), (41, 20, None), (120, 3, "too flat"),
    (120, 30, None)])
def test_a_crop_too_dark_or_flat_is_said_to_be_unreadable(mean, std, words):
    rng = np.random.default_rng(0)
    grey = np.clip(rng.normal(0, 1, (96, 96)), -2, 2)
    grey = mean + (grey - grey.mean()) * std / grey.std()
    crop = np.repeat(np.clip(grey, 0, 255).round().astype(np.uint8)[..., None], 3, axis=2)
    why = pictures.unreadable(crop)
    assert (why is None) if words is None else (words in why and "read the map reliably" in why)


def test_the_photo_face_is_readable_and_its_dim_room_version_is_not():
    _, crop, _ = frame_with_face()
    assert pictures.unreadable(crop) is None
    assert "too dark" in pictures.unreadable((crop * 0.12).astype(np.uint8))


@pytest.mark.parametrize("width", [160, 320, 1920])
def test_a_long_text_is_shrunk_or_wrapped_to_the_width(width):
    text = "UNCERTAIN  p(fake)=0.497  (only 2 face(s) found; the card asks for 3)"
    lines, scale, thick = pictures.fitted(text, width, 1.0)
    assert " ".join(lines).split() == text.split()  # every word, none cut
    assert all(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0][0] <= width
               for t in lines)
    assert scale >= pictures.MIN_SCALE


def test_label_on_a_small_frame_keeps_the_whole_text_inside_it():
    frame = np.full((120, 160, 3), 90, np.uint8)
    pictures.label(frame, "NOT EVIDENCE: the model has seen fewer than 100 videos of a class",
                   (0, 0), (0, 0, 255))
    drawn = np.flatnonzero((frame != 90).any(axis=2).any(axis=0))
    assert drawn.max() < 160 and np.any(frame[:, -5:] == 90)  # the box ends inside the frame


# ---- the pictures, drawn ---------------------------------------------------------

def test_check_out_draws_the_three_pictures_of_a_demo_model_with_its_banner(tmp_path):
    found = result(verdict="FAKE", video="data/demo/fake/clip_00.mp4")
    texts = pictures.write_pictures(StandIn(found.model), sampled(found), tmp_path,
                                    "clip_00")
    assert texts["banner"] == "DEMO MODEL - NOT EVIDENCE"
    assert "the face at frame 15: P(fake) = 0.990 (calibrated)" in texts["face"]
    assert [Path(p).name for p in found.pictures] == [
        "clip_00.verdict.jpg", "clip_00.timeline.png", "clip_00.gradcam.png"]
    verdict, timeline, gradcam = (cv2.imread(p) for p in found.pictures)
    assert verdict.shape[1] == 480 and verdict.shape[0] > 360  # 320 px enlarged, a strip above
    assert timeline.shape[1] == 800 and gradcam.shape[1] == 760
    assert gradcam.shape[0] > pictures.GRADCAM_SIDE + 100  # the enlarged face and the texts
    for image, y in ((verdict, 5), (timeline, 25), (gradcam, 25)):  # the red banner on top
        assert np.abs(image[y, 5].astype(int) - pictures.BANNER_BGR).max() < 30
        assert image.std() > 10
    assert found.gradcam["layer"] == "stand_in_layer" and found.gradcam["frame"] == 15
    assert "unreadable" not in found.gradcam
    assert set(found.timing) == {"decode", "faces", "model", "pictures", "gradcam"}
    assert found.seconds == pytest.approx(1.5 + found.timing["pictures"]
                                             + found.timing["gradcam"], abs=0.002)
    assert f"{found.seconds:.1f}s (Grad-CAM 0.0s)  data/demo/fake/clip_00.mp4" in line(found)


def test_without_a_face_two_pictures_and_no_grad_cam(tmp_path):
    found = result(verdict="UNKNOWN", faces=(), kind="no card")
    texts = pictures.write_pictures(StandIn(found.model, UNCALIBRATED), sampled(found),
                                    tmp_path, "none")
    assert texts["banner"] == "NO MODEL CARD - NOT EVIDENCE"
    assert [Path(p).name for p in found.pictures] == ["none.verdict.jpg", "none.timeline.png"]
    assert all(cv2.imread(p) is not None for p in found.pictures)
    assert found.gradcam is None and found.timing["gradcam"] == 0
    assert "Grad-CAM" not in line(found)


def test_a_full_cards_pictures_have_no_banner(tmp_path):
    found = result(kind="full")
    texts = pictures.write_pictures(StandIn(found.model), sampled(found, 160, 120),
                                    tmp_path, "full")
    assert texts["banner"] is None
    verdict, timeline, gradcam = (cv2.imread(p) for p in found.pictures)
    assert verdict.shape[1] == 480 and (verdict[5, 5] < 30).all()  # black, not a red banner
    assert (timeline[25, 5] > 200).all() and (gradcam[25, 5] > 200).all()  # white


def test_a_dark_face_is_said_to_be_unreadable_in_the_grad_cam_picture(tmp_path):
    found = result()
    _, crop, _ = frame_with_face()
    dark = (crop * 0.12).astype(np.uint8)
    pictures.write_pictures(StandIn(found.model), sampled(found, crop=dark), tmp_path,
                            "dark")
    assert "too dark" in found.gradcam["unreadable"]
    assert cv2.imread(found.pictures[2]) is not None
