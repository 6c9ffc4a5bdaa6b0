"""EfficientNet-B4 (Tan and Le 2019; SBI's and LAA-Net's backbone) and EfficientNetV2-S
(Tan and Le 2021): both take pixels in 0..255 and normalise them in their own first layers."""
from deepfake_dvc.backbones import Backbone, register
from deepfake_dvc.backbones.keras_applications import application, as_is

register(Backbone("efficientnet_b4", application("EfficientNetB4"), as_is, min_size=32,
                  default_size=380))
register(Backbone("efficientnetv2_s", application("EfficientNetV2S", include_preprocessing=True),
                  as_is, min_size=32, default_size=384))
