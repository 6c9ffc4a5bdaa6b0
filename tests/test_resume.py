"""Training that resumes: a checkpoint per epoch, taken up again only when nothing changed;
a damaged one is ignored with a warning."""
import json
import logging
import shutil

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from deepfake_dvc.checkpoint import STATE, Checkpoint, stage_fingerprint  # noqa: E402
from deepfake_dvc.training import KeepBestEpoch, learning_rate  # noqa: E402

X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int32)
VAL = (X[:16] + 0.5, Y[:16])


def tiny_model(hidden=8, classes=2):
    """A small classifier with the train stage's optimizer, schedule and dropout."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hidden, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(classes, "softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(0.05, 0.1)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
    return model


def train(folder, initial_epoch, epochs, fingerprint="same", build=tiny_model, keep_best=True):
    """A new 'process': a fresh seeded model that resumes from folder, then trains to epochs."""
    keras.utils.set_random_seed(0)
    model, keeper = build(), KeepBestEpoch() if keep_best else None
    checkpoint = Checkpoint(folder, fingerprint, keeper)
    checkpoint.set_model(model)
    assert checkpoint.resume() == initial_epoch
    model.fit(X, Y, validation_data=VAL, batch_size=16, shuffle=False, verbose=0,
              initial_epoch=initial_epoch, epochs=epochs,
              callbacks=[*([keeper] if keeper else []), checkpoint])
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


def test_a_run_that_keeps_its_last_epoch_resumes_too(tmp_path, warned):
    train(tmp_path, 0, 2, keep_best=False)
    assert "best" not in json.loads((tmp_path / STATE).read_text())
    _, run, _ = train(tmp_path, 2, 3, keep_best=False)
    assert len(run.history["loss"]) == 3 and not warned


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


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A run of 3 epochs with no checkpoint to start from, and the files it leaves."""
    folder = tmp_path_factory.mktemp("clean")
    return train(folder, 0, 3), sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def cut_short(tmp_path_factory):
    """The checkpoint of a run interrupted after epoch 2."""
    folder = tmp_path_factory.mktemp("cut")
    train(folder, 0, 2)
    return folder


@pytest.fixture
def checkpoint(cut_short, tmp_path):
    """A copy of the interrupted run's checkpoint, to damage."""
    return shutil.copytree(cut_short, tmp_path / "checkpoint")


@pytest.fixture
def warned():
    """The warnings the stages log (their logger does not propagate to pytest's caplog)."""
    messages, handler = [], logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logging.getLogger("deepfake_dvc").addHandler(handler)
    yield messages
    logging.getLogger("deepfake_dvc").removeHandler(handler)


def assert_same_run(result, clean):
    """The same history, best epoch, optimizer steps and weights as the clean run's."""
    (model, run, keeper), (clean_model, clean_run, clean_keeper) = result, clean[0]
    assert run.history == clean_run.history
    assert keeper.epoch == clean_keeper.epoch
    assert int(model.optimizer.iterations) == int(clean_model.optimizer.iterations)
    for a, b in zip(model.get_weights(), clean_model.get_weights()):
        assert np.array_equal(a, b)


def edited(change):
    """A damage: state.json rewritten after change(state)."""
    def damage(folder):
        state = json.loads((folder / STATE).read_text())
        change(state)
        (folder / STATE).write_text(json.dumps(state))
    return damage


def best_weights(folder):
    """The best epoch's weights file that state.json names."""
    return folder / json.loads((folder / STATE).read_text())["best"]["weights"]


def truncate(path):
    """Keep the first half of a file's bytes, as a write cut short would."""
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


WEIGHTS = "epoch-002.weights.h5"
DAMAGES = {  # what is done to the checkpoint, and the start of the warning it gives
    "truncated state.json": (lambda f: truncate(f / STATE), "state.json: not valid JSON ("),
    "state.json not text": (lambda f: (f / STATE).write_bytes(b"\xff\xfe{"),
                            "state.json: unreadable (UnicodeDecodeError"),
    "state.json a list": (lambda f: (f / STATE).write_text("[1, 2]"),
                          "state.json: a JSON list, not an object"),
    "no fingerprint": (edited(lambda s: s.pop("fingerprint")), "state.json: no fingerprint"),
    "no history": (edited(lambda s: s.pop("history")), "state.json: history is not an object"),
    "a history too short": (edited(lambda s: s["history"]["loss"].pop()),
                            "state.json: history's loss is not 2 numbers"),
    "a history of words": (edited(lambda s: s["history"].update(accuracy=["good", "better"])),
                           "state.json: history's accuracy is not 2 numbers"),
    "epochs_done a string": (edited(lambda s: s.update(epochs_done="2")),
                             "state.json: epochs_done is '2', not a positive whole number"),
    "epochs_done not the model's": (edited(lambda s: s.update(epochs_done=3)),
                                    f"state.json: model is '{WEIGHTS}', not epoch-003"),
    "seed_states too many": (edited(lambda s: s["seed_states"].append([0, 0])),
                             "state.json: seed_states is not a list of 1"),
    "seed_states of other shapes": (edited(lambda s: s.update(seed_states=[[1, 2, 3]])),
                                    "state.json: seed_states do not fit this model (ValueError"),
    "best epoch not done": (edited(lambda s: s["best"].update(epoch=3)),
                            "state.json: best epoch is 3, not one of 1..2"),
    "weights missing": (lambda f: (f / WEIGHTS).unlink(), f"{WEIGHTS}: missing"),
    "weights truncated": (lambda f: truncate(f / WEIGHTS),
                          f"{WEIGHTS}: does not load into this model (OSError"),
    "weights garbage": (lambda f: (f / WEIGHTS).write_bytes(b"garbage"),
                        f"{WEIGHTS}: does not load into this model (OSError"),
    "best missing": (lambda f: best_weights(f).unlink(), ": missing"),
    "best garbage": (lambda f: best_weights(f).write_bytes(b"garbage"), ": unreadable ("),
    "best of other arrays": (lambda f: np.savez(best_weights(f), np.zeros(3)),
                             ": its arrays (1) are not this model's weights (4)"),
}


@pytest.mark.parametrize("damage, warning", DAMAGES.values(), ids=DAMAGES)
def test_a_damaged_checkpoint_is_removed_and_training_starts_at_epoch_1(
        checkpoint, clean, warned, damage, warning):
    damage(checkpoint)
    result = train(checkpoint, 0, 3)  # resume() returned 0, nothing raised
    assert len(warned) == 1
    assert warning in warned[0] and warned[0].startswith(str(checkpoint))
    assert warned[0].endswith("; checkpoint ignored and removed, training starts at epoch 1")
    assert_same_run(result, clean)
    assert sorted(p.name for p in checkpoint.iterdir()) == clean[1]


@pytest.mark.parametrize("hidden, classes", [(16, 2), (8, 3)])  # (8, 3): dense_1 loads first
def test_weights_of_another_architecture_leave_the_model_as_a_fresh_start_has_it(
        tmp_path, clean, warned, hidden, classes):
    train(tmp_path, 0, 2, build=lambda: tiny_model(hidden, classes))
    result = train(tmp_path, 0, 3)
    assert len(warned) == 1 and f"{WEIGHTS}: does not load into this model" in warned[0]
    assert_same_run(result, clean)  # no weight nor optimizer slot of the failed load is left


def test_foreign_entries_are_left_alone_and_training_goes_on(checkpoint, clean, warned):
    (checkpoint / "stray").mkdir()  # the example: clear() raised IsADirectoryError
    (checkpoint / "stray" / "notes.txt").write_text("mine")
    (checkpoint / "README").write_text("mine too")
    (checkpoint / ".state.json.tmp.json").write_text("{")  # train's write cut short
    result = train(checkpoint, 2, 3)
    assert warned == [f"{checkpoint}: ignoring what train did not write (README, stray/); "
                      f"left alone"]
    assert_same_run(result, clean)
    result[1].finish()
    assert sorted(p.name for p in checkpoint.iterdir()) == ["README", STATE, "stray"]
    assert (checkpoint / "stray" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("name", [STATE, WEIGHTS])
def test_a_folder_with_a_checkpoint_file_s_name_is_set_aside(checkpoint, clean, warned, name):
    (checkpoint / name).unlink()
    (checkpoint / name).mkdir()
    (checkpoint / name / "inside").write_text("kept")
    (checkpoint / f"{name}.not-a-checkpoint").write_text("taken")  # not train's either
    result = train(checkpoint, 0, 3)
    assert warned == [
        f"{checkpoint / name}: a folder, not a checkpoint file; "
        f"renamed {name}.not-a-checkpoint-2 and left alone",
        f"{checkpoint}: ignoring what train did not write ({name}.not-a-checkpoint); left alone",
        *([] if name == STATE else [f"{checkpoint / WEIGHTS}: missing; checkpoint ignored and "
                                    f"removed, training starts at epoch 1"])]
    assert_same_run(result, clean)
    assert (checkpoint / f"{name}.not-a-checkpoint-2" / "inside").read_text() == "kept"


def test_a_file_where_the_folder_should_be_is_set_aside(tmp_path, clean, warned):
    (tmp_path / "checkpoint").write_text("not a folder")
    assert_same_run(train(tmp_path / "checkpoint", 0, 3), clean)
    assert warned == [f"{tmp_path / 'checkpoint'}: not a folder; "
                      f"renamed checkpoint.not-a-checkpoint and left alone"]
