"""The backbones a detector is built on, by name (as timm's registry): each says how to build
its feature map on an image tensor, how it wants its pixels, and which input sizes it takes.

Declaring one needs no TensorFlow (parameters are checked against the registry before any
work); its functions import Keras when a model is built. A backbone is one module here that
calls register(); see docs/contributing.md.
"""
from dataclasses import dataclass
from typing import Callable

from deepfake_dvc.params import Registry, add_cross_rule


@dataclass(frozen=True)
class Backbone:
    """name: the `backbone` parameter's value.
    features(images, weights): the feature map (batch, h, w, channels) built on images, a Keras
        tensor of normalised pixels; weights is "imagenet", "none" or a weights file's path.
    normalisation(): a Keras layer taking RGB pixels in 0..255 (float32) to what the backbone
        was trained on; it becomes a layer of the saved model.
    min_size, default_size: the smallest and the usual square input, in pixels.
    pretrained: whether weights other than "none" (imagenet, a file) can be loaded.
    """
    name: str
    features: Callable
    normalisation: Callable
    min_size: int
    default_size: int
    pretrained: bool = True


BACKBONES = Registry("backbone", parameter="backbone")


def register(backbone):
    """Add backbone to the registry under its name."""
    return BACKBONES.add(backbone.name, backbone)


def get_backbone(name):
    """The registered backbone called name; ConfigError listing the known ones otherwise."""
    return BACKBONES[name]


def takes_img_size(values):
    smallest = BACKBONES[values["backbone"]].min_size
    return values["img_size"] >= smallest, (f"backbone {values['backbone']} takes at least "
                                            f"{smallest} px: raise img_size, or choose another "
                                            f"backbone")


def takes_weights(values):
    return values["weights"] == "none" or BACKBONES[values["backbone"]].pretrained, \
        f"backbone {values['backbone']} has no pretrained weights: set weights to none"


add_cross_rule(["backbone", "img_size"], "img_size", takes_img_size)
add_cross_rule(["backbone", "weights"], "weights", takes_weights)

from deepfake_dvc.backbones import inception_resnet_v2, tiny_cnn  # noqa: E402, F401  (register)
