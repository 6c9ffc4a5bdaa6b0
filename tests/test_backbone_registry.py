"""Every registered backbone, end to end at its smallest input with random weights: built and
compiled as train does, one training epoch, saved and loaded, a generated clip checked,
explained (Grad-CAM, or a ViT's token map) at the crop's size, exported to SavedModel and
TFLite with the same probabilities; and what each `tune` leaves trainable.

Taking a full-size backbone end to end is marked slow (up to a minute each on 2 cores): the
fast tier takes the tiny ones, the README's command all of them. CLIP ViT-L/14 (304 M
parameters, the same code as ViT-B/16 in a larger configuration) is built and trained a step
but not taken through the exports, whose copies of it need more than this machine's 24 GiB.
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

keras = pytest.importorskip("keras")

from deepfake_dvc.backbones import BACKBONES  # noqa: E402
from deepfake_dvc.inference import Checker  # noqa: E402
from deepfake_dvc.model import (  # noqa: E402
    build_model,
    fake_probabilities,
    grad_cam,
    load_classifier,
    parameter_counts,
    save_model,
)
from deepfake_dvc.params import Preprocessing  # noqa: E402
from deepfake_dvc.pictures import write_pictures  # noqa: E402
from deepfake_dvc.training import compiled_model  # noqa: E402
from stages.export import main as export  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.synth import face_video  # noqa: E402
from tests.test_export import exported_probabilities  # noqa: E402

DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())
TINY = ("tiny_cnn", "clip_vit_tiny")  # the ones the fast tier builds
TOO_LARGE_TO_EXPORT_HERE = ("clip_vit_l14",)


def smallest_input(spec):
    """The backbone's smallest valid img_size."""
    return math.ceil(spec.min_size / spec.size_step) * spec.size_step


def each_backbone(names=None):
    """pytest params over the registry (or names of it), the full-size ones marked slow."""
    return [pytest.param(name, marks=() if name in TINY else pytest.mark.slow)
            for name in (names or BACKBONES)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return face_video(tmp_path_factory.mktemp("clip") / "clip.mp4", n_frames=8)


def train_params(name, size):
    return dict(DEFAULTS, backbone=name, img_size=size, weights="none", tune="all", lr=1e-3,
                mixed_precision=False, jit_compile=False)


@pytest.mark.parametrize("name", each_backbone(
    [n for n in BACKBONES if n not in TOO_LARGE_TO_EXPORT_HERE]))
def test_every_backbone_trains_saves_checks_explains_and_exports(name, tmp_path, clip):
    spec = BACKBONES[name]
    size = smallest_input(spec)
    keras.utils.set_random_seed(0)
    model = compiled_model(train_params(name, size))
    rng = np.random.default_rng(0)
    side = DEFAULTS["face_size"]  # the stored crops' size, the exports' input
    crops = rng.integers(0, 256, (4, side, side, 3)).astype(np.float32)
    before = model.get_layer("real_fake").get_weights()[0].copy()
    model.run_eagerly = True  # the same steps, without a minute of tracing them
    history = model.fit(crops, np.array([0, 1, 0, 1]), batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(model.get_layer("real_fake").get_weights()[0], before)

    save_model(model, tmp_path / "model.keras")
    Preprocessing(**{k: DEFAULTS[k] for k in Preprocessing.__dataclass_fields__
                     if k != "img_size"}, img_size=size).save(tmp_path / "preprocessing.json")
    loaded = load_classifier(tmp_path / "model.keras")
    expected = fake_probabilities(model, crops)
    assert np.allclose(fake_probabilities(loaded, crops), expected, atol=1e-5)

    checker = Checker(tmp_path / "model.keras")
    result = checker.check(clip)
    assert result.verdict != "ERROR" and result.faces_found > 0, result.error
    assert 0 <= result.p_fake <= 1
    write_pictures(checker, result, tmp_path / "pictures", "clip")  # check --out's
    assert [p.split(".")[-2] for p in result.pictures] == ["verdict", "timeline", "gradcam"]
    assert result.gradcam["layer"] == (spec.explained_at or result.gradcam["layer"])

    heat, layer = grad_cam(loaded, crops[0])
    assert heat.shape == (side, side) and np.isfinite(heat).all() and heat.max() <= 1
    assert layer == (spec.explained_at or layer)

    for fmt in ("saved_model", "tflite"):
        out = tmp_path / fmt
        export(["--format", fmt, "--model", str(tmp_path / "model.keras"), "--out", str(out),
                "-q"])
        exported = exported_probabilities(out, fmt, crops)[:, 1]
        assert np.allclose(exported, expected, atol=1e-5), fmt


@pytest.mark.slow
@pytest.mark.parametrize("name", TOO_LARGE_TO_EXPORT_HERE)
def test_the_largest_backbones_build_and_train_a_step(name):
    keras.utils.set_random_seed(0)
    model = compiled_model(train_params(name, smallest_input(BACKBONES[name])))
    model.run_eagerly = True
    crops = np.random.default_rng(0).integers(0, 256, (2, 96, 96, 3)).astype(np.float32)
    loss = model.fit(crops, np.array([0, 1]), batch_size=2, epochs=1, verbose=0).history["loss"]
    assert np.isfinite(loss[0]) and fake_probabilities(model, crops).shape == (2,)


def trainable_layers(model, kinds):
    """The parameters of the classifier and of every layer of kinds, nested ones included."""
    return sum(math.prod(v.shape) for layer in model._flatten_layers(include_self=False)
               if layer.name == "real_fake" or isinstance(layer, kinds) for v in layer.weights)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_tune_head_trains_only_the_classifier(name):
    spec = BACKBONES[name]
    model = build_model(smallest_input(spec), backbone=name, tune="head")
    assert parameter_counts(model)[1] == trainable_layers(model, ())
    assert parameter_counts(model)[1] < parameter_counts(model)[0]


@pytest.mark.parametrize("name", [n for n in BACKBONES if "layernorm" in BACKBONES[n].tunes])
def test_tune_layernorm_trains_only_the_layer_norms_and_the_classifier(name):
    spec = BACKBONES[name]
    keras.utils.set_random_seed(0)
    model = compiled_model(dict(train_params(name, smallest_input(spec)), tune="layernorm"))
    norms = trainable_layers(model, keras.layers.LayerNormalization)
    assert parameter_counts(model)[1] == norms > trainable_layers(model, ())
    before = [v.numpy().copy() for v in model.weights]
    crops = np.random.default_rng(1).integers(0, 256, (2, 40, 40, 3)).astype(np.float32)
    model.run_eagerly = True
    model.fit(crops, np.array([0, 1]), batch_size=2, epochs=1, verbose=0)
    changed = {v.path for v, old in zip(model.weights, before) if not np.array_equal(v, old)}
    assert changed and changed <= {v.path for v in model.trainable_weights}


def test_a_weights_file_of_the_backbone_loads_and_one_of_another_is_refused(tmp_path):
    from deepfake_dvc.errors import ConfigError
    keras.utils.set_random_seed(0)
    encoder = build_model(32, backbone="clip_vit_tiny").get_layer("clip_vision")
    encoder.save_weights(tmp_path / "tiny.weights.h5")
    loaded = build_model(32, weights=str(tmp_path / "tiny.weights.h5"), backbone="clip_vit_tiny")
    assert all(np.array_equal(a, b) for a, b in
               zip(loaded.get_layer("clip_vision").get_weights(), encoder.get_weights()))
    other = build_model(32, backbone="tiny_cnn")
    other.save_weights(tmp_path / "other.weights.h5")
    with pytest.raises(ConfigError) as e:
        build_model(32, weights=str(tmp_path / "other.weights.h5"), backbone="clip_vit_tiny")
    assert str(e.value).startswith(f"weights '{tmp_path / 'other.weights.h5'}' could not be "
                                   f"loaded into backbone clip_vit_tiny (")


def test_clip_weights_move_to_another_input_size_with_their_positions_resized():
    import keras_hub

    from deepfake_dvc.backbones.clip_vit import VIT_TINY, copy_weights, number_positions
    keras.utils.set_random_seed(0)
    source, target = (keras_hub.models.CLIPVisionEncoder(**VIT_TINY, image_shape=(s, s, 3))
                      for s in (32, 64))  # a 4 x 4 and an 8 x 8 patch grid
    number_positions(target)
    copy_weights(source, target)
    for mine, theirs in zip(target.weights, source.weights):
        if "position" not in mine.path:
            assert np.array_equal(mine.numpy(), theirs.numpy()), mine.path
    table = target.embedding.position_embedding.embeddings.numpy()
    original = source.embedding.position_embedding.embeddings.numpy()
    assert table.shape == (65, VIT_TINY["hidden_dim"]) and np.array_equal(table[0], original[0])
    assert np.allclose(table[1:].mean(axis=0), original[1:].mean(axis=0), atol=0.05)
    assert np.array_equal(target.embedding.position_ids.numpy(), np.arange(65)[None])


def test_a_random_vit_numbers_its_patch_positions():
    model = build_model(32, backbone="clip_vit_tiny")  # keras-hub leaves them all 0
    ids = model.get_layer("clip_vision").embedding.position_ids.numpy()
    assert np.array_equal(ids, np.arange(17)[None])  # the class token and 4 x 4 patches


def test_nothing_is_downloaded_to_import_keras_hub_or_build_a_random_vit(tmp_path):
    script = (
        "import socket\n"
        "def refuse(*args, **kwargs): raise OSError('a network connection was attempted')\n"
        "socket.socket.connect = socket.socket.connect_ex = refuse\n"
        "socket.create_connection = refuse\n"
        "import keras_hub\n"
        "from deepfake_dvc.model import build_model\n"
        "model = build_model(32, backbone='clip_vit_b16')\n"
        "print(model.count_params())\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                              HOME=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="2"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 80_000_000  # ViT-B/16's encoder, random weights


def test_without_keras_hub_a_vit_says_how_to_install_it(monkeypatch):
    from deepfake_dvc.errors import ConfigError
    monkeypatch.setitem(sys.modules, "keras_hub", None)  # as if not installed
    with pytest.raises(ConfigError, match="need keras-hub: pip install keras-hub"):
        build_model(32, backbone="clip_vit_tiny")
