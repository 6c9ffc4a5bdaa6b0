"""InceptionResNetV2 (Szegedy et al. 2016), the 2020 work's backbone: every layer trainable,
pixels scaled to [-1, 1] as Keras' own preprocess_input does."""
from deepfake_dvc.backbones import Backbone, register
from deepfake_dvc.backbones.keras_applications import application, symmetric

register(Backbone("inception_resnet_v2", application("InceptionResNetV2"), symmetric,
                  min_size=75, default_size=299))
