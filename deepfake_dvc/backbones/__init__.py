"""The backbones a detector is built on, by name (as timm's registry): each says how to build
its feature map on an image tensor, how it wants its pixels, which input sizes and weights it
takes, what may be trained, and where its explanation map comes from.

Declaring one needs no TensorFlow (parameters are checked against the registry before any
work); its functions import Keras when a model is built. A backbone is one module here that
calls register(); see docs/contributing.md.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from deepfake_dvc.params import Registry, add_cross_rule


@dataclass(frozen=True)
class Backbone:
    """name: the `backbone` parameter's value.
    features(images, weights): the feature map (batch, h, w, channels) built on images, a Keras
        tensor of normalised pixels of a fixed square size; weights is "none", the backbone's
        pretrained source or a weights file's path.
    normalisation(): a Keras layer named "normalise" taking RGB pixels in 0..255 (float32) to
        what the backbone was trained on; it becomes a layer of the saved model.
    min_size, default_size: the smallest and the usual square input, in pixels; size_step: the
        input must be a multiple of it (a ViT's patch size).
    pretrained: where its pretrained weights come from ("imagenet", a keras-hub preset), or
        None (random weights only).
    tunes: the `tune` values it supports (of deepfake_dvc.params.TUNES).
    explained_at: the layer whose map Grad-CAM weighs; None: the last feature map at least 7
        wide.
    """
    name: str
    features: Callable
    normalisation: Callable
    min_size: int
    default_size: int
    size_step: int = 1
    pretrained: str | None = "imagenet"
    tunes: tuple = ("all", "head")
    explained_at: str | None = None


BACKBONES = Registry("backbone", parameter="backbone")


def register(backbone):
    """Add backbone to the registry under its name."""
    return BACKBONES.add(backbone.name, backbone)


def get_backbone(name):
    """The registered backbone called name; ConfigError listing the known ones otherwise."""
    return BACKBONES[name]


def takes_img_size(values):
    spec = BACKBONES[values["backbone"]]
    size, step = values["img_size"], spec.size_step
    return size >= spec.min_size and size % step == 0, (
        f"backbone {spec.name} takes at least {spec.min_size} px"
        + (f", a multiple of {step}" if step > 1 else "")
        + ": change img_size, or choose another backbone")


def takes_weights(values):
    spec, weights = BACKBONES[values["backbone"]], values["weights"]
    if spec.pretrained is None:
        return weights == "none", (f"backbone {spec.name} has no pretrained weights: set "
                                   f"weights to none")
    return weights in ("none", spec.pretrained) or Path(weights).is_file(), (
        f"backbone {spec.name} takes weights none, {spec.pretrained} (its pretrained weights) "
        f"or the path of an existing weights file")


def takes_tune(values):
    spec = BACKBONES[values["backbone"]]
    return values["tune"] in spec.tunes, (f"backbone {spec.name} supports tune "
                                          f"{', '.join(spec.tunes)}")


add_cross_rule(["backbone", "img_size"], "img_size", takes_img_size)
add_cross_rule(["backbone", "weights"], "weights", takes_weights)
add_cross_rule(["backbone", "tune"], "tune", takes_tune)


# The built-in backbones register themselves.
from deepfake_dvc.backbones import (  # noqa: E402, F401, I001
    inception_resnet_v2, xception, efficientnet, convnext, clip_vit, tiny_cnn)
