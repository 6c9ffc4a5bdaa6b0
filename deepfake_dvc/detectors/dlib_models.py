"""dlib's models in the face-recognition-models package: the MMOD CNN detector, the 5-point
landmark fit and the face descriptor; boxes and landmarks as the detectors return them."""
import importlib.util
from pathlib import Path

import numpy as np

from deepfake_dvc.detectors import NO_LANDMARKS
from deepfake_dvc.errors import ConfigError

MODELS = "models"  # face-recognition-models' folder of dlib model files


def dlib_model_path(name):
    """A dlib model file of face-recognition-models, found without importing that package
    (its __init__ needs pkg_resources, which new Python environments lack)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the face detectors need the face-recognition-models package "
                          "(pip install -r requirements.txt)")
    return str(Path(list(spec.submodule_search_locations)[0]) / MODELS / name)


def dlib_shape_model():
    """dlib's 5-point landmark model (two corners per eye, the nose base)."""
    import dlib
    return dlib.shape_predictor(dlib_model_path("shape_predictor_5_face_landmarks.dat"))


def dlib_identity_model():
    """dlib's face recognition ResNet: 128 numbers that are close for one person's faces."""
    import dlib
    return dlib.face_recognition_model_v1(
        dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))


def dlib_rectangle(box):
    """A box (left, top, right, bottom) as dlib's rectangle."""
    import dlib
    return dlib.rectangle(*(int(round(v)) for v in box))


def dlib_faces(shape_model, image, rects, scores):
    """dlib's rectangles and scores as faces, each with its 5-point landmarks."""
    return [((r.left(), r.top(), r.right(), r.bottom()), s, dlib_landmarks(shape_model, image, r))
            for r, s in zip(rects, scores)]


def dlib_landmarks(shape_model, image, rect):
    """dlib's 5-point fit (two corners per eye, the nose base) as LANDMARKS."""
    shape = shape_model(image, rect)
    points = np.array([(shape.part(i).x, shape.part(i).y) for i in range(5)], float)
    landmarks = NO_LANDMARKS.copy()
    landmarks[0] = points[2:4].mean(0)  # the eye on the image's left
    landmarks[1] = points[0:2].mean(0)
    landmarks[3] = points[4]
    return landmarks
