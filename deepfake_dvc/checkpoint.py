"""Training that survives an interruption: a checkpoint every epoch, resumed when nothing changed.

The checkpoint folder (paths.CHECKPOINT, `persist: true` in dvc.yaml, so DVC
keeps it between runs) holds the last complete epoch's weights with the
optimizer's state, the best epoch's weights (keep_epoch: best), and
state.json, written last (atomically), which names them: a file it does not
name is an unfinished write, removed when training goes on. A run whose
parameters, code and data hash to the same fingerprint goes on from there;
any other starts at epoch 1. A finished run leaves state.json alone, so the
folder stays small.

A checkpoint is either usable or ignored, never fatal: any damage (state.json
unreadable or wrongly shaped, a file it names missing or corrupt, weights of
another architecture) is one warning, the checkpoint is removed and training
starts at epoch 1 with the model as a fresh start has it. Only train's own
files (OWN_NAME) are ever removed; anything else in the folder is left alone.
"""
import hashlib
import json
import os
import re
from contextlib import contextmanager
from itertools import count
from pathlib import Path

import keras
import numpy as np
import yaml

from deepfake_dvc.files import file_digest, read_json, write_json
from deepfake_dvc.log import clipped, log

STATE = "state.json"
OWN_NAME = re.compile(r"state\.json|epoch-\d{3,}\.weights\.h5|best-\d{3,}\.npz"
                      r"|\..+\.tmp(\.[^.]+)?")  # the last: files.atomic_path's temporaries
FOREIGN_SHOWN = 3  # foreign entries the warning names


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


def weights_file(epoch):
    """The name of an epoch's model and optimizer weights."""
    return f"epoch-{epoch:03d}.weights.h5"


def best_file(epoch):
    """The name of the best epoch's weights (keep_epoch: best)."""
    return f"best-{epoch:03d}.npz"


def has_own_name(path):
    """Whether path bears one of the names train gives its files."""
    return OWN_NAME.fullmatch(path.name) is not None


class Unusable(Exception):
    """A checkpoint that cannot be resumed from; `name` is the file at fault."""

    def __init__(self, name, reason):
        super().__init__(reason)
        self.name = name


def require(condition, reason):
    """Raise Unusable, blaming state.json for reason, unless condition holds."""
    if not condition:
        raise Unusable(STATE, reason)


@contextmanager
def at_fault(name, what):
    """Any error inside makes the checkpoint unusable: the file name, what it is, and the error."""
    try:
        yield
    except Exception as e:
        raise Unusable(name, f"{what} ({one_line(e)})") from e


def one_line(error):
    """An exception as a short line of text (Keras's load errors print whole variables)."""
    return clipped(" ".join(f"{type(error).__name__}: {error}".split()), 160)


def is_int(value):
    """Whether a JSON value is a whole number (not a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value):
    """Whether a JSON value is a number (not a boolean)."""
    return is_int(value) or isinstance(value, float)


def check_state(state, folder, n_seeds):
    """Raise Unusable unless an unfinished run's state names a checkpoint to resume from:
    its fields of the right types and lengths, the files it names in folder."""
    done = state.get("epochs_done")
    require(is_int(done) and done > 0, f"epochs_done is {done!r}, not a positive whole number")
    require(state.get("model") == weights_file(done),
            f"model is {state.get('model')!r}, not {weights_file(done)}")
    history = state.get("history")
    require(isinstance(history, dict) and {"loss", "accuracy"} <= history.keys(),
            "history is not an object with loss and accuracy")
    for metric, values in history.items():
        require(isinstance(values, list) and len(values) == done and all(map(is_number, values)),
                f"history's {metric} is not {done} numbers")
    seeds = state.get("seed_states")
    require(isinstance(seeds, list) and len(seeds) == n_seeds,
            f"seed_states is not a list of {n_seeds} (this model's dropout states)")
    if "best" in state:
        check_best(state["best"], done)
    for name in sorted(named_files(state) - {STATE, None}):
        if not (folder / name).is_file():
            raise Unusable(name, "missing")


def check_best(best, done):
    """Raise Unusable unless best names an epoch of the done ones, its loss and weights file."""
    require(isinstance(best, dict), "best is not an object")
    epoch = best.get("epoch")
    require(is_int(epoch) and 1 <= epoch <= done, f"best epoch is {epoch!r}, not one of 1..{done}")
    require(is_number(best.get("loss")), f"best loss is {best.get('loss')!r}, not a number")
    require(best.get("weights") == best_file(epoch),
            f"best weights is {best.get('weights')!r}, not {best_file(epoch)}")


def free_name(path, suffix):
    """path with suffix added, and a number after it if needed, that nothing bears yet."""
    names = (f"{path.name}{suffix}" + (f"-{n}" if n > 1 else "") for n in count(1))
    return next(path.with_name(name) for name in names if not os.path.lexists(path.with_name(name)))


def set_aside(path, why):
    """Rename path, which would block train's writes (why), to a free name, with a warning."""
    aside = free_name(path, ".not-a-checkpoint")
    path.rename(aside)
    log.warning(f"{path}: {why}; renamed {aside.name} and left alone")


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
        best epoch, are restored. A damaged checkpoint is warned of and removed,
        and everything left as a fresh start has it.
        """
        self.tidy()
        try:
            state = self.resumable_state()
        except Unusable as problem:
            return self.start_afresh(problem)
        if state is None:
            self.clear()
            return 0
        self.clear(keep=named_files(state))  # a write the interruption cut short
        fresh = self.snapshot()
        try:
            self.load(state)
        except Unusable as problem:
            return self.start_afresh(problem, fresh)
        return state["epochs_done"]

    def tidy(self):
        """Make the folder, set aside what would block train's writes, and warn once of
        entries that are not train's (left alone)."""
        if self.folder.exists() and not self.folder.is_dir():
            set_aside(self.folder, "not a folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        foreign = []
        for path in sorted(self.folder.iterdir()):
            if not has_own_name(path):
                foreign.append(path.name + "/" * path.is_dir())
            elif not path.is_file():
                kind = "a folder" if path.is_dir() else "not a regular file"
                set_aside(path, f"{kind}, not a checkpoint file")
        if foreign:
            more = f" and {len(foreign) - FOREIGN_SHOWN} more" * (len(foreign) > FOREIGN_SHOWN)
            log.warning(f"{self.folder}: ignoring what train did not write "
                        f"({', '.join(foreign[:FOREIGN_SHOWN])}{more}); left alone")

    def resumable_state(self):
        """The checked state of an unfinished run of this fingerprint, or None (no state,
        another run's, a finished one); Unusable if it is damaged."""
        state = self.read_state()
        if state is None:
            return None
        require(isinstance(state, dict), f"a JSON {type(state).__name__}, not an object")
        require(isinstance(state.get("fingerprint"), str), "no fingerprint string")
        if state["fingerprint"] != self.fingerprint or state.get("finished"):
            return None
        check_state(state, self.folder, len(seed_states(self.model)))
        return state

    def snapshot(self):
        """Every variable a load may change, with its value: the model's (its weights and
        dropout's seed states) and its optimizer's."""
        return [(v, v.numpy()) for v in [*self.model.variables, *self.model.optimizer.variables]]

    def load(self, state):
        """Put a checked state's weights, optimizer and dropout states, best epoch and history
        in place; Unusable if a file does not fit this model."""
        with at_fault(state["model"], "does not load into this model"):
            self.model.load_weights(self.folder / state["model"])
        with at_fault(STATE, "seed_states do not fit this model"):
            for variable, value in zip(seed_states(self.model), state["seed_states"]):
                variable.assign(np.asarray(value, variable.dtype))
        if self.keeper is not None and "best" in state:
            self.keeper.weights = self.read_best(state["best"]["weights"])
            self.keeper.best, self.keeper.epoch = state["best"]["loss"], state["best"]["epoch"]
        self.history = state["history"]

    def read_best(self, name):
        """The best epoch's weights saved in name, if they are this model's in number and shapes."""
        with at_fault(name, "unreadable"), np.load(self.folder / name) as saved:
            weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        shapes = [tuple(v.shape) for v in self.model.weights]
        if [w.shape for w in weights] != shapes:
            raise Unusable(name, f"its arrays ({len(weights)}) are not this model's weights "
                                 f"({len(shapes)}) in number and shapes")
        return weights

    def start_afresh(self, problem, fresh=()):
        """Warn of an unusable checkpoint, remove it, and put back a fresh start's state:
        the variables' fresh values, an empty keeper and history."""
        for variable, value in fresh:
            variable.assign(value)
        if self.keeper is not None:
            self.keeper.best, self.keeper.epoch, self.keeper.weights = np.inf, None, None
        self.history = {}
        self.clear()
        log.warning(f"{self.folder / problem.name}: {problem}; checkpoint ignored and removed, "
                    f"training starts at epoch 1")
        return 0

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        model_file = weights_file(done)  # with the optimizer's state
        self.model.save_weights(self.folder / model_file)  # complete once state.json names it
        state = dict(fingerprint=self.fingerprint, epochs_done=done, model=model_file,
                     history=self.history,
                     seed_states=[v.numpy().tolist() for v in seed_states(self.model)])
        if self.keeper is not None and self.keeper.epoch is not None:
            best_name = best_file(self.keeper.epoch)
            if self.keeper.epoch == done:
                np.savez(self.folder / best_name, *self.keeper.weights)
            state["best"] = dict(epoch=self.keeper.epoch, loss=float(self.keeper.best),
                                 weights=best_name)
        write_json(self.folder / STATE, state)  # the commit point: it names complete files
        self.clear(keep=named_files(state))

    def finish(self):
        """Training ended and its outputs are written: keep only a small state.json."""
        write_json(self.folder / STATE, dict(fingerprint=self.fingerprint, finished=True,
                                             epochs_done=len(self.history.get("loss", []))))
        self.clear(keep={STATE})

    def read_state(self):
        """The data of state.json, None if there is none; Unusable if it cannot be read."""
        path = self.folder / STATE
        if not path.is_file():
            return None
        try:
            return read_json(path)
        except json.JSONDecodeError as e:
            raise Unusable(STATE, f"not valid JSON ({e})") from e
        except (OSError, UnicodeDecodeError) as e:
            raise Unusable(STATE, f"unreadable ({one_line(e)})") from e

    def clear(self, keep=()):
        """Remove train's own files but those named in keep; nothing else is touched."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in self.folder.iterdir():
            if path.name not in keep and has_own_name(path) and path.is_file():
                path.unlink()
