"""A trained model's verdicts: the model, its preprocessing and its card, loaded once for many
videos; each video's faces found and scored exactly as in training."""
import copy
import dataclasses
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from deepfake_dvc.calibration import UNCALIBRATED, calibrate, load_card, scope_mark, track_means
from deepfake_dvc.crops import VideoCropper
from deepfake_dvc.errors import SkipInput
from deepfake_dvc.log import log
from deepfake_dvc.params import Preprocessing
from deepfake_dvc.paths import model_files

NO_CARD_WARNING = ("This model has no card ({card}): what it was trained on is unknown and its "
                   "probabilities are not calibrated, so its verdicts are not evidence.")
LOADING = "loading model {model} (TensorFlow; can take half a minute on a CPU) ..."


def model_scope(card_path, decision, found):
    """What every verdict of this model carries: its card's scope and decision rule."""
    scope = found or dict(demo=None, trained_on=None,
                          warning=NO_CARD_WARNING.format(card=card_path))
    return dict(card=str(card_path) if found else None, **scope, mark=scope_mark(found),
                temperature=decision.temperature, threshold=decision.threshold,
                threshold_rule=decision.threshold_rule)


@dataclasses.dataclass
class Sampled:
    """What a verdict was drawn from: the sampled frames' indices, the frames (BGR) and the
    faces found in them (crops, frame_indices, tracks, boxes)."""
    indices: np.ndarray
    frames: list
    faces: dict


@dataclasses.dataclass
class Result:
    """One video's verdict: REAL, FAKE, UNCERTAIN, UNKNOWN (no face) or ERROR (unread, see
    error), the calibrated and raw P(fake), per-face scores, where the time went (seconds),
    and model: what the model is worth (its card's scope and decision rule). as_dict() is the
    record --json prints; sampled, the frames and faces, stays out of it."""
    OPTIONAL = ("reason", "error", "gradcam", "pictures")  # in as_dict() only when set

    video: str
    model: dict
    verdict: str = "ERROR"
    p_fake: float | None = None
    p_fake_raw: float | None = None
    frames_sampled: int = 0
    faces_found: int = 0
    seconds: float = 0.0
    frame_indices: list = dataclasses.field(default_factory=list)
    frame_tracks: list = dataclasses.field(default_factory=list)
    frame_p_fake: list = dataclasses.field(default_factory=list)
    tracks: list = dataclasses.field(default_factory=list)
    timing: dict = dataclasses.field(default_factory=dict)
    reason: str | None = None
    error: str | None = None
    gradcam: dict | None = None
    pictures: list | None = None
    sampled: Sampled | None = dataclasses.field(default=None, repr=False, compare=False)

    def as_dict(self):
        """The JSON record: every field but sampled; reason, error, gradcam and pictures only
        when there is one."""
        record = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        del record["sampled"]
        return {k: v for k, v in record.items() if v is not None or k not in self.OPTIONAL}


class Checker:
    """The model, its preprocessing and its card, loaded once for many videos. Threads may
    share the model (a server's workers): one at a time calls it, under model_lock."""

    def __init__(self, model_path, threshold=None):
        model_path, preprocessing, card = model_files(model_path)
        self.prep = Preprocessing.load(preprocessing)  # validated before the slow model load
        self.decision, found = load_card(card, model_path, preprocessing) if card.is_file() \
            else (UNCALIBRATED, None)
        if threshold is not None:
            self.decision = dataclasses.replace(self.decision, threshold=threshold,
                                                threshold_rule="--threshold")
        self.scope = model_scope(card, self.decision, found)
        if self.scope["warning"]:
            log.warning(self.scope["warning"])
        log.debug(f"model {model_path}: {self.decision}, {self.prep}")
        log.info(LOADING.format(model=model_path))  # importing TensorFlow is part of the wait
        from deepfake_dvc.model import load_classifier
        self.model = load_classifier(model_path)
        self.model_lock = threading.Lock()
        self.crops = VideoCropper(dataclasses.asdict(self.prep))

    def sharing_model(self):
        """A copy of this checker for another thread: the same model, card and model_lock,
        and face detectors of its own (theirs are not made to be shared)."""
        twin = copy.copy(self)
        twin.crops = VideoCropper(dataclasses.asdict(self.prep))
        return twin

    def check_bytes(self, data, name="upload.mp4"):
        """check() for a video given as its bytes (an upload): decoded from a temporary
        file named like name (its extension tells the container), reported as name."""
        with tempfile.TemporaryDirectory(prefix="deepfake-check-") as folder:
            path = Path(folder) / Path(name).name
            path.write_bytes(bytes(data))
            return dataclasses.replace(self.check(path), video=name)

    def check(self, path, step=None):
        """The Result for one video, with per-face scores, the sampled frames and where the
        time went (seconds: decode, faces and model; write_pictures adds its own). step, if
        given, is called with the name of each step as it begins ("decoding", "finding
        faces", "scoring")."""
        from deepfake_dvc.model import fake_probabilities
        step = step or (lambda name: None)
        clock = [time.perf_counter()]
        result = Result(video=str(path), model=self.scope)
        step("decoding")
        try:
            indices, frames, _ = self.crops.frames(path)
        except (SkipInput, cv2.error, OSError) as e:
            result.error, result.seconds = str(e), round(time.perf_counter() - clock[0], 3)
            return result
        clock.append(time.perf_counter())
        step("finding faces")
        faces = self.crops.faces(indices, frames)
        faces["crops"] = self.crops.stored(faces["crops"])
        clock.append(time.perf_counter())
        step("scoring")
        with self.model_lock:
            p_raw = fake_probabilities(self.model, faces["crops"])
        clock.append(time.perf_counter())
        p_frames = calibrate(p_raw, self.decision.temperature)
        tracks = faces["tracks"]
        result = dataclasses.replace(
            result, frames_sampled=len(frames), faces_found=len(p_raw),
            frame_indices=faces["frame_indices"].tolist(), frame_tracks=tracks.tolist(),
            frame_p_fake=[round(float(p), 6) for p in p_frames],
            tracks=[dict(track=t, faces=int(np.sum(tracks == t)), p_fake=round(p, 6))
                    for t, p in track_means(p_frames, tracks).items()],
            seconds=round(clock[-1] - clock[0], 3),
            timing=dict(zip(("decode", "faces", "model"), np.round(np.diff(clock), 3).tolist())),
            sampled=Sampled(indices, frames, faces))
        if len(p_raw):
            result.p_fake = round(self.decision.video_probability(p_frames, tracks), 6)
            result.p_fake_raw = round(self.decision.video_probability(p_raw, tracks), 6)
        result.verdict = self.decision.verdict(result.p_fake, len(p_raw))
        if result.verdict == "UNKNOWN":
            result.reason = f"no face found in {len(frames)} sampled frames"
        elif len(p_raw) < self.decision.min_faces:
            result.reason = (f"only {len(p_raw)} face(s) found; the card asks for "
                             f"{self.decision.min_faces}")
        return result

    def explain(self, crop):
        """Grad-CAM heatmap of one face crop, and the layer it was taken at."""
        from deepfake_dvc.model import grad_cam
        with self.model_lock:
            return grad_cam(self.model, crop)
