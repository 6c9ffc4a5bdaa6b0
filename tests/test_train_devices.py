"""Training on several devices and in mixed precision, with the train stage's own model,
optimizer and input pipeline (in a fresh process: devices are set before TensorFlow starts)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT

SCRIPT = """
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from deepfake_dvc.model import fake_probabilities
from deepfake_dvc.training import compiled_model, crop_dataset, distribution, float32_copy
from tests.synth import save_faces

rng = np.random.default_rng(0)
paths, labels, crops = [], [], []
for video in range(4):  # real: dark faces, fake: bright ones
    label = video % 2
    frames = rng.integers(0, 100, (4, 32, 32, 3)) + 120 * label
    save_faces(f"v{video}", dict(crops=frames.astype(np.uint8), frame_indices=np.arange(4)),
               "jpg", 95, "faces")
    paths.append(f"faces/v{video}.npz")
    labels.append(label)
    crops.append(frames.astype(np.uint8))
params = dict(backbone="tiny_cnn", img_size=32, weights="none", tune="all", dropout=0.0,
              bn_momentum=0.9, lr=1e-2, lr_decay=0.0, jit_compile=False)  # learnt in 2 steps
vit = dict(params, backbone="clip_vit_tiny", tune="layernorm", lr=1e-3)  # a keras-hub ViT


def train(strategy, params=params):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = compiled_model(params)
    model.run_eagerly = True  # the same steps, without minutes of graph tracing on 2 cores
    data = crop_dataset(paths, labels, 8, seed=0, epochs=range(2))
    losses = model.fit(data, epochs=2, steps_per_epoch=2, verbose=0).history["loss"]
    return model, strategy.num_replicas_in_sync, losses


cpus = tf.config.list_logical_devices("CPU")
single, mirrored = distribution(cpus[:1]), distribution(cpus)  # one each: a second
_, one_replica, one = train(single)                            # MirroredStrategy in a process
_, two_replicas, two = train(mirrored)                         # mixes up its collectives
keras.mixed_precision.set_global_policy("mixed_float16")
mixed, _, mixed_losses = train(single)
copy = float32_copy(mixed, params)
sample = np.concatenate(crops)[::2]
vit_mixed, _, vit_mixed_losses = train(single, vit)
vit_copy = float32_copy(vit_mixed, vit)
keras.mixed_precision.set_global_policy("float32")
_, vit_replicas, vit_losses = train(mirrored, vit)
print(json.dumps(dict(
    vit_replicas=vit_replicas, vit=vit_losses, vit_mixed=vit_mixed_losses,
    vit_mixed_p=fake_probabilities(vit_mixed, sample).tolist(),
    vit_copy_p=fake_probabilities(vit_copy, sample).tolist(),
    replicas=[one_replica, two_replicas], one=one, two=two, mixed=mixed_losses,
    mixed_dtypes=[mixed.get_layer("tiny_conv0").compute_dtype, mixed.layers[-1].compute_dtype],
    copy_dtypes=sorted({layer.compute_dtype for layer in copy.layers}),
    mixed_p=fake_probabilities(mixed, sample).tolist(),
    copy_p=fake_probabilities(copy, sample).tolist())))
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tiny runs: one CPU device, two under MirroredStrategy, one in mixed precision; and a
    ViT's layer norms trained in mixed precision and on two devices."""
    cwd = tmp_path_factory.mktemp("devices")
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=cwd, capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(ROOT),
                                              TF_CPP_MIN_LOG_LEVEL="2"))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_devices_train_under_mirrored_strategy_like_one(trained):
    assert trained["replicas"] == [1, 2]
    one, two = trained["one"], trained["two"]
    assert two[0] == pytest.approx(one[0], rel=0.25)  # each replica normalises half a batch
    assert one[1] < 0.2 * one[0] and two[1] < 0.2 * two[0]  # both learn the task at once


def test_mixed_precision_trains_in_float16_and_saves_a_float32_model(trained):
    assert trained["mixed_dtypes"] == ["float16", "float32"]  # a conv layer, the softmax
    assert trained["mixed"][-1] < trained["mixed"][0]
    assert trained["copy_dtypes"] == ["float32"]
    assert trained["copy_p"] == pytest.approx(trained["mixed_p"], abs=0.02)


def test_a_vision_transformer_trains_on_two_devices_and_in_mixed_precision(trained):
    assert trained["vit_replicas"] == 2
    assert all(np.isfinite(trained[run]).all() for run in ("vit", "vit_mixed"))
    assert trained["vit_copy_p"] == pytest.approx(trained["vit_mixed_p"], abs=0.02)
