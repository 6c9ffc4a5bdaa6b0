"""Calibration, the threshold, the verdict and the model card's scope."""
import json

import numpy as np
import pytest
from scipy.special import expit

from deepfake_dvc.calibration import (
    UNCALIBRATED,
    Decision,
    calibrate,
    equal_error_point,
    expected_calibration_error,
    fit_temperature,
    load_card,
    scope,
    video_probability,
    write_card,
)
from deepfake_dvc.errors import ConfigError


def overconfident(temperature, n=4000, seed=0):
    """Labels drawn from true logits z, and the scores of a model that outputs sigmoid(z * T)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, n)
    y = (rng.random(n) < expit(z)).astype(int)
    return y, expit(z * temperature)


def test_temperature_fitting_recovers_a_known_temperature_and_lowers_ece():
    y, p = overconfident(3.0)
    temperature = fit_temperature(y, p)
    assert temperature == pytest.approx(3.0, rel=0.1)
    assert expected_calibration_error(y, calibrate(p, temperature)) < \
        expected_calibration_error(y, p) / 3


def test_a_perfectly_separated_validation_set_does_not_make_every_answer_certain():
    y = np.r_[np.ones(24), np.zeros(24)].astype(int)
    p = np.r_[np.linspace(0.55, 0.7, 24), np.linspace(0.3, 0.45, 24)]  # separable, unsure
    temperature = fit_temperature(y, p)
    assert 0.1 < temperature < 1  # sharpened, but not to the bound (0.05)
    assert 0.9 < calibrate(p, temperature)[y == 1].mean() < 25 / 26  # about its target


def test_calibration_keeps_the_order_and_the_middle():
    p = np.array([0.01, 0.3, 0.5, 0.8, 0.999])
    out = calibrate(p, 2.0)
    assert np.all(np.diff(out) > 0) and out[2] == pytest.approx(0.5)
    assert np.allclose(calibrate(p, 1.0), p)


def test_auto_threshold_is_where_false_positives_and_negatives_balance():
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    p = [0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9]
    rate, threshold = equal_error_point(y, p)
    assert threshold == 0.6 and rate == 0.25  # at 0.6: one real of four above, one fake below
    predicted = np.array(p) >= threshold
    assert predicted[:4].sum() == 1 and (~predicted[4:]).sum() == 1


def test_ece_of_a_perfectly_calibrated_bin_is_zero_and_of_a_wrong_one_its_gap():
    assert expected_calibration_error([0, 1, 0, 1], [0.5] * 4) == 0
    assert expected_calibration_error([0, 0, 0, 0], [0.9] * 4) == pytest.approx(0.9)


@pytest.mark.parametrize("p,faces,verdict", [
    (0.9, 8, "FAKE"), (0.1, 8, "REAL"), (0.6, 8, "UNCERTAIN"), (0.36, 8, "UNCERTAIN"),
    (0.9, 2, "UNCERTAIN"), (None, 0, "UNKNOWN"), (0.65, 8, "FAKE")])
def test_verdicts(p, faces, verdict):
    decision = Decision(temperature=1.0, threshold=0.5, threshold_rule="t", uncertain_margin=0.15,
                        min_faces=3, video_score="mean")
    assert decision.verdict(p, faces) == verdict


def test_video_probability_is_the_mean_of_frame_probabilities():
    assert video_probability([0.2, 0.4, 0.9]) == pytest.approx(0.5)


def test_max_track_scores_one_fake_person_among_real_ones_higher_than_the_mean():
    p = [0.1, 0.9, 0.2, 0.8, 0.1, 0.85]  # person 0 real, person 1 swapped
    tracks = [0, 1, 0, 1, 0, 1]
    mean = video_probability(p, tracks, "mean")
    worst = video_probability(p, tracks, "max_track")
    assert mean == pytest.approx(0.491667, abs=1e-6) and worst == pytest.approx(0.85)
    decision = Decision(1.0, 0.5, "t", 0.15, 3, "max_track")
    assert decision.verdict(decision.video_probability(p, tracks), 6) == "FAKE"
    assert decision.verdict(mean, 6) == "UNCERTAIN"


def training(demo=False, real=200, fake=200, synthesized=0):
    per_class = dict(real=real, fake=fake)
    return dict(data=dict(data_dir="data/demo" if demo else "/videos", demo=demo,
                          videos=dict(train=per_class, val=per_class, test=per_class),
                          synthesized_fakes=dict(train=synthesized, val=0, test=0)))


@pytest.mark.parametrize("record,words", [
    (training(demo=True, real=6, fake=6),
     ["This model, trained on", "built-in demo set (synthetic clips of one face photo), is "
                                "the demo model and has seen fewer"]),
    (training(synthesized=200), ["only self-blended fakes"]),
    (training(real=40), ["fewer than 100 videos of a class"]),
])
def test_a_limited_model_says_its_verdicts_are_not_evidence(record, words):
    found = scope(record)
    assert found["warning"].endswith("its verdicts on other footage are not evidence.")
    assert all(w in found["warning"] for w in words)
    assert found["demo"] == record["data"]["demo"]


def test_a_model_of_real_fakes_and_enough_videos_has_no_warning():
    found = scope(training())
    assert found == dict(demo=False, warning=None,
                         trained_on="200 real and 200 fake training videos from '/videos'")


def model_files(folder, model=b"model weights", preprocessing=b"{}"):
    """A model file and its preprocessing.json in folder: {role: path}, as load_card takes
    them by name."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.keras").write_bytes(model)
    (folder / "preprocessing.json").write_bytes(preprocessing)
    return {"model": folder / "model.keras", "preprocessing": folder / "preprocessing.json"}


def card_for(files, record=None, decision=UNCALIBRATED):
    """The card evaluate writes for files (and training.json beside them, as train does)."""
    record = record or training()
    folder = files["model"].parent
    (folder / "training.json").write_text(json.dumps(record))
    write_card(folder / "card.json", **files, training=record, decision=decision,
               calibration={}, test={})
    return folder / "card.json"


def edited(card, change):
    """The card after change(card dict), written back as a person editing it would."""
    content = json.loads(card.read_text())
    change(content)
    card.write_text(json.dumps(content, indent=2))
    return card


def test_a_card_reads_back_with_the_scope_its_training_record_gives(tmp_path):
    files = model_files(tmp_path)
    decision, found = load_card(card_for(files, training(demo=True, real=6, fake=6)), **files)
    assert decision == UNCALIBRATED
    assert found["demo"] is True and "not evidence" in found["warning"]


@pytest.mark.parametrize("change", [
    lambda c: c["scope"].update(demo=False, warning=None),  # the example
    lambda c: c["data"].update(demo=False),
    lambda c: c["decision"].update(temperature=3.0),
    lambda c: c.pop("digest"),
])
def test_a_card_edited_by_hand_is_refused(tmp_path, change):
    files = model_files(tmp_path)
    card = edited(card_for(files, training(demo=True, real=6, fake=6)), change)
    with pytest.raises(ConfigError, match=r"card.json' was changed after evaluate wrote it"):
        load_card(card, **files)


@pytest.mark.parametrize("role", ["model", "preprocessing"])
def test_a_card_of_another_model_is_refused_naming_both_files(tmp_path, role):
    card = card_for(model_files(tmp_path / "other"))
    files = model_files(tmp_path / "this", model=b"other weights", preprocessing=b'{"a": 1}')
    if role == "preprocessing":
        files["model"] = tmp_path / "other" / "model.keras"
    with pytest.raises(ConfigError, match=rf"'{card}' is not the card of '{files[role]}'"):
        load_card(card, **files)


def test_a_training_record_that_disagrees_with_the_card_is_refused(tmp_path):
    files = model_files(tmp_path)
    card = card_for(files, training(demo=True, real=6, fake=6))
    (tmp_path / "training.json").write_text(json.dumps(training()))  # "not the demo" now
    with pytest.raises(ConfigError, match="disagree on what the model was trained on"):
        load_card(card, **files)


def test_impossible_values_and_unreadable_cards_are_named(tmp_path):
    files = model_files(tmp_path)
    card = edited(card_for(files), lambda c: c["decision"].update(temperature=-1))
    with pytest.raises(ConfigError, match=r"card.json decision: field 'temperature' is -1"):
        load_card(card, **files)
    card = edited(card_for(files), lambda c: c["scope"].update(demo="maybe"))
    with pytest.raises(ConfigError, match="field 'demo' is 'maybe'"):
        load_card(card, **files)
    card.write_text("{")
    with pytest.raises(ConfigError, match="not a readable JSON model card"):
        load_card(card, **files)
