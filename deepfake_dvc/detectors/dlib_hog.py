"""dlib's frontal face detector (HOG features, a linear SVM; Dalal and Triggs 2005). It
looks at gradients only, so it takes a grey image; its smallest face is 80 px, upsampled
once about 40."""
from pathlib import Path

from deepfake_dvc.detectors import Detector, register
from deepfake_dvc.detectors.dlib_models import dlib_faces

# dlib's own detector as get_frontal_face_detector() builds it, saved in this package:
# loading the file takes 2 ms, building it 0.3-0.5 s in every command that detects.
FRONTAL_FACE_HOG = Path(__file__).parents[1] / "frontal_face_hog.svm"


def load():
    import dlib
    return dlib.fhog_object_detector(str(FRONTAL_FACE_HOG))


def find(models, image, upsample):
    rects, scores, _ = models("hog").run(image, upsample, 0.0)
    return dlib_faces(models("shape"), image, rects, scores)


register(Detector("hog", load, find, grey=True, full_size=(0, 1)))
