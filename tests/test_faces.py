"""Face detection on downscaled frames, small-face fallback, square crops."""
import numpy as np
import pytest

from stages.faces import FaceDetector, crop_face, faces_in_frames, link_tracks
from tests.conftest import ROOT, run
from tests.synth import face_frame, paste_face


def assert_box_near(found, drawn, tolerance):
    """Centres and sizes agree within tolerance x the drawn face's size."""
    size = drawn[2] - drawn[0]
    fc = np.add(found[:2], found[2:]) / 2
    dc = np.add(drawn[:2], drawn[2:]) / 2
    assert np.abs(fc - dc).max() < tolerance * size, (found, drawn)
    assert abs((found[2] - found[0]) - size) < tolerance * size, (found, drawn)


def test_large_face_found_on_a_downscaled_copy_and_mapped_back():
    frame, drawn = face_frame(1920, 1080, face_height=300, center=(1200, 500))
    faces = FaceDetector("hog", max_side=640, small_faces=False).detect(frame)
    assert len(faces) == 1
    assert_box_near(faces[0][0], drawn, 0.15)


def test_small_face_in_1080p_needs_the_fallback():
    frame, drawn = face_frame(1920, 1080, face_height=42, center=(400, 700))
    assert FaceDetector("hog", 640, small_faces=False).detect(frame) == []
    faces = FaceDetector("hog", 640, small_faces=True).detect(frame)
    assert len(faces) == 1
    assert_box_near(faces[0][0], drawn, 0.25)


def test_cnn_detector_finds_the_face():
    frame, drawn = face_frame(640, 480, face_height=150)
    faces = FaceDetector("cnn", 320, small_faces=False).detect(frame)
    assert len(faces) == 1
    assert_box_near(faces[0][0], drawn, 0.2)


def test_crop_is_square_enlarged_and_resized():
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[50:150, 100:200] = (0, 0, 255)          # a red (BGR) 100 px square "face"
    crop = crop_face(frame, (100, 50, 200, 150), margin=2.0, size=64)
    assert crop.shape == (64, 64, 3)
    assert (crop[32, 32] == (255, 0, 0)).all()     # RGB out
    assert (crop[2, 2] == 0).all() and (crop[16:48, 16:48, 0] > 200).all()


def test_crop_leaving_the_frame_is_padded_black():
    frame = np.full((100, 100, 3), 200, np.uint8)
    crop = crop_face(frame, (0, 0, 40, 40), margin=1.5, size=60)
    assert crop.shape == (60, 60, 3)
    assert (crop[:5, :5] == 0).all() and (crop[-5:, -5:] == 200).all()


def test_faces_in_frames_counts_frames_without_a_face():
    with_face = [face_frame(320, 240, 100)[0] for _ in range(2)]
    frames = [with_face[0], face_frame(320, 240)[0], with_face[1]]
    faces = faces_in_frames(FaceDetector(), [4, 9, 14], frames, margin=1.3, size=48)
    assert faces["crops"].shape == (2, 48, 48, 3) and faces["crops"].dtype == np.uint8
    assert faces["frame_indices"].tolist() == [4, 14]
    assert faces["boxes"].shape == (2, 4) and faces["scores"].shape == (2,)
    assert int(faces["frames_without_face"]) == 1


@pytest.mark.parametrize("per_frame,expected", [(1, 1), (2, 2)])
def test_largest_faces_first(per_frame, expected):
    frame, big = face_frame(640, 480, 160, center=(200, 240))
    small, _ = face_frame(640, 480, 110, center=(500, 240))
    frame[:, 400:] = small[:, 400:]
    faces = faces_in_frames(FaceDetector(), [0], [frame], 1.3, 32, per_frame)
    assert len(faces["crops"]) == expected
    assert_box_near(faces["boxes"][0], big, 0.2)


def test_cnn_detector_loads_without_pkg_resources():
    """face_recognition_models' __init__ needs pkg_resources, which new environments lack."""
    code = ("import sys; sys.modules['pkg_resources'] = None\n"
            "from stages.faces import FaceDetector\n"
            "from tests.synth import face_frame\n"
            "frame, _ = face_frame(320, 240, face_height=110)\n"
            "print(len(FaceDetector('cnn', 320, small_faces=False).detect(frame)))\n"
            "print('face_recognition_models' in sys.modules)")
    done = run(["python", "-c", code], ROOT)
    assert done.stdout.split() == ["1", "False"]


def test_faces_are_linked_into_tracks_by_position_and_size():
    a, b = (100, 100, 200, 200), (400, 100, 480, 180)
    moved = lambda box, dx: (box[0] + dx, box[1], box[2] + dx, box[3])  # noqa: E731
    frames = [[a, b], [moved(b, 10), moved(a, 20)], [moved(a, 40)], [(110, 110, 150, 150)],
              [moved(a, 60), moved(b, 30)]]
    assert link_tracks(frames) == [[0, 1], [1, 0], [0], [2], [0, 1]]


def two_people(n, extra_at=None):
    """n frames of two faces drifting apart; at frame extra_at, a third small face too."""
    frames = []
    for i in range(n):
        frame = np.full((480, 720, 3), 90, np.uint8)
        paste_face(frame, 130, (170 + 4 * i, 220))
        paste_face(frame, 110, (540 - 4 * i, 240))
        if i == extra_at:
            frame[380:, :] = 90
            paste_face(frame, 70, (360, 400))
        frames.append(frame)
    return frames


def test_the_people_seen_most_are_kept_and_each_crop_knows_its_track():
    frames = two_people(4, extra_at=2)
    detector = FaceDetector("hog", 720, small_faces=True)
    assert len(detector.detect(frames[2])) == 3
    both = faces_in_frames(detector, [0, 5, 10, 15], frames, 1.3, 32, max_tracks=2)
    assert sorted(both["tracks"].tolist()) == [0] * 4 + [1] * 4
    for track in (0, 1):
        boxes = both["boxes"][both["tracks"] == track]
        assert np.ptp(boxes[:, 0]) < 40  # one person, not a jump between the two
    assert int(both["frames_without_face"]) == 0
    one = faces_in_frames(detector, [0, 5, 10, 15], frames, 1.3, 32, max_tracks=1)
    assert one["tracks"].tolist() == [0] * 4
    assert np.all(one["boxes"][:, 2] - one["boxes"][:, 0] > 110)  # the larger person
