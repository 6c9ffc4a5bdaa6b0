"""What a score is worth: calibrated probabilities, the threshold, the verdict, the model card.

evaluate fits a temperature (Guo et al. 2017) and, with `threshold: auto`,
a threshold on the validation split, and writes them to models/card.json
with what the model was trained on; check reads the card back, so both turn
scores into verdicts the same way. No TensorFlow here.
"""
import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, logit
from sklearn import metrics as skm

from deepfake_dvc.errors import ConfigError
from deepfake_dvc.files import file_digest, read_json, write_json
from deepfake_dvc.params import RULES, always, between, boolean, number, text, validated
from deepfake_dvc.paths import TRAINING

EPSILON = 1e-7          # probabilities are clipped to [EPSILON, 1 - EPSILON] before a logit
ECE_BINS = 15
MIN_VIDEOS_PER_CLASS = 100  # fewer training videos of a class: check says verdicts are not evidence
THRESHOLD_RULE = "equal error rate on the validation frames"
VERDICTS = ("FAKE", "REAL", "UNCERTAIN", "UNKNOWN")


# ---- calibration -----------------------------------------------------------------

def calibrate(p_fake, temperature):
    """P(fake) after temperature scaling: the logit divided by the temperature."""
    p = np.clip(np.asarray(p_fake, dtype=np.float64), EPSILON, 1 - EPSILON)
    return expit(logit(p) / temperature)


def fit_temperature(y_true, p_fake):
    """The temperature that minimises the log loss (scikit-learn's) of calibrate(p_fake)
    against Platt's targets: (fakes + 1) / (fakes + 2) for a fake, 1 / (reals + 2) for a
    real. On a validation set the model separates perfectly, hard 0/1 targets would drive
    the temperature to its bound and make every answer near-certain; these do not."""
    y_true = np.asarray(y_true)
    if len(y_true) == 0:
        return 1.0
    fakes, reals = int(y_true.sum()), int(len(y_true) - y_true.sum())
    target = np.where(y_true == 1, (fakes + 1) / (fakes + 2), 1 / (reals + 2))
    labels = np.r_[np.ones(len(y_true)), np.zeros(len(y_true))]  # each frame as both labels,
    weights = np.r_[target, 1 - target]  # weighted by its target: a soft-target log loss
    fit = minimize_scalar(
        lambda log_t: skm.log_loss(labels, np.tile(calibrate(p_fake, np.exp(log_t)), 2),
                                   sample_weight=weights),
        bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-6})
    return round(float(np.exp(fit.x)), 6)


def equal_error_point(y_true, p_fake):
    """(error rate, threshold) where the false positive and false negative rates of
    scikit-learn's ROC curve meet."""
    fpr, tpr, thresholds = skm.roc_curve(y_true, p_fake)
    i = int(np.argmin(np.abs((1 - tpr) - fpr)))
    return float((fpr[i] + 1 - tpr[i]) / 2), round(float(min(thresholds[i], 1.0)), 6)


def expected_calibration_error(y_true, p_fake, bins=ECE_BINS):
    """ECE: |fraction fake - mean P(fake)| per equal-width bin, weighted by the bin's share."""
    y, p = np.asarray(y_true, dtype=float), np.asarray(p_fake, dtype=float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    gaps = [abs(y[which == b].mean() - p[which == b].mean()) * np.mean(which == b)
            for b in range(bins) if np.any(which == b)]
    return round(float(np.sum(gaps)), 6)


def calibration_metrics(y_true, p_raw, p_calibrated):
    """ECE and Brier score (scikit-learn's) before and after calibration."""
    return dict(ece_raw=expected_calibration_error(y_true, p_raw),
                ece=expected_calibration_error(y_true, p_calibrated),
                brier_raw=round(float(skm.brier_score_loss(y_true, p_raw, pos_label=1)), 6),
                brier=round(float(skm.brier_score_loss(y_true, p_calibrated, pos_label=1)), 6))


def video_probability(frame_probabilities, tracks=None, rule="mean"):
    """A video's P(fake) from its face crops' and their tracks (one track per person).

    mean: over all crops (the 2020 work's rule). max_track: the highest of
    the tracks' means, so a video with one fake person among real ones is fake.
    """
    if rule == "max_track" and tracks is not None:
        return max(track_means(frame_probabilities, tracks).values())
    return float(np.mean(np.asarray(frame_probabilities, dtype=np.float64)))


def track_means(frame_probabilities, tracks):
    """{track: the mean P(fake) of its crops}, one entry per person."""
    p, tracks = np.asarray(frame_probabilities, dtype=np.float64), np.asarray(tracks)
    return {int(t): float(p[tracks == t].mean()) for t in np.unique(tracks)}


# ---- the decision ------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    """How a video's calibrated P(fake) becomes a verdict."""
    temperature: float
    threshold: float
    threshold_rule: str
    uncertain_margin: float
    min_faces: int
    video_score: str

    def video_probability(self, frame_probabilities, tracks):
        """The video's P(fake) from its crops' by this decision's video_score rule."""
        return video_probability(frame_probabilities, tracks, self.video_score)

    def verdict(self, p_video, faces):
        """FAKE or REAL; UNCERTAIN within uncertain_margin of the threshold or with fewer
        than min_faces faces; UNKNOWN with no face at all."""
        if faces == 0:
            return "UNKNOWN"
        if faces < self.min_faces or abs(p_video - self.threshold) < self.uncertain_margin:
            return "UNCERTAIN"
        return "FAKE" if p_video >= self.threshold else "REAL"


# A model without a card: raw probabilities, the threshold of the command line or 0.5.
UNCALIBRATED = Decision(temperature=1.0, threshold=0.5, uncertain_margin=0.15, min_faces=1,
                        threshold_rule="0.5, the default (the model has no card)",
                        video_score="mean")


# ---- the model card -------------------------------------------------------------------

def scope(training):
    """What the model was trained on, in one sentence, and the warning check gives with it.

    training is train's models/training.json. The warning is None only for a
    model trained on real fakes, at least MIN_VIDEOS_PER_CLASS training videos
    of each class, and not on the demo. A model fine-tuned from another (its
    parent) says what the parent was trained on, and carries the parent's
    warning: it cannot be more evidence than what it was built on.
    """
    data = training["data"]
    train = data["videos"]["train"]
    synthesized = data["synthesized_fakes"]["train"]
    fakes = f"{train['fake']} fake" + (f" ({synthesized} of them self-blended)" if synthesized
                                        else "")
    trained_on = f"{train['real']} real and {fakes} training videos from {data_source(data)}"
    parent = training.get("parent")
    demo = bool(data["demo"]) or any(p["data"]["demo"] for p in ancestors(training))
    limits = []
    if parent:
        replayed = data.get("replay", {}).get("per_epoch", 0)
        trained_on = (f"{trained_on}" + (f" (and {replayed} of its parent's training videos "
                                           f"replayed each epoch)" if replayed else "")
                      + f", fine-tuned from a model trained on {parent['trained_on']}")
    if data["demo"]:
        limits.append("is the demo model")
    elif demo:
        limits.append("was built on the demo model")
    if train["fake"] and synthesized == train["fake"]:
        limits.append("has seen no real deepfake, only self-blended fakes")
    if min(train["real"], train["fake"]) < MIN_VIDEOS_PER_CLASS:
        limits.append(f"has seen fewer than {MIN_VIDEOS_PER_CLASS} new videos of a class"
                      if parent else f"has seen fewer than {MIN_VIDEOS_PER_CLASS} videos of "
                                     f"a class")
    if parent and parent["warning"]:
        limits.append("starts from a model whose own card says its verdicts are not evidence")
    limited = " and ".join([", ".join(limits[:-1]), limits[-1]] if len(limits) > 1 else limits)
    warning = (f"This model, trained on {trained_on}, {limited}, so its verdicts on other "
               f"footage are not evidence.") if limits else None
    return dict(demo=demo, trained_on=trained_on, warning=warning)


def data_source(data):
    """Where the training data came from, as the card says it."""
    if isinstance(data["data_dir"], dict):
        return "sources " + ", ".join(f"'{name}' ({folder})"
                                      for name, folder in data["data_dir"].items())
    return "the built-in demo set (synthetic clips of one face photo)" if data["demo"] \
        else f"'{data['data_dir']}'"


def ancestors(training):
    """The records of a model's parent, its parent's parent, ... (a chain of fine-tunes)."""
    parent = training.get("parent")
    while parent:
        yield parent
        parent = parent.get("parent")


def scope_mark(found):
    """The words every output of a model carries, from the scope load_card found (None: no
    card): 'demo model', 'not evidence', 'no model card', or None for a model without a
    warning."""
    if found is None:
        return "no model card"
    return "demo model" if found["demo"] else "not evidence" if found["warning"] else None


def write_card(path, model, preprocessing, training, decision, calibration, test):
    """models/card.json: train's record, the calibration, the decision, test metrics, the
    scope, the SHA-256 of the model file and preprocessing.json it describes, and a digest
    of all that, so that a card cannot be moved to another model or edited by hand
    unnoticed."""
    card = dict(training, calibration=calibration, decision=asdict(decision), test=test,
                scope=scope(training),
                files={role: file_digest(file) for role, file in
                       described(model, preprocessing).items()})
    write_json(path, dict(card, digest=card_digest(card)))


def described(model, preprocessing):
    """{role: path} of the files a card describes (it records their SHA-256 by role)."""
    return {"model": model, "preprocessing": preprocessing}


def card_digest(card):
    """The SHA-256 of a card's content, its digest left out."""
    content = {key: value for key, value in card.items() if key != "digest"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def optional_text(value):
    """None, or a non-empty string."""
    return value if value is None else text(value)


CARD_RULES = {
    "temperature": between(number, 0.05, 20),
    "threshold": between(number, 0, 1),
    "threshold_rule": (text, always, "describe how the threshold was chosen"),
    "uncertain_margin": RULES["uncertain_margin"],
    "min_faces": RULES["min_faces"],
    "video_score": RULES["video_score"],
    "demo": (boolean, always, "use true or false"),
    "trained_on": (text, always, "describe the training data"),
    "warning": (optional_text, always, "use text or null"),
}


def load_card(path, model, preprocessing):
    """(Decision, scope) from a model card, validated: ConfigError naming the file and field,
    or naming the card and the model or preprocessing file when the card was not written
    for them, or was edited since. The scope (demo, not evidence) is
    derived from the card's training record, which must equal training.json beside it."""
    try:
        card = read_json(path)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ConfigError(f"'{path}' is not a readable JSON model card ({e})") from None
    if not isinstance(card, dict):
        raise ConfigError(f"'{path}': expected a JSON object, found {type(card).__name__}")
    decision = validated(card.get("decision"), [f.name for f in fields(Decision)],
                         f"{path} decision", noun="field", name_source=True, rules=CARD_RULES)
    validated(card.get("scope"), ["demo", "trained_on", "warning"], f"{path} scope",
              noun="field", name_source=True, rules=CARD_RULES)
    if card.get("digest") != card_digest(card):
        raise ConfigError(f"'{path}' was changed after evaluate wrote it (its digest does not "
                          f"match its content): run `dvc repro` to write it again, or remove "
                          f"it (the model is then treated as uncalibrated)")
    recorded = card.get("files") or {}
    for role, file in described(model, preprocessing).items():
        if recorded.get(role) != file_digest(file):
            raise ConfigError(f"'{path}' is not the card of '{file}' (it describes a {role} "
                              f"file of other content): run `dvc repro` to write the card of "
                              f"this model, or remove it")
    return Decision(**decision), derived_scope(path, card)


def derived_scope(path, card):
    """The card's scope, as scope() derives it from its training record; ConfigError when
    training.json beside the card says otherwise."""
    training = Path(path).with_name(TRAINING.name)
    if training.is_file():
        record = read_json(training)
        if {key: card.get(key) for key in record} != record:
            raise ConfigError(f"'{path}' and '{training}' disagree on what the model was "
                              f"trained on: run `dvc repro` to write the card again")
    try:
        return scope(card)
    except (KeyError, TypeError):
        raise ConfigError(f"'{path}' lacks the training record a card holds (data: videos, "
                          f"demo, ...): run `dvc repro` to write it again") from None
