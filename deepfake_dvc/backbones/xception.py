"""Xception (Chollet 2017), the FaceForensics++ and DeepfakeBench baseline: pixels scaled to
[-1, 1]."""
from deepfake_dvc.backbones import Backbone, register
from deepfake_dvc.backbones.keras_applications import application, symmetric

register(Backbone("xception", application("Xception"), symmetric, min_size=71,
                  default_size=299))
