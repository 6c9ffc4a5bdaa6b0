"""The backbone registry: what params.yaml may name, and a new backbone added from here alone."""
import numpy as np
import pytest
import yaml

from deepfake_dvc.backbones import BACKBONES, Backbone, get_backbone, register
from deepfake_dvc.errors import ConfigError
from deepfake_dvc.params import read_params
from tests.conftest import ROOT

TRAIN_KEYS = ["backbone", "weights", "img_size", "tune"]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def read(tmp_path, **changes):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({**DEFAULTS, **changes}))
    return read_params(TRAIN_KEYS, path)


def test_the_default_is_the_2020_backbone_and_tiny_cnn_is_registered():
    assert DEFAULTS["backbone"] == "inception_resnet_v2"
    assert {"inception_resnet_v2", "tiny_cnn"} <= set(BACKBONES)
    assert get_backbone("inception_resnet_v2").min_size == 75


@pytest.mark.parametrize("changes,message", [
    (dict(backbone="xception_v9"), "parameter 'backbone' is 'xception_v9' (text): use one of "
                                   "inception_resnet_v2, xception, efficientnet_b4, "),
    (dict(img_size=64), "parameter 'img_size' is 64: backbone inception_resnet_v2 takes at "
                        "least 75 px: change img_size, or choose another backbone"),
    (dict(backbone="clip_vit_tiny", img_size=36), "parameter 'img_size' is 36: backbone "
                                                  "clip_vit_tiny takes at least 32 px, a multiple "
                                                  "of 8"),
    (dict(tune="layernorm"), "parameter 'tune' is 'layernorm' (text): backbone "
                             "inception_resnet_v2 supports tune all, head"),
    (dict(tune="lora"), "parameter 'tune' is 'lora' (text): use one of all, head, layernorm"),
    (dict(weights="clip_vit_base_patch16"), "parameter 'weights' is 'clip_vit_base_patch16' "
                                            "(text): backbone inception_resnet_v2 takes weights "
                                            "none, imagenet (its pretrained weights) or the path "
                                            "of an existing weights file"),
    (dict(backbone="clip_vit_b16", img_size=224, weights="imagenet"),
     "backbone clip_vit_b16 takes weights none, clip_vit_base_patch16 (its pretrained"),
    (dict(backbone="tiny_cnn", weights="imagenet"),
     "parameter 'weights' is 'imagenet' (text): backbone tiny_cnn has no pretrained weights"),
    (dict(img_size=16), "parameter 'img_size' is 16: use an integer >= 32"),
])
def test_a_backbone_refuses_what_it_cannot_take_naming_the_key(tmp_path, changes, message):
    with pytest.raises(ConfigError) as e:
        read(tmp_path, **changes)
    assert str(e.value).endswith(message) or message in str(e.value)


def test_each_backbone_takes_its_own_smallest_input(tmp_path):
    assert read(tmp_path, backbone="tiny_cnn", img_size=32)["img_size"] == 32
    assert get_backbone("tiny_cnn").min_size == 32


def test_an_unknown_backbone_is_one_line_listing_the_known_ones():
    with pytest.raises(ConfigError, match="unknown backbone 'resnet': use one of"):
        get_backbone("resnet")


@pytest.fixture
def one_conv():
    """A backbone registered by this test alone: one convolution, pixels in 0..1."""
    keras = pytest.importorskip("keras")

    def features(images, weights):
        return keras.layers.Conv2D(8, 3, strides=2, name="one_conv")(images)

    def normalisation():
        return keras.layers.Rescaling(1 / 255, name="normalise", dtype="float32")

    backbone = register(Backbone("one_conv", features, normalisation, min_size=40,
                                 default_size=40, pretrained=None))
    yield backbone
    del BACKBONES["one_conv"]


def test_a_backbone_registered_elsewhere_is_a_parameter_and_a_model(tmp_path, one_conv):
    from deepfake_dvc.model import build_model, fake_probabilities, grad_cam
    assert read(tmp_path, backbone="one_conv", img_size=40)["backbone"] == "one_conv"
    with pytest.raises(ConfigError, match="backbone one_conv takes at least 40 px"):
        read(tmp_path, backbone="one_conv", img_size=32)
    model = build_model(40, backbone="one_conv")
    crops = np.random.default_rng(0).integers(0, 256, (3, 96, 96, 3), np.uint8)
    assert fake_probabilities(model, crops).shape == (3,)
    heatmap, layer = grad_cam(model, crops[0])
    assert layer == "one_conv" and heatmap.shape == (96, 96)


def test_a_name_is_registered_once(one_conv):
    with pytest.raises(ValueError, match="registered twice"):
        register(one_conv)
