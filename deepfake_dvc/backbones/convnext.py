"""ConvNeXt-Tiny (Liu et al. 2022): a convolutional network of the transformers' era, with
layer normalisation (so `tune: layernorm` applies); it normalises pixels in 0..255 itself."""
from deepfake_dvc.backbones import Backbone, register
from deepfake_dvc.backbones.keras_applications import application, as_is

register(Backbone("convnext_tiny", application("ConvNeXtTiny", include_preprocessing=True),
                  as_is, min_size=32, default_size=224, tunes=("all", "head", "layernorm")))
