"""dlib's MMOD CNN face detector (King 2015): slower than HOG on a CPU, finds turned faces."""
from deepfake_dvc.detectors import Detector, register
from deepfake_dvc.detectors.dlib_models import dlib_faces, dlib_model_path


def load():
    import dlib
    return dlib.cnn_face_detection_model_v1(dlib_model_path("mmod_human_face_detector.dat"))


def find(models, image, upsample):
    found = models("cnn")(image, upsample)
    return dlib_faces(models("shape"), image, [d.rect for d in found],
                      [d.confidence for d in found])


register(Detector("cnn", load, find))
