"""The face detectors, by name, and the cascades made of them (params.yaml's face_detector).

A detector is one module here that calls register(): how to load its model, and
find(models, image, upsample), which returns [(box, score, landmarks)] for one image: box
(left, top, right, bottom) in the image's pixels, the detector's own score, and LANDMARKS
as a (6, 2) array, NaN where it gives none. models(name) is the FaceDetector's model cache
(its own model by its name, "shape" for dlib's 5 landmarks). A cascade runs its detectors in
turn on the frames still without a face; each detector is also a cascade of one. See
docs/contributing.md.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from deepfake_dvc.params import Registry

LANDMARKS = ("left_eye", "right_eye", "nose_tip", "nose_base", "mouth_left", "mouth_right")
NO_LANDMARKS = np.full((len(LANDMARKS), 2), np.nan)


@dataclass(frozen=True)
class Detector:
    """name: its model's name and, alone, the cascade's.
    load(): its model, built once per process (before the workers fork).
    find(models, image, upsample): the faces in image (see the module's docstring).
    grey: whether it takes a grey image (else RGB).
    full_size: the upsampling levels of its passes at full size (with small_faces), when it
        is a cascade's last detector.
    """
    name: str
    load: Callable
    find: Callable
    grey: bool = False
    full_size: tuple = (0,)


DETECTORS = Registry("detector")
CASCADES = Registry("cascade", parameter="face_detector")  # a value: the detectors it runs


def register(detector):
    """Add detector to the registry, and as a cascade of one."""
    DETECTORS.add(detector.name, detector)
    register_cascade(detector.name, [detector.name])
    return detector


def register_cascade(name, detectors):
    """A face_detector value that runs detectors (registered names) in turn."""
    return CASCADES.add(name, tuple(detectors))


def passes(cascade):
    """(the detectors run on a copy at detect_max_side, in turn; the (detector, upsample)
    passes at full size with small_faces: the last detector's, where it finds small and dim
    faces alike)."""
    names = CASCADES[cascade]
    return list(names), [(names[-1], upsample) for upsample in DETECTORS[names[-1]].full_size]


# The built-in detectors register themselves; then the cascade the project uses by default.
from deepfake_dvc.detectors import dlib_hog, dlib_cnn, mtcnn  # noqa: E402, F401, I001

register_cascade("hog+mtcnn", ["hog", "mtcnn"])
