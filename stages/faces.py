"""Face detection with dlib, square face crops, and the file that holds a video's crops.

Shared by detect_faces and check (detection, crops), and by train and
evaluate (reading the crops).
"""
import importlib.util
from pathlib import Path

import cv2
import numpy as np

from stages.common import FACES_DIR, ConfigError, atomic_path

MMOD_MODEL = "models/mmod_human_face_detector.dat"


def mmod_model_path():
    """dlib's MMOD CNN weights in face-recognition-models, found without importing that
    package (its __init__ needs pkg_resources, which new Python environments lack)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("face_detector cnn needs the face-recognition-models package "
                          "(pip install -r requirements.txt)")
    return str(Path(list(spec.submodule_search_locations)[0]) / MMOD_MODEL)


class FaceDetector:
    """dlib's HOG (default) or MMOD CNN face detector, run on a downscaled copy.

    Boxes come back in the coordinates of the frame given. With small_faces,
    a frame where nothing is found at max_side is searched again at full
    resolution, then (HOG) upsampled once, which finds faces about 40 px tall.
    """

    def __init__(self, kind="hog", max_side=640, small_faces=True):
        import dlib
        if kind == "cnn":
            self._detector = dlib.cnn_face_detection_model_v1(mmod_model_path())
        else:
            self._detector = dlib.get_frontal_face_detector()
        self.kind = kind
        self.passes = [(max_side, 0)]
        if small_faces:  # full size (faces from ~80 px), then upsampled HOG (from ~40 px)
            self.passes += [(None, 0), (None, 1)] if kind == "hog" else [(None, 0)]

    def detect(self, frame):
        """[(box (left, top, right, bottom), score)] in a BGR frame, largest first."""
        tried = set()
        for max_side, upsample in self.passes:
            scale = min(1.0, max_side / max(frame.shape[:2])) if max_side else 1.0
            if (scale, upsample) in tried:  # a small frame: full size was the first pass
                continue
            tried.add((scale, upsample))
            faces = self._detect_once(frame, scale, upsample)
            if faces:
                return faces
        return []

    def _detect_once(self, frame, scale, upsample):
        # HOG looks at gradients only: grey is enough, and shrinking 1 channel is 3x cheaper.
        image = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB if self.kind == "cnn" else cv2.COLOR_BGR2GRAY)
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if self.kind == "cnn":
            found = self._detector(image, upsample)
            rects, scores = [d.rect for d in found], [d.confidence for d in found]
        else:
            rects, scores, _ = self._detector.run(image, upsample, 0.0)
        faces = [((r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale), s)
                 for r, s in zip(rects, scores)]
        return sorted(faces, key=lambda f: (f[0][2] - f[0][0]) * (f[0][3] - f[0][1]), reverse=True)


def crop_face(frame, box, margin, size):
    """A size x size RGB crop of the square around box, enlarged margin times.

    Parts of the square outside the frame are padded black.
    """
    left, top, right, bottom = box
    side = max(1, int(round(max(right - left, bottom - top) * margin)))
    x0 = int(round((left + right - side) / 2))
    y0 = int(round((top + bottom - side) / 2))
    h, w = frame.shape[:2]
    pad = max(0, -x0, -y0, x0 + side - w, y0 + side - h)
    if pad:
        frame = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    crop = frame[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.cvtColor(cv2.resize(crop, (size, size), interpolation=interpolation),
                        cv2.COLOR_BGR2RGB)


def link_tracks(found_per_frame, max_shift=0.5):
    """A track number for each face of each frame: one track per person.

    found_per_frame: a list (one per sampled frame) of boxes. A face
    continues the track whose last box is nearest, if its centre moved less
    than max_shift of the larger box's side and its size changed less than
    twofold; otherwise it starts a new track. Faces are matched greedily,
    nearest pair first, and one track takes at most one face per frame.
    """
    last, tracks = [], []  # last[t]: the latest box of track t
    for boxes in found_per_frame:
        pairs = sorted((shift(box, last[t]), f, t) for f, box in enumerate(boxes)
                       for t in range(len(last)))
        assigned, taken = {}, set()
        for distance, f, t in pairs:
            if distance < max_shift and f not in assigned and t not in taken:
                assigned[f] = t
                taken.add(t)
        for f, box in enumerate(boxes):
            if f not in assigned:
                assigned[f] = len(last)
                last.append(box)
            last[assigned[f]] = box
        tracks.append([assigned[f] for f in range(len(boxes))])
    return tracks


def shift(a, b):
    """How far box a's centre is from box b's, in the larger side; inf when sizes differ 2x."""
    side_a, side_b = max(a[2] - a[0], a[3] - a[1]), max(b[2] - b[0], b[3] - b[1])
    if max(side_a, side_b) > 2 * min(side_a, side_b):
        return float("inf")
    centre = np.subtract(np.add(a[:2], a[2:]), np.add(b[:2], b[2:])) / 2
    return float(np.hypot(*centre) / max(side_a, side_b))


def find_faces(detector, indices, frames, max_tracks=1):
    """Detect every face, link them into tracks (people), keep the max_tracks tracks seen
    in most frames (then the largest).

    Returns arrays: frame_indices (N,), boxes (N, 4) in frame pixels, scores (N,),
    tracks (N,: 0 is the track seen most), and frames_without_face (frames where
    no kept track has a face).
    """
    found = [detector.detect(frame) for frame in frames]
    tracks = link_tracks([[box for box, _ in faces] for faces in found])
    faces = [(index, box, score, track)
             for index, frame_faces, frame_tracks in zip(indices, found, tracks)
             for (box, score), track in zip(frame_faces, frame_tracks)]
    kept = ranked_tracks(faces)[:max_tracks]
    faces = [face for face in faces if face[3] in kept]
    return dict(frame_indices=np.array([f[0] for f in faces], dtype=np.int64),
                boxes=np.array([f[1] for f in faces], dtype=np.float32).reshape(-1, 4),
                scores=np.array([f[2] for f in faces], dtype=np.float32),
                tracks=np.array([kept.index(f[3]) for f in faces], dtype=np.int64),
                frames_without_face=np.int64(len(frames) - len({f[0] for f in faces})))


def crop_faces(indices, frames, found, margin, size):
    """found (find_faces' arrays) with crops (N, size, size, 3) uint8 RGB cut from frames.

    The frames may be another video's than the one the faces were found in,
    as long as they are the same footage at the same frame indices.
    """
    position = {int(index): k for k, index in enumerate(indices)}
    crops = [crop_face(frames[position[int(index)]], box, margin, size)
             for index, box in zip(found["frame_indices"], found["boxes"])]
    return dict(found, crops=np.array(crops, dtype=np.uint8).reshape(-1, size, size, 3))


def faces_in_frames(detector, indices, frames, margin, size, max_tracks=1):
    """find_faces, then crop_faces from the same frames."""
    return crop_faces(indices, frames, find_faces(detector, indices, frames, max_tracks),
                      margin, size)


def ranked_tracks(faces):
    """Track numbers, the one with most faces first (ties: the larger mean box, then the first)."""
    faces_of = {}
    for _, box, _, track in faces:
        faces_of.setdefault(track, []).append((box[2] - box[0]) * (box[3] - box[1]))
    return sorted(faces_of, key=lambda t: (-len(faces_of[t]), -np.mean(faces_of[t]), t))


# ---- the crops file: one per video ---------------------------------------------

def faces_path(video_id):
    """Where detect_faces keeps one video's crops."""
    return FACES_DIR / f"{video_id}.npz"


def save_faces(video_id, faces):
    """Write one video's crops, frame indices, boxes, scores and tracks (faces_in_frames')."""
    with atomic_path(faces_path(video_id)) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **faces)


def load_faces(video_id):
    """The arrays save_faces wrote for one video."""
    with np.load(faces_path(video_id)) as z:
        return {key: z[key] for key in z.files}


def load_crops(path):
    """The uint8 face crops in one crops file."""
    with np.load(path) as z:
        return z["crops"]


def count_crops(path):
    """How many face crops a crops file holds (without loading them)."""
    with np.load(path) as z:
        return z["frame_indices"].shape[0]
