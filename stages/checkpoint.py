"""Training that survives an interruption: a checkpoint every epoch, resumed when nothing changed.

The checkpoint folder (common.CHECKPOINT, `persist: true` in dvc.yaml, so DVC
keeps it between runs) holds the last complete epoch's weights with the
optimizer's state, the best epoch's weights (keep_epoch: best), and
state.json, written last (atomically), which names them: a file it does not
name is an unfinished write, removed when training goes on. A run whose
parameters, code and data hash to the same fingerprint goes on from there;
any other starts at epoch 1. A finished run leaves state.json alone, so the
folder stays small.
"""
import hashlib
import json
from pathlib import Path

import keras
import numpy as np
import yaml

from stages.common import read_json, write_json

STATE = "state.json"


def file_digest(path):
    """The MD5 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def stage_fingerprint(stage, params, dvc_yaml="dvc.yaml"):
    """A hash of the stage's parameter values and of every file of its deps in dvc.yaml:
    what DVC decides a re-run by."""
    digest = hashlib.md5(json.dumps(params, sort_keys=True, default=str).encode())
    for dep in sorted(yaml.safe_load(Path(dvc_yaml).read_text())["stages"][stage]["deps"]):
        files = sorted(p for p in Path(dep).rglob("*") if p.is_file()) if Path(dep).is_dir() \
            else [Path(dep)]
        for path in files:
            digest.update(f"{path.as_posix()}\0{file_digest(path)}\0".encode())
    return digest.hexdigest()


def seed_states(model):
    """The random-number states of the model's layers (dropout's), which Keras does not save."""
    return [v for v in model.non_trainable_variables if "seed_generator_state" in v.path]


def named_files(state):
    """The files a state.json names (itself included)."""
    return {STATE, state["model"], state.get("best", {}).get("weights")}


class Checkpoint(keras.callbacks.Callback):
    """Save the model, its optimizer and the training history after every epoch;
    resume() loads them back when the fingerprint matches."""

    def __init__(self, folder, fingerprint, keeper=None):
        super().__init__()
        self.folder, self.fingerprint, self.keeper = Path(folder), fingerprint, keeper
        self.history = {}

    def resume(self):
        """The number of epochs already done (0: a fresh start) and their history.

        Call with the model compiled and its optimizer built; the model's
        weights, optimizer state and dropout's random state, and the keeper's
        best epoch, are restored.
        """
        state = self.read_state()
        if not state or state.get("fingerprint") != self.fingerprint or state.get("finished"):
            self.clear()
            return 0
        self.clear(keep=named_files(state))  # a write the interruption cut short
        self.model.load_weights(self.folder / state["model"])
        for variable, value in zip(seed_states(self.model), state["seed_states"]):
            variable.assign(np.asarray(value, variable.dtype))
        if self.keeper is not None and state.get("best"):
            with np.load(self.folder / state["best"]["weights"]) as saved:
                self.keeper.weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
            self.keeper.best, self.keeper.epoch = state["best"]["loss"], state["best"]["epoch"]
        self.history = state["history"]
        return state["epochs_done"]

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        model_file = f"epoch-{done:03d}.weights.h5"  # with the optimizer's state
        self.model.save_weights(self.folder / model_file)  # complete once state.json names it
        state = dict(fingerprint=self.fingerprint, epochs_done=done, model=model_file,
                     history=self.history,
                     seed_states=[v.numpy().tolist() for v in seed_states(self.model)])
        if self.keeper is not None and self.keeper.epoch is not None:
            best_file = f"best-{self.keeper.epoch:03d}.npz"
            if self.keeper.epoch == done:
                np.savez(self.folder / best_file, *self.keeper.weights)
            state["best"] = dict(epoch=self.keeper.epoch, loss=float(self.keeper.best),
                                 weights=best_file)
        write_json(self.folder / STATE, state)  # the commit point: it names complete files
        self.clear(keep=named_files(state))

    def finish(self):
        """Training ended and its outputs are written: keep only a small state.json."""
        write_json(self.folder / STATE, dict(fingerprint=self.fingerprint, finished=True,
                                             epochs_done=len(self.history.get("loss", []))))
        self.clear(keep={STATE})

    def read_state(self):
        path = self.folder / STATE
        return read_json(path) if path.is_file() else None

    def clear(self, keep=()):
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in self.folder.iterdir():
            if path.name not in keep:
                path.unlink()
