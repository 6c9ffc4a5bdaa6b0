"""Training that resumes: a checkpoint per epoch, taken up again only when nothing changed."""
import numpy as np
import pytest

keras = pytest.importorskip("keras")

from stages.checkpoint import STATE, Checkpoint, stage_fingerprint  # noqa: E402
from stages.model import KeepBestEpoch, learning_rate  # noqa: E402

X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int32)
VAL = (X[:16] + 0.5, Y[:16])


def tiny_model():
    """A small classifier with the train stage's optimizer, schedule and dropout."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(2, "softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(0.05, 0.1)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
    return model


def train(folder, initial_epoch, epochs, fingerprint="same"):
    """A new 'process': a fresh seeded model that resumes from folder, then trains to epochs."""
    keras.utils.set_random_seed(0)
    model, keeper = tiny_model(), KeepBestEpoch()
    checkpoint = Checkpoint(folder, fingerprint, keeper)
    checkpoint.set_model(model)
    assert checkpoint.resume() == initial_epoch
    model.fit(X, Y, validation_data=VAL, batch_size=16, shuffle=False, verbose=0,
              initial_epoch=initial_epoch, epochs=epochs, callbacks=[keeper, checkpoint])
    return model, checkpoint, keeper


def test_a_resumed_run_goes_on_as_if_it_had_never_stopped(tmp_path):
    whole, whole_run, whole_keeper = train(tmp_path / "whole", 0, 6)
    train(tmp_path / "cut", 0, 2)  # interrupted after epoch 2
    resumed, resumed_run, resumed_keeper = train(tmp_path / "cut", 2, 6)
    assert resumed_run.history == pytest.approx(whole_run.history)  # loss, lr decay, dropout
    assert int(resumed.optimizer.iterations) == int(whole.optimizer.iterations) == 24
    assert resumed_keeper.epoch == whole_keeper.epoch  # the best epoch carried over
    for a, b in zip(resumed.get_weights(), whole.get_weights()):
        assert np.allclose(a, b)


def test_another_fingerprint_or_a_finished_run_starts_from_epoch_1(tmp_path):
    _, run, _ = train(tmp_path, 0, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        *(["best-002.npz"] if run.keeper.epoch == 2 else ["best-001.npz"]),
        "epoch-002.weights.h5", STATE]
    (tmp_path / "epoch-003.weights.h5").write_bytes(b"cut short")  # not named by state.json
    train(tmp_path, 2, 3)
    assert not (tmp_path / "epoch-002.weights.h5").exists()
    _, run, _ = train(tmp_path, 0, 1, fingerprint="other params")  # starts over
    assert len(run.history["loss"]) == 1
    run.finish()
    assert [p.name for p in tmp_path.iterdir()] == [STATE]
    train(tmp_path, 0, 1, fingerprint="other params")  # finished: nothing to resume


def test_the_fingerprint_follows_the_stage_params_and_deps(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: x\n    deps: [code.py, data]\n")
    (tmp_path / "code.py").write_text("a")
    (tmp_path / "data" / "sub").mkdir(parents=True)
    (tmp_path / "data" / "sub" / "v.npz").write_bytes(b"crops")
    (tmp_path / "elsewhere.txt").write_text("x")
    first = stage_fingerprint("train", dict(lr=0.1))
    assert stage_fingerprint("train", dict(lr=0.1)) == first
    (tmp_path / "elsewhere.txt").write_text("y")  # not a dep
    assert stage_fingerprint("train", dict(lr=0.1)) == first
    assert stage_fingerprint("train", dict(lr=0.2)) != first
    (tmp_path / "data" / "sub" / "v.npz").write_bytes(b"other crops")
    assert stage_fingerprint("train", dict(lr=0.1)) != first
