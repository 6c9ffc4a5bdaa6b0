"""The detector: its head, learning-rate schedule, input pipeline and video score."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from deepfake_dvc.crops_file import (  # noqa: E402
    crop_byte_ranges,
    load_crops,
    stored_crops,
)
from deepfake_dvc.faces import crop_face  # noqa: E402
from deepfake_dvc.model import build_model, fake_probabilities, grad_cam  # noqa: E402
from deepfake_dvc.training import (  # noqa: E402
    KeepBestEpoch,
    augmenter,
    crop_dataset,
    decode_crop,
    learning_rate,
)
from tests.synth import face_frame, save_faces  # noqa: E402


def test_model_has_the_2020_head_and_every_layer_trainable():
    model = build_model(75, "none", dropout=0.3, bn_momentum=0.9)
    pool, dropout, dense = model.layers[-3:]
    assert isinstance(pool, keras.layers.GlobalAveragePooling2D)
    assert isinstance(dropout, keras.layers.Dropout) and dropout.rate == 0.3
    assert isinstance(dense, keras.layers.Dense) and dense.units == 2
    assert dense.activation is keras.activations.softmax
    assert model.input_shape == (None, None, None, 3) and model.output_shape == (None, 2)
    assert model.get_layer("resize").output.shape[1:] == (75, 75, 3)
    assert all(layer.trainable for layer in model.layers)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) > 100 and all(layer.momentum == 0.9 for layer in norms)
    assert len(model.non_trainable_weights) == len(
        [w for w in model.weights if "moving" in w.path])  # only batch-norm statistics


@pytest.mark.parametrize("decay", [0.0, 0.01, 0.5])
def test_learning_rate_follows_the_classic_decay(decay):
    schedule = learning_rate(0.001, decay)
    for step in (0, 1, 10, 1000):
        assert float(schedule(step)) == pytest.approx(0.001 / (1 + decay * step), rel=1e-6)


def test_the_model_resizes_and_scales_stored_crops_like_its_backbone(inception_at_75):
    crops = np.random.default_rng(0).integers(0, 256, (2, 48, 48, 3)).astype(np.uint8)
    pixels = keras.Model(inception_at_75.inputs, inception_at_75.get_layer("normalise").output)
    expected = keras.applications.inception_resnet_v2.preprocess_input(
        keras.ops.image.resize(crops.astype(np.float32), (75, 75)))
    assert np.allclose(pixels.predict(crops.astype(np.float32), verbose=0), expected, atol=1e-6)


def test_crops_of_any_size_are_scored_and_explained_at_the_backbones_last_map(inception_at_75):
    for side in (48, 96, 299):
        crops = np.random.default_rng(side).integers(0, 256, (2, side, side, 3), np.uint8)
        p_fake = fake_probabilities(inception_at_75, crops)
        assert p_fake.shape == (2,) and ((0 <= p_fake) & (p_fake <= 1)).all()
        heatmap, layer = grad_cam(inception_at_75, crops[0])
        assert heatmap.shape == (side, side) and (0 <= heatmap).all() and heatmap.max() <= 1
        assert inception_at_75.get_layer(layer).output.shape[1] >= 7  # in the backbone, not
        assert layer not in ("crops", "resize", "normalise")           # its pixels


@pytest.fixture(scope="module")
def inception_at_75():
    return build_model(75, "none")


def write_crops(folder, n_videos, per_video, size=32):
    """Crop files whose pixel value says (video, crop); returns their paths."""
    paths = []
    for v in range(n_videos):
        crops = np.stack([np.full((size, size, 3), 10 * v + c, np.uint8) for c in range(per_video)])
        save_faces(f"v{v}", dict(crops=crops, frame_indices=np.arange(per_video)), "png", 95,
                   folder)  # lossless: each pixel still says (video, crop)
        paths.append(folder / f"v{v}.npz")
    return paths


def batches(ds):
    return [(np.asarray(x), np.asarray(y)) for x, y in ds]


def test_crop_dataset_yields_every_crop_once_with_its_label(tmp_path):
    paths = write_crops(tmp_path, 4, 3)
    ds = crop_dataset(paths, [0, 1, 0, 1], batch_size=5, seed=7)
    assert ds.cardinality() == 3
    got = batches(ds)
    assert all(x.dtype == np.float32 and x.shape[1:] == (32, 32, 3) for x, _ in got)
    values = np.concatenate([x[:, 0, 0, 0] for x, _ in got])  # the stored pixels
    labels = np.concatenate([y for _, y in got])
    assert sorted(values) == sorted(10 * v + c for v in range(4) for c in range(3))
    assert all(label == (value // 10) % 2 for value, label in zip(values, labels))


def test_crop_dataset_streams_epochs_each_shuffled_by_its_own_seed(tmp_path):
    paths = write_crops(tmp_path, 4, 3)
    augment = augmenter(True, 50, 0.1, 0.1)
    order = lambda ds: [x[:, 0, 0, 0].tolist() for x, _ in batches(ds)]  # noqa: E731
    three = order(crop_dataset(paths, [0] * 4, 4, seed=7, augment=augment, epochs=range(3)))
    assert len(three) == 9  # 3 batches per epoch
    assert three == order(crop_dataset(paths, [0] * 4, 4, seed=7, augment=augment,
                                       epochs=range(3)))
    assert three[:3] != three[3:6]  # reshuffled each epoch
    assert order(crop_dataset(paths, [0] * 4, 4, seed=7, augment=augment,
                              epochs=range(1, 3))) == three[3:]  # what a resumed run sees
    unshuffled = crop_dataset(paths, [0] * 4, 4)
    assert order(unshuffled) == order(unshuffled)


def test_augmenter_is_off_when_every_option_is():
    assert augmenter(False, 0, 0.0, 0.0) is None



def test_crops_are_stored_encoded_and_tensorflow_decodes_what_python_does(tmp_path):
    frame, box = face_frame(640, 480, face_height=240)
    crop = crop_face(frame, box, 1.3, 299)  # the 2020 recipe's crop size
    save_faces("v", dict(crops=crop[None], frame_indices=np.arange(1)), "jpg", 95, tmp_path)
    path = tmp_path / "v.npz"
    assert path.stat().st_size * 5 < crop.nbytes  # at least 5x smaller than raw pixels
    python = load_crops(path)[0]
    assert np.abs(python.astype(int) - crop).mean() < 3  # JPEG at quality 95
    (start,), (length,) = crop_byte_ranges(path)
    encoded = path.read_bytes()[start:start + length]
    assert (decode_crop(encoded).numpy() == python).all()  # train sees what evaluate sees
    assert (stored_crops(crop[None], "jpg", 95)[0] == python).all()  # and check


def test_keep_best_epoch_puts_back_the_weights_of_the_lowest_validation_loss():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    keeper = KeepBestEpoch()
    keeper.set_model(model)
    seen = []
    for epoch, val_loss in enumerate([0.9, 0.4, 0.7]):  # epoch 2 is the best
        model.set_weights([np.full((2, 1), epoch, np.float32), np.zeros(1, np.float32)])
        seen.append(model.get_weights()[0].copy())
        keeper.on_epoch_end(epoch, {"val_loss": val_loss})
    keeper.on_train_end()
    assert keeper.epoch == 2 and (model.get_weights()[0] == seen[1]).all()
